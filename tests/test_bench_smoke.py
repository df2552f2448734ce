"""The benchmark harness on a tiny file: the table prints and results are exact where they must be."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402
from bench.cases import chunked_std, hist_percentile  # noqa: E402


def test_numpy_references_are_exact():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.integers(0, rng.integers(2, 5000), (rng.integers(1, 30), 5, 7)).astype(np.uint16)
        p = rng.uniform(0, 100, 4)
        np.testing.assert_array_equal(hist_percentile(a, p, chunk=4), np.percentile(a, p))
    np.testing.assert_allclose(chunked_std(a, chunk=3), a.std(0), rtol=1e-12)


def test_quick_bench_in_process(tmp_path, capsys):
    report = run.main(["--quick", "--frames", "30", "--size", "48", "--out", str(tmp_path),
                       "--skip-extra", "--no-subprocess", "--repeat", "1"])
    text = capsys.readouterr().out
    assert "ours s" in text and "numpy s" in text and "T9" in text
    assert (tmp_path / "synth_30x48x48.tif").exists() and (tmp_path / "results.json").exists()
    rows = {r["case"]: r for r in report["rows"]}
    assert set(rows) == {c.key for c in run.CASES}
    assert not any(r["errors"] for r in rows.values()), {k: r["errors"] for k, r in rows.items()}
    # exact where it must be: percentiles (against the histogram and np.percentile), reads, max
    assert rows["T7"]["check"] == "exact" and rows["T7"]["alt_check"] == "exact"
    for key in ("T1", "T3", "T8", "T10", "T10b"):
        assert rows[key]["check"] == "exact", key
    for key in ("T2", "T4", "T5", "T6", "T9", "T9c"):
        assert rows[key]["check"] in ("exact", "close"), key


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memory is read from /proc")
def test_subprocess_case_measures_memory(tmp_path, capsys):
    report = run.main(["--frames", "30", "--size", "48", "--out", str(tmp_path), "--skip-extra",
                       "--cases", "T7", "--impls", "ours,numpy", "--repeat", "1"])
    row = report["rows"][0]
    assert report["subprocess"] and row["case"] == "T7" and not row["errors"]
    assert row["check"] == "exact"
    assert row["ours_mib"] is not None and row["numpy_mib"] is not None
    assert "T7" in capsys.readouterr().out


def test_t10_glob_bench_tiny(tmp_path):
    from bench.glob_bench import t10

    result = t10(tmp_path, n_files=6, size=32, repeats=1, quiet=True)
    assert result["files"] == 6 and result["ours"] > 0 and result["loop"] > 0


def test_fresh_process_mode_times_open_and_task(tmp_path, capsys):
    report = run.main(["--quick", "--frames", "20", "--size", "32", "--out", str(tmp_path), "--skip-extra",
                       "--fresh", "--repeat", "2", "--cases", "T2", "--impls", "ours,numpy"])
    text = capsys.readouterr().out
    assert "fresh processes" in text and "median of 2 fresh processes" in text
    row = report["rows"][0]
    assert row["case"] == "T2" and row["ours"] > 0 and row["numpy"] > 0 and row["check"] == "exact"
    startup = report["startup_ms"]  # imports and the first open, timed in fresh interpreters too
    assert startup["import imfun.fseq"] > 0 and startup["first open_seq"] > 0
    assert startup["first tifffile.memmap"] > 0 and "imfun adds" in text
