import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import facebench.data.prepare as prep
from facebench.bench.prepare import bench_prepare
from facebench.core.errors import FacebenchError
from facebench.core.prepared import MANIFEST_COLUMNS, PreparedDataset
from facebench.core.schemes import IBUG68
from facebench.core.tiled import decode_tiff
from facebench.data.ingest.records import Ingested, SampleRecord
from facebench.data.prepare import PrepareOptions, plan_manifest, prepare, split_subjects


def _record(subject, points, source="studio", split="", size=(200, 200)):
    return SampleRecord(id=f"{subject}_e_c", source=source, subject=subject, sequence="e", view="c",
                        split=split, subset="", scheme="ibug68", rel_path=f"{subject}/e/c",
                        src_path=f"/x/{subject}.png", frame=-1, orig_w=size[0], orig_h=size[1],
                        landmarks=np.asarray(points, dtype=np.float64), pts_path=f"/x/{subject}.pts")


def _images(out: Path) -> dict[str, int]:
    """relative path -> mtime_ns of every image of a prepared folder."""
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted((out / "images").rglob("*.tif"))}


def test_split_subjects_by_hand():
    subjects = ["a", "b", "c", "d"]
    split = split_subjects(subjects, 0.5, seed=0)
    assert sorted(split.values()) == ["test", "test", "train", "train"]
    assert split == split_subjects(subjects, 0.5, seed=0)                       # seeded
    assert len({tuple(split_subjects(subjects, 0.5, s).values()) for s in range(8)}) > 1
    assert list(split_subjects(["a", "b"], 0.1, 0).values()).count("test") == 1    # at least one each
    assert list(split_subjects(["a", "b", "c"], 0.9, 0).values()).count("train") == 1
    assert set(split_subjects(subjects, 0.0, 0).values()) == {"train"}
    assert set(split_subjects(subjects, 1.0, 0).values()) == {"test"}


def test_box_is_square_margin_grown_and_pixel_aligned():
    # landmark box (10, 20)-(110, 60): longer side 100, margin .25 -> side 150 around (60, 40),
    # i.e. (-15, -35, 135, 115); snapped to pixel edges with the same centre (+- .5): x1 = -15.5
    pts = np.full((68, 2), 50.0)
    pts[0], pts[1] = (10, 20), (110, 60)
    plan, scheme, _ = plan_manifest([Ingested("studio", Path("/x"), IBUG68, [_record("a", pts)], [])],
                                    PrepareOptions())
    np.testing.assert_array_equal(plan["box"][0], [-15.5, -35.5, 134.5, 114.5])
    assert plan["crop_side"][0] == 150 and scheme is IBUG68
    assert list(plan.columns[:-1]) == list(MANIFEST_COLUMNS)


def test_duplicate_ids_name_both_files():
    pts = np.full((68, 2), 50.0)
    one = Ingested("studio", Path("/x"), IBUG68, [_record("a", pts)], [])
    with pytest.raises(FacebenchError, match=r"/x/a.pts: duplicate sample id 'a_e_c' \(also made from /x/a.pts\)"):
        plan_manifest([one, one], PrepareOptions())


def test_subject_in_two_splits_is_refused():
    pts = np.full((68, 2), 50.0)
    studio = Ingested("studio", Path("/s"), IBUG68, [_record("114", pts)], [])
    vw = Ingested("300vw", Path("/v"), IBUG68,
                  [SampleRecord(**{**_record("114", pts, "300vw", "test").__dict__, "id": "300vw_114_000001"})], [])
    with pytest.raises(FacebenchError, match="subject '114' would be in both splits"):
        plan_manifest([studio, vw], PrepareOptions(test_fraction=0.0))
    plan, _, _ = plan_manifest([studio, vw], PrepareOptions(test_fraction=1.0))   # both test: fine
    assert set(plan["split"]) == {"test"}


