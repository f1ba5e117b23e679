import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.data.synth.config import SynthConfig, rng_for
from facebench.data.synth.expressions import EXPRESSION_NAMES, EXPRESSIONS


def test_defaults_match_the_paper_capture():
    cfg = SynthConfig()
    assert (cfg.subjects, cfg.expressions, cfg.cameras, cfg.size) == (12, 24, 8, 4096)
    assert len(EXPRESSION_NAMES) == 24 and EXPRESSION_NAMES[0] == "neutral"
    assert len(set(EXPRESSION_NAMES)) == 24


@pytest.mark.parametrize("kwargs,msg", [
    ({"subjects": 0}, "subjects"), ({"expressions": 25}, "expressions"), ({"cameras": 0}, "cameras"),
    ({"size": 32}, "size"), ({"annotator_noise": -1.0}, "annotator_noise"),
    ({"annotator_noise": float("nan")}, "annotator_noise"), ({"image_format": "tif"}, "image_format"),
])
def test_bad_config_is_a_user_error(kwargs, msg):
    with pytest.raises(FacebenchError, match=msg):
        SynthConfig(**kwargs)


def test_streams_depend_only_on_their_keys():
    a = rng_for(3, 2, 1, 5, 7).random(4)
    b = rng_for(3, 2, 1, 5, 7).random(4)
    c = rng_for(3, 2, 1, 5, 6).random(4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_every_expression_but_neutral_changes_something():
    assert EXPRESSIONS[0].controls() == {}
    assert all(e.controls() for e in EXPRESSIONS[1:])
