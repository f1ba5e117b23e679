"""What the paper compares against, behind the same ``facebench.method.Method`` interface.

- ``dlib_ert``: dlib's ensemble of regression trees (Kazemi & Sullivan 2014), ``dlib-ert``.
- ``hourglass``: holistic 2-stack hourglass (Newell et al. 2016, ``hg2``) and 4-stack FAN
  (Bulat & Tzimiropoulos 2017, ``fan4``) with FAN's hierarchical, parallel, multi-scale block.
- ``ablations``: the holistic methods ``cpm6`` and ``cnn67`` on the ablation backbones
  (6-stage convolutional pose machine; CNN-6/7 of Feng et al.), whose trunks are in
  ``facebench/nn/`` (ADC's ``adc-cpm`` / ``adc-cnn67`` use them too).
- ``holistic``: the shared train / save / load / predict of the holistic heatmap methods (Gaussian
  targets and argmax decoding: ``facebench.nn.heatmaps``); ``dlib_train``: dlib's trainer in a
  forked child (progress bar, Ctrl-C). The figures of docs/bench/baselines.md come from
  ``python -m facebench.bench.baselines``.

All holistic methods are trained at ``preset.holistic_res`` (256) and evaluated at R by the
runner, which upscales their 256 predictions through ``geometry.rescale_points``.
"""
