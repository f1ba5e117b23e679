import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.pts import read_pts
from facebench.data.ingest.w300 import FOLDERS, ingest_300w


def test_official_splits_and_subsets(tmp_path, make_w300):
    got = ingest_300w(make_w300(tmp_path))
    assert got.kind == "300w" and got.scheme.name == "ibug68" and len(got.records) == 12
    by_folder = {}
    for r in got.records:
        by_folder.setdefault(r.sequence, set()).add((r.split, r.subset))
    assert by_folder == {
        "afw": {("train", "train")}, "helen/trainset": {("train", "train")},
        "lfpw/trainset": {("train", "train")}, "helen/testset": {("test", "common")},
        "lfpw/testset": {("test", "common")}, "ibug": {("test", "challenging")}}
    assert got.notes == []


def test_ids_subjects_and_lfpw_name_clash(tmp_path, make_w300):
    got = ingest_300w(make_w300(tmp_path))
    lfpw = [r for r in got.records if r.view == "image_0001"]
    # LFPW's trainset and testset both hold image_0001: distinct subjects, ids and rel_paths
    assert sorted(r.id for r in lfpw) == ["300w_lfpw-testset_image_0001", "300w_lfpw-trainset_image_0001"]
    assert sorted(r.subject for r in lfpw) == ["lfpw/testset/image_0001", "lfpw/trainset/image_0001"]
    assert sorted(r.rel_path for r in lfpw) == ["lfpw/testset/image_0001", "lfpw/trainset/image_0001"]


def test_one_based_points_are_shifted(tmp_path, make_w300):
    root = make_w300(tmp_path, per_folder=1)
    pts = root / "ibug" / "ibug_0.pts"
    raw = np.loadtxt(pts.read_text().split("{")[1].split("}")[0].split("\n")[1:-1])   # the file's numbers
    rec = next(r for r in ingest_300w(root).records if r.sequence == "ibug")
    np.testing.assert_allclose(rec.landmarks, raw - 1.0)
    assert rec.src_path.endswith("ibug/ibug_0.jpg") and (rec.orig_w, rec.orig_h) == (200, 160)


def test_partial_download_is_noted(tmp_path, make_w300):
    root = make_w300(tmp_path, per_folder=1)
    for p in (root / "ibug").iterdir():
        p.unlink()
    (root / "ibug").rmdir()
    got = ingest_300w(root)
    assert len(got.records) == 5 and "ibug" in got.notes[0]


def test_missing_empty_and_wrong_count(tmp_path, make_w300):
    with pytest.raises(FacebenchError, match="300-W folder not found"):
        ingest_300w(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FacebenchError, match="no 300-W sub-folders"):
        ingest_300w(tmp_path / "empty")
    (tmp_path / "empty" / "afw").mkdir()
    with pytest.raises(FacebenchError, match="afw: 300-W folder holds no .pts"):
        ingest_300w(tmp_path / "empty")
    root = make_w300(tmp_path / "w", per_folder=1)
    pts = root / "afw" / "afw_0.pts"
    text = pts.read_text().replace("n_points: 68", "n_points: 67")
    pts.write_text(text[: text.index("{") + 2] + text[text.index("{") + 2:].split("\n", 1)[1])
    assert len(read_pts(pts)) == 67
    with pytest.raises(FacebenchError, match="afw_0.pts: expected 68 points, found 67"):
        ingest_300w(root)


def test_folder_table_matches_design():
    assert list(FOLDERS) == ["afw", "helen/trainset", "lfpw/trainset", "helen/testset", "lfpw/testset", "ibug"]
