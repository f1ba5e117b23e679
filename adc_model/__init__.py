"""The attention-driven cropping network of Chandran et al., "Attention-Driven Cropping for Very
High Resolution Facial Landmark Detection" (CVPR 2020): a global hourglass on a 256 proxy finds
coarse landmarks, four regional hourglasses refine them on RoI crops of the full-resolution image.

Modules: ``ops`` (spatial softmax, soft-argmax, differentiable RoI crop), ``regions`` (region
boxes), ``model`` (``ADCNet``), ``loss`` (eq. 1) and ``method`` (the ``facebench.method.Method``
classes ``adc``, ``adc-light``, ``adc-cpm``, ``adc-cnn67``, ``adc-stack2``). The building blocks,
trunks and the shared training loop are in ``facebench/nn/`` (also used by the baselines).
"""
