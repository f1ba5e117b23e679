"""Training whose numbers do not depend on the number of torch CPU threads (issue 13).

Measured on this project's machine (torch 2.13 CPU): one forward and backward pass of the `cpu`
preset's ADC at 256 on the same batch gives gradients that differ by up to 0.37 (of 2.9e4) between
one and two threads, because oneDNN (mkldnn) convolutions split their sums over the threads; Adam
then carries the difference through training and two runs of the same seed end apart. With oneDNN
off, PyTorch's own convolutions (im2col + GEMM) give bitwise the same forward pass and gradients
with one or two threads, and a whole training run gives the same weights
(tests/facebench/nn/test_determinism.py), at about 1.8x the training time of the `cpu` preset
(0.45 -> 0.79 CPU s per batch of 8 at 256, 1.94 -> 3.8 at 1024 with 256 px crops; one thread).

``facebench run --thread-invariant`` / ``reproduce --thread-invariant`` switch it on for the run
(recorded in config.json). Off by default, for speed: without it, a run's numbers still depend only
on its seed for a fixed thread count (``reproduce`` trains every run with one thread per job).
"""

from __future__ import annotations


def set_thread_invariant(on: bool) -> None:
    """Use (``on``) or stop using convolution kernels whose sums do not depend on the thread count."""
    import torch

    torch.backends.mkldnn.enabled = not on


def thread_invariant() -> bool:
    import torch

    return not torch.backends.mkldnn.enabled
