import cv2
import numpy as np
import pytest

from facebench.core.errors import FacebenchError
from facebench.core.prepared import PreparedDataset
from facebench.core.pts import write_pts
from facebench.data.ingest.vw300 import CATEGORIES, ingest_300vw, video_subset
from facebench.data.prepare import PrepareOptions, prepare


def _graded_video(root, name="114", frames=8, size=(160, 128)):
    """A video whose frame f (from 1) is uniformly grey 25 * f, with one annotation per frame."""
    (root / name / "annot").mkdir(parents=True)
    writer = cv2.VideoWriter(str(root / name / "vid.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    pts = np.stack([np.linspace(40, 120, 68), np.linspace(30, 100, 68)], 1)
    for f in range(1, frames + 1):
        writer.write(np.full((size[1], size[0], 3), 25 * f, np.uint8))
        write_pts(root / name / "annot" / f"{f:06d}.pts", pts, base=1)
    writer.release()
    return root


def test_categories_and_training_videos():
    assert sum(len(v) for v in CATEGORIES.values()) == 64          # 114 videos - 50 training
    assert video_subset("114") == ("test", "cat1")
    assert video_subset("203") == ("test", "cat2")
    assert video_subset("562") == ("test", "cat3")
    assert video_subset("001") == ("train", "train")
    assert video_subset("0410") == ("test", "cat3")


def test_records_and_stride(tmp_path, make_vw300):
    root = make_vw300(tmp_path)                      # 114: 6 frames, 203: 4, 001: 6
    every = ingest_300vw(root, stride=1)
    assert len(every.records) == 16 and every.scheme.name == "ibug68"
    r = every.records[0]
    assert (r.id, r.subject, r.sequence, r.view, r.frame) == ("300vw_001_000001", "001", "001", "000001", 1)
    assert (r.split, r.subset, r.rel_path, r.orig_w, r.orig_h) == ("train", "train", "001/annot/000001", 192, 160)
    assert r.src_path.endswith("001/vid.avi")
    kept = ingest_300vw(root, stride=5)
    assert [(x.subject, x.frame) for x in kept.records] == [("001", 1), ("001", 6), ("114", 1), ("114", 6), ("203", 1)]
    assert {x.subject: x.subset for x in kept.records} == {"001": "train", "114": "cat1", "203": "cat2"}


def test_frames_are_decoded_in_order_with_the_stride(tmp_path):
    root = _graded_video(tmp_path / "vw")
    prepare(tmp_path / "out", vw300=root, options=PrepareOptions(resolutions=(128,), vw_stride=3),
            workers=1, progress=False)
    ds = PreparedDataset(tmp_path / "out")
    assert list(ds.manifest["frame"]) == [1, 4, 7]
    for sample_id, frame in zip(ds.manifest["id"], ds.manifest["frame"]):
        assert abs(ds.load_image(sample_id, 128).mean() - 25 * frame) < 3   # MJPG is lossy


def test_video_shorter_than_its_annotations(tmp_path):
    root = _graded_video(tmp_path / "vw", frames=3)
    write_pts(root / "114" / "annot" / "000004.pts", np.full((68, 2), 50.0), base=1)
    with pytest.raises(FacebenchError, match="vid.avi: video ends after 3 frames but annot/ has frame 4"):
        prepare(tmp_path / "out", vw300=root, options=PrepareOptions(resolutions=(128,), vw_stride=1),
                workers=1, progress=False)
    assert not (tmp_path / "out" / "manifest.parquet").exists()


def test_bad_layouts(tmp_path):
    with pytest.raises(FacebenchError, match="300-VW folder not found"):
        ingest_300vw(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FacebenchError, match="no 300-VW video folders"):
        ingest_300vw(tmp_path / "empty")
    root = _graded_video(tmp_path / "vw")
    (root / "114" / "vid.avi").write_bytes(b"garbage" * 100)
    with pytest.raises(FacebenchError, match="vid.avi: cannot open video"):
        ingest_300vw(root)
    root = _graded_video(tmp_path / "vw2")
    (root / "114" / "annot" / "frame_x.pts").write_text("x")
    with pytest.raises(FacebenchError, match="frame_x.pts: 300-VW landmark file name is not a frame number"):
        ingest_300vw(root)
