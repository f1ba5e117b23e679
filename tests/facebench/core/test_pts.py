import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts, write_pts


def test_write_read_round_trip_exact(tmp_path):
    p = np.random.default_rng(0).uniform(0, 4096, size=(89, 2))
    write_pts(tmp_path / "a.pts", p)
    np.testing.assert_array_equal(read_pts(tmp_path / "a.pts"), p)  # tagged 0-based: base ignored


def test_ibug_file_is_one_based_crlf_and_version_1_0(tmp_path):
    f = tmp_path / "b.pts"
    f.write_bytes(b"version: 1.0\r\nn_points:  2\r\n{\r\n1 1\r\n10.5 20\r\n}\r\n")
    np.testing.assert_allclose(read_pts(f, base=1), [[0, 0], [9.5, 19]])


@pytest.mark.parametrize("body,msg", [
    ("version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n", "n_points: 3"),
    ("version: 1\nn_points: 2\n{\n1 nan\n3 4\n}\n", "NaN"),
    ("version: 1\nn_points: 2\n{\n1 x\n3 4\n}\n", "non-numeric"),
    ("hello\n", "not a .pts"),
])
def test_bad_files_name_file_and_problem(tmp_path, body, msg):
    f = tmp_path / "bad.pts"
    f.write_text(body)
    with pytest.raises(FacebenchError) as err:
        read_pts(f)
    assert "bad.pts" in str(err.value) and msg in str(err.value)


def test_wrong_count(tmp_path):
    write_pts(tmp_path / "c.pts", np.zeros((67, 2)))
    with pytest.raises(FacebenchError, match="expected 68 points, found 67"):
        read_pts(tmp_path / "c.pts", num_points=68)
