"""adc_model tests: run single-threaded (the ``one_thread`` fixture of tests/conftest.py); data
helpers are in ``synthetic.py``."""

import pytest


@pytest.fixture(autouse=True)
def _single_threaded(one_thread):
    """Every adc_model test runs with one torch thread."""
