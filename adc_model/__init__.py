"""The attention-driven cropping network of Chandran et al., "Attention-Driven Cropping for Very
High Resolution Facial Landmark Detection" (CVPR 2020): a global hourglass on a 256 proxy finds
coarse landmarks, four regional hourglasses refine them on RoI crops of the full-resolution image.

Modules: ``ops`` (spatial softmax, soft-argmax, differentiable RoI crop), ``blocks`` and
``hourglass`` (building blocks, also used by the baselines), ``regions`` (region boxes), ``model``
(``ADCNet``), ``loss`` (eq. 1), ``train`` (the shared training loop) and ``method`` (the
``facebench.methods.Method`` classes ``adc``, ``adc-light``, ``adc-cpm``, ``adc-cnn67``, ``adc-stack2``).
"""
