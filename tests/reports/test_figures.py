import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from facebench.core import geometry
from reports import figures as F


def axes():
    return Figure().add_subplot()


def test_image_extent_is_the_geometry_frame():
    assert F.image_extent(256, 128) == (-0.5, 255.5, 127.5, -0.5)
    x1, y1, x2, y2 = geometry.full_image_box(64)
    assert F.image_extent(64, 64) == (x1, x2, y2, y1)


def test_plot_pck_legend_gives_auc_and_absent_runs():
    ax = axes()
    x = np.linspace(0, 10, 11)
    out = F.plot_pck(ax, [F.Curve("ADC", x, x / 10, 0.5, "red")], "512", absent=["ADC light: OOM"])
    assert out is ax
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["ADC (AUC 50.0)", "ADC light: OOM"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), x * 10)          # percent
    assert ax.get_xlim() == (0.0, 10.0)


def test_plot_bars_writes_values_and_statuses():
    ax = axes()
    assert F.plot_bars(ax, ["a", "b", "c"], [80.0, "OOM", None], ["r", "g", "b"], "t", "AUC") is ax
    assert [t.get_text() for t in ax.texts] == ["80.0", "OOM", "no run"]
    assert [p.get_height() for p in ax.patches] == [80.0, 0.0, 0.0]


def test_plot_error_image_colours_points_by_error():
    ax = axes()
    img = np.zeros((32, 32, 3), np.uint8)
    pts = np.array([[3.0, 4.0], [10.0, 20.0]])
    F.plot_error_image(ax, img, pts, np.array([1.0, 5.0]), Normalize(0, 5), "x")
    sc = ax.collections[0]
    np.testing.assert_allclose(sc.get_offsets(), pts)
    np.testing.assert_allclose(sc.get_array(), [1.0, 5.0])
    assert ax.images[0].get_extent() == [-0.5, 31.5, 31.5, -0.5]


def test_plot_heatmap_in_box_crops_to_the_box():
    ax = axes()
    F.plot_heatmap_in_box(ax, np.random.default_rng(0).random((16, 16)), 512, np.array([100.0, 50.0, 228.0, 178.0]))
    assert ax.get_xlim() == (100.0, 228.0) and ax.get_ylim() == (178.0, 50.0)
    assert ax.images[0].get_extent() == [-0.5, 511.5, 511.5, -0.5]     # the whole 512 image


def test_plot_corrections_draws_one_arrow_per_point():
    ax = axes()
    coarse = np.array([[1.0, 1.0], [5.0, 5.0], [9.0, 2.0]])
    F.plot_corrections(ax, np.zeros((12, 12, 3), np.uint8), F.image_extent(12, 12), coarse, coarse + 1, coarse + 0.5)
    assert len(ax.texts) == 3                          # annotate arrows
    assert len(ax.collections) == 3                    # coarse, refined, gt
    assert np.allclose(ax.texts[0].xy, (2.0, 2.0)) and np.allclose(ax.texts[0].xyann, (1.0, 1.0))


def test_plot_lines_starts_at_zero():
    ax = axes()
    F.plot_lines(ax, [("ADC", [256, 512], [2.0, 1.5], "red")], "t", "train", "NME")
    assert ax.get_ylim()[0] == 0.0 and ax.get_ylim()[1] >= 2.0
