import numpy as np

from facebench.data.synth.raster import rasterize


def _quad(x0, y0, x1, y1, z):
    """Two front-facing triangles (counter-clockwise on screen with y down) covering a box."""
    xy = np.array([[x0, y1], [x1, y1], [x0, y0], [x1, y0]], float)
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    return xy, np.full(4, z, float), faces


def test_box_covers_exactly_the_pixel_centres_inside_it():
    # Box (2.5, 3.5)-(9.5, 7.5) contains the centres of columns 3..9 and rows 4..7.
    xy, z, f = _quad(2.5, 3.5, 9.5, 7.5, 10.0)
    r = rasterize(xy, z, f, 16, 12)
    expect = np.zeros((12, 16), bool)
    expect[4:8, 3:10] = True
    np.testing.assert_array_equal(r.mask, expect)


def test_nearest_surface_wins_and_backfaces_are_culled():
    xy1, z1, f1 = _quad(0.5, 0.5, 10.5, 10.5, 50.0)
    xy2, z2, f2 = _quad(4.5, 4.5, 8.5, 8.5, 20.0)
    xy = np.concatenate([xy1, xy2])
    z = np.concatenate([z1, z2])
    faces = np.concatenate([f1, f2 + 4])
    r = rasterize(xy, z, faces, 12, 12)
    assert np.all(r.depth[5:9, 5:9] == 20.0) and r.depth[2, 2] == 50.0
    assert set(np.unique(r.tri[5:9, 5:9])) <= {2, 3}
    flipped = rasterize(xy2, z2, f2[:, ::-1], 12, 12)          # clockwise: back-facing
    assert not flipped.mask.any()


def test_perspective_correct_interpolation_is_exact_for_planar_attributes():
    # A plane tilted in depth, seen by a pinhole camera: interpolated 3-D points must lie on it.
    f, c = 100.0, 31.5
    pts = np.array([[-20, -20, 100], [20, -20, 160], [-20, 20, 100], [20, 20, 160]], float)
    xy = f * pts[:, :2] / pts[:, 2:] + c
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    a, b = xy[1] - xy[0], xy[2] - xy[0]
    if a[0] * b[1] - a[1] * b[0] > 0:
        faces = faces[:, ::-1]
    r = rasterize(xy, pts[:, 2], faces, 64, 64, cull_backfaces=False)
    p = r.interpolate(faces, pts.astype(np.float32))[r.mask]
    # On the plane z = 130 + 1.5 x, and projecting back gives the pixel centre.
    np.testing.assert_allclose(p[:, 2], 130 + 1.5 * p[:, 0], atol=1e-3)
    rows, cols = np.nonzero(r.mask)
    np.testing.assert_allclose(f * p[:, 0] / p[:, 2] + c, cols, atol=1e-3)
    np.testing.assert_allclose(f * p[:, 1] / p[:, 2] + c, rows, atol=1e-3)
    np.testing.assert_allclose(r.depth[r.mask], p[:, 2], rtol=1e-5)
