"""adc_model tests: run single-threaded (see ``one_thread``); data helpers are in ``synthetic.py``."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """These tests use tiny tensors: one intra-op thread is as fast, and on the shared 2-core CI /
    development machine it avoids OpenMP oversubscription (measured 0.05 s vs 0.7 s per forward)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