def test_tiny_prepared_layout(tiny_prepared):
    man = pd.read_parquet(tiny_prepared / "manifest.parquet")
    assert list(man.columns) == list(MANIFEST_COLUMNS) and len(man) == 16
    assert man.groupby("subject")["split"].nunique().max() == 1
    assert (man["split"] == "train").sum() == 8 and man["scheme"].unique().tolist() == ["studio89"]
    info = json.loads((tiny_prepared / "dataset.json").read_text())
    assert info["resolutions"] == [128, 256] and info["scheme"] == "studio89"
    assert info["counts"]["train"] == 8 and info["counts"]["test"] == 8
    assert info["upsampled"] == {"128": 0, "256": 0} and info["options"]["margin"] == 0.25
    for sample_id, side in zip(man["id"], man["crop_side"]):
        for res in (128, 256):
            image = decode_tiff(tiny_prepared / "images" / str(res) / f"{sample_id}.tif")
            assert image.shape == (res, res, 3)
    # every landmark lies inside its crop box, with the margin around the landmark box
    for lm, box in zip(man["landmarks"], man["box"]):
        lm = np.asarray(lm).reshape(-1, 2)
        extent = (lm.max(0) - lm.min(0)).max()
        assert abs((box[2] - box[0]) - 1.5 * extent) <= 1.0 and box[2] - box[0] == box[3] - box[1]
        assert (lm > box[:2]).all() and (lm < box[2:]).all()
    assert not list(tiny_prepared.glob(".prepare-plan*"))


def test_256_is_always_prepared_and_upsampling_is_flagged(tmp_path, make_studio):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=160)   # crops ~140 px
    summary = prepare(tmp_path / "out", studio=[cap], options=PrepareOptions(resolutions=(128,)),
                      workers=1, progress=False)
    assert summary.resolutions == (128, 256) and summary.upsampled == {128: 0, 256: 2}
    assert "crops smaller than R, upsampled (flagged): 128: 0, 256: 2" in summary.lines()
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert info["upsampled"]["256"] == 2 and info["skipped"]["256"] == 0
    assert len(list((tmp_path / "out" / "images" / "256").glob("*.tif"))) == 2


def test_upsample_skip_writes_nothing_below_native_size(tmp_path, make_studio):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=320)    # crops ~285 px
    summary = prepare(tmp_path / "out", studio=[cap], options=PrepareOptions(resolutions=(256, 512), upsample="skip"),
                      workers=1, progress=False)
    assert summary.skipped == {256: 0, 512: 2} and summary.upsampled == {256: 0, 512: 0}
    assert "crops smaller than R, skipped (not written): 256: 0, 512: 2" in summary.lines()
    assert list((tmp_path / "out" / "images" / "512").glob("*.tif")) == []
    ds = PreparedDataset(tmp_path / "out")
    with pytest.raises(FacebenchError, match="has no 512 image: its crop is"):
        ds.load_image(ds.manifest["id"][0], 512)


def test_interrupted_prepare_resumes_without_redoing_images(tmp_path, make_studio, monkeypatch):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=2, cameras=2, size=320)    # 8 samples
    calls = []

    def interrupted(task):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(task)
        return real(task)

    real = prep.run_task
    monkeypatch.setattr(prep, "run_task", interrupted)
    options = PrepareOptions(resolutions=(128, 256))
    with pytest.raises(KeyboardInterrupt):
        prepare(tmp_path / "out", studio=[cap], options=options, workers=1, progress=False)
    out = tmp_path / "out"
    assert not (out / "manifest.parquet").exists() and (out / ".prepare-plan.parquet").exists()
    with pytest.raises(FacebenchError, match="unfinished `facebench prepare`"):
        PreparedDataset(out)
    done = _images(out)
    assert len(done) == 10                                   # 5 samples x 2 resolutions
    monkeypatch.setattr(prep, "run_task", real)
    summary = prepare(out, studio=[cap], options=options, workers=1, progress=False)
    assert (summary.written, summary.reused) == (6, 10)
    after = _images(out)
    assert len(after) == 16 and all(after[k] == v for k, v in done.items())   # untouched
    again = prepare(out, studio=[cap], options=options, workers=1, progress=False)   # finished: no work
    assert (again.written, again.reused) == (0, 16) and _images(out) == after
    assert len(PreparedDataset(out)) == 8


def test_changed_margin_rewrites_exactly_the_changed_crops(tmp_path, make_studio):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=320)
    out = tmp_path / "out"
    prepare(out, studio=[cap], options=PrepareOptions(resolutions=(128,)), workers=1, progress=False)
    first = decode_tiff(next((out / "images" / "128").glob("*.tif")))
    summary = prepare(out, studio=[cap], options=PrepareOptions(resolutions=(128,), margin=0.1),
                      workers=1, progress=False, force=True)
    assert summary.written == 4 and summary.reused == 0
    assert not np.array_equal(first, decode_tiff(next((out / "images" / "128").glob("*.tif"))))


