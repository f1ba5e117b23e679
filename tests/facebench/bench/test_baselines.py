"""The measuring helpers behind docs/bench/baselines.md."""

import numpy as np

from facebench.bench.baselines import HOLISTIC, build, seconds_per_image
from facebench.core.presets import get_preset


def test_build_matches_the_preset_size():
    for cls in HOLISTIC:
        model = build(cls, "smoke", 68)
        p = get_preset("smoke")
        assert (model.cfg.width, model.cfg.depth, model.cfg.stages, model.cfg.num_points) == (p.width, p.depth,
                                                                                                cls.stages, 68)
        assert model.num_parameters() > 0


def test_seconds_per_image_warms_up_then_times_each_repeat():
    calls = []
    wall, cpu = seconds_per_image(lambda images: calls.append(len(images)), np.zeros((4, 8, 8, 3), np.uint8), 3)
    assert calls == [4, 4, 4, 4] and wall >= 0.0 and cpu >= 0.0
