import numpy as np
import pytest

from baselines.dlib_ert import PRESET_OPTIONS, ERTOptions, ert_options, with_mirror_images
from facebench.core.errors import FacebenchError
from facebench.core.schemes import get_scheme


def test_mirror_copy_flips_images_rectangles_and_relabels_points():
    scheme = get_scheme("ibug68")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    points = rng.integers(5, 35, (1, 68, 2))
    images, rects, pts = with_mirror_images([image], [(4, 6, 30, 36)], points, scheme.flip_permutation())
    assert len(images) == 2 and pts.shape == (2, 68, 2)
    assert np.array_equal(images[1], image[:, ::-1]) and np.array_equal(images[0], image)
    assert rects[1] == (9, 6, 35, 36)
    # The mirror's left outer eye corner (36) is the original's right outer corner (45), mirrored.
    assert tuple(pts[1, 36]) == (39 - points[0, 45, 0], points[0, 45, 1])
    assert tuple(pts[1, 8]) == (39 - points[0, 8, 0], points[0, 8, 1])          # the chin stays the chin
    # Pixel values under a point travel with it.
    x, y = pts[1, 36]
    assert np.array_equal(images[1][y, x], image[points[0, 45, 1], points[0, 45, 0]])


def test_cpu_preset_uses_dlibs_reference_settings_with_the_mirror():
    import dlib

    ref = dlib.shape_predictor_training_options()
    cpu = PRESET_OPTIONS["cpu"]
    for name in ("cascade_depth", "tree_depth", "num_trees_per_cascade_level", "nu", "oversampling_amount",
                 "oversampling_translation_jitter", "feature_pool_size", "lambda_param", "num_test_splits",
                 "feature_pool_region_padding"):
        assert getattr(cpu, name) == pytest.approx(getattr(ref, name)), name
    assert cpu.mirror == 1 and ERTOptions().mirror == 1
    assert ert_options("cpu", {"mirror": 0}).mirror == 0
    with pytest.raises(FacebenchError, match="mirror must be 0 or 1"):
        ert_options("cpu", {"mirror": 2})
