from facebench.bench.storage import bench_storage, storage_rows_markdown


def test_bench_storage_rows(tiny_prepared):
    rows = bench_storage(res=256, window=64, repeats=1, data=tiny_prepared)
    names = [r["format"] for r in rows]
    assert any(n.startswith("png") for n in names) and any("prepare's default" in n for n in names)
    for r in rows:
        assert set(r) == {"format", "mib", "encode_ms", "decode_ms", "region_ms", "lossless"}
        assert r["mib"] > 0 and r["decode_ms"] >= 0 and r["region_ms"] >= 0
        assert r["lossless"] == (not r["format"].startswith("jpeg"))
    assert storage_rows_markdown(rows, 256, 64).count("\n") == len(rows) + 1
