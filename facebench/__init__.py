"""facebench: facial landmark detection on very high resolution images.

Reproduces "Attention-Driven Cropping for Very High Resolution Facial Landmark Detection"
(Chandran et al., CVPR 2020) and the benchmark around it. See docs/design.md for the pipeline.
"""

__version__ = "0.1.0"
