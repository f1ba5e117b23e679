"""The Method contract's optional parts have defaults, so callers never need ``hasattr``."""

from pathlib import Path

import numpy as np
import pytest

from facebench.method import FAMILIES, Method, TrainContext
from facebench.methods import METHODS


class Constant(Method):
    """A minimal method: the optional parts are left at the contract's defaults."""

    name = "constant"
    family = "holistic"

    @classmethod
    def train(cls, ctx: TrainContext) -> "Constant":
        return cls()

    def save(self, path: Path) -> None:
        Path(path).write_text("constant")

    @classmethod
    def load(cls, path: Path, device: str = "auto") -> "Constant":
        return cls()

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.zeros((len(images), 68, 2))


def test_defaults_of_the_optional_parts(tmp_path):
    m = Constant.load_for_data(tmp_path / "m", "cpu", {}, {})
    assert m.run_info() is None and m.num_parameters() == 0
    assert Constant.native_res and Constant.neural and not Constant.writes_examples
    assert Constant.model_file == "model.pt"
    with pytest.raises(NotImplementedError, match="constant writes no examples"):
        m.write_examples(tmp_path / "examples.npz", np.zeros((1, 8, 8, 3), np.uint8), np.zeros((1, 68, 2)), ["a"])


def test_every_method_declares_its_family_and_what_it_writes():
    assert {c.family for c in METHODS.values()} == set(FAMILIES)
    assert {n for n, c in METHODS.items() if c.writes_examples} == {n for n, c in METHODS.items() if c.family == "adc"}
    assert [n for n, c in METHODS.items() if not c.neural] == ["dlib-ert"]
    assert [n for n, c in METHODS.items() if c.run_info is not Method.run_info] == ["dlib-ert"]
