"""The cells bench's detection comparison on a tiny movie (suite2p itself runs only in another venv)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import cells_bench  # noqa: E402


def test_detection_rows_and_table(tmp_path):
    # this interpreter has no suite2p: the peer's columns become an error, the rest is measured
    rows = cells_bench.detection([(6, 3, 64, {})], 200, tmp_path, sys.executable, 1)
    (row,) = rows
    assert row["ours_f1"] >= 0.9 and row["ours_every_frame_f1"] >= 0.9
    assert row["ours_s"] > 0 and row["ours_cpu_s"] > 0
    assert "ModuleNotFoundError" in row["suite2p_error"] and "speedup" not in row
    text = cells_bench.table(rows)
    assert text.splitlines()[0].startswith("| cells | snr | size | frames | ours_f1")
    assert "| 6 | 3 | 64 | 200 |" in text
    assert not list(tmp_path.glob("det_*"))  # the movies are removed