def test_pool_of_workers_writes_the_same_images(tmp_path, tiny_capture, tiny_prepared):
    prepare(tmp_path / "out", studio=[tiny_capture], options=PrepareOptions(resolutions=(128, 256)),
            workers=2, progress=False)
    for rel in list(_images(tiny_prepared))[::5]:
        assert (tmp_path / "out" / rel).read_bytes() == (tiny_prepared / rel).read_bytes()
    a = pd.read_parquet(tmp_path / "out" / "manifest.parquet").drop(columns="src_path")
    b = pd.read_parquet(tiny_prepared / "manifest.parquet").drop(columns="src_path")
    pd.testing.assert_frame_equal(a, b)


def test_several_studio_folders_share_subjects_and_refuse_duplicate_ids(tmp_path, make_studio, tiny_capture):
    a = make_studio(tmp_path / "a", subjects=2, expressions=1, cameras=1)
    b = make_studio(tmp_path / "b", subjects=1, expressions=1, cameras=1, seed=5)
    with pytest.raises(FacebenchError, match=r"b/s00/e0/cam0.pts: duplicate sample id 's00_e0_cam0' "
                                             r"\(also made from .*/a/s00/e0/cam0.pts\)"):
        prepare(tmp_path / "out", studio=[a, b], workers=1, progress=False)
    (b / "s00" / "e0").rename(b / "s00" / "e9")   # same subject, another expression: one person
    plan, _, _ = plan_manifest([prep.ingest_studio(a), prep.ingest_studio(b)], PrepareOptions())
    assert len(plan) == 3 and (plan["subject"] == "s00").sum() == 2
    assert plan[plan["subject"] == "s00"]["split"].nunique() == 1


def test_schemes_across_inputs(tmp_path, make_studio, make_w300):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=1)
    w = make_w300(tmp_path / "w", per_folder=1)
    with pytest.raises(FacebenchError, match="inputs use different landmark schemes"):
        prepare(tmp_path / "out", studio=[cap], w300=w, workers=1, progress=False)
    assert not (tmp_path / "out").exists()
    prepare(tmp_path / "out", studio=[cap], w300=w, options=PrepareOptions(resolutions=(128,), scheme="ibug68"),
            workers=1, progress=False)
    ds = PreparedDataset(tmp_path / "out")
    assert ds.scheme is IBUG68 and ds.landmarks(ds.manifest, 128).shape == (8, 68, 2)
    assert set(ds.manifest["source"]) == {"studio", "300w"}


def test_out_folder_with_foreign_files_is_refused(tmp_path, tiny_capture):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.tex").write_text("x")
    with pytest.raises(FacebenchError, match="home: output folder is not a prepared dataset"):
        prepare(tmp_path / "home", studio=[tiny_capture], workers=1, progress=False)
    assert not (tmp_path / "home" / "images").exists()


def test_bad_options():
    with pytest.raises(FacebenchError, match="--test-fraction"):
        PrepareOptions(test_fraction=1.5)
    with pytest.raises(FacebenchError, match="--margin"):
        PrepareOptions(margin=-0.1)
    with pytest.raises(FacebenchError, match="--upsample"):
        PrepareOptions(upsample="maybe")
    with pytest.raises(FacebenchError, match="no input"):
        prepare("/tmp/unused")


def test_bench_prepare_returns_a_ratio(tmp_path):
    got = bench_prepare(n_images=2, size=512, resolutions=(256, 512), repeats=1, work_dir=tmp_path)
    assert got["images"] == 2 and got["resolutions"] == [256, 512]
    assert got["bare_cpu_s"] > 0 and got["prepare_cpu_s"] > 0 and got["prepare_wall_s"] > 0
    assert got["ratio"] == pytest.approx(got["prepare_cpu_s"] / got["bare_cpu_s"])
    assert list(tmp_path.iterdir()) == []    # cleans up


def test_a_dataset_of_the_other_format_is_not_overwritten_silently(tmp_path, make_studio):
    cap = make_studio(tmp_path / "cap", subjects=2, expressions=1, cameras=1, size=320)
    out = tmp_path / "out"
    prepare(out, studio=[cap], options=PrepareOptions(resolutions=(128,), format="png"), workers=1, progress=False)
    before = sorted(p.name for p in (out / "images" / "128").iterdir())
    with pytest.raises(FacebenchError, match="only the image format differs: --format png keeps it"):
        prepare(out, studio=[cap], options=PrepareOptions(resolutions=(128,)), workers=1, progress=False)
    assert sorted(p.name for p in (out / "images" / "128").iterdir()) == before
    summary = prepare(out, studio=[cap], options=PrepareOptions(resolutions=(128,)), workers=1, progress=False,
                      force=True)
    assert summary.written == 4 and PreparedDataset(out).format == "tiff"
    assert all(p.suffix == ".tif" for p in (out / "images" / "128").iterdir())      # no PNG left beside them
