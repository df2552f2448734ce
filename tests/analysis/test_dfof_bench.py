"""The ΔF/F bench on a tiny movie: each contender in its own process, the table and the error line."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import dfof_bench  # noqa: E402


def test_dfof_bench_on_a_tiny_movie(tmp_path, capsys):
    av = pytest.importorskip("av")
    if "libx264" not in av.codecs_available:
        pytest.skip("PyAV without libx264")
    path = tmp_path / "tiny.mp4"
    t, y, x = np.mgrid[:60, :32, :48]
    frames = np.clip(100 + 30 * np.sin(x / 5 + t / 9) + 5 * np.cos(y / 3), 0, 255).astype(np.uint8)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=dfof_bench.RATE)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")))
        out.mux(stream.encode())
    assert dfof_bench.main(["--movie", str(path), "--only", "fast_mean", "exact", "--repeat", "1",
                            "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert f"of {path}" in text and "fast baseline vs exact: RMS" in text
    rows = json.loads((tmp_path / "dfof_bench.json").read_text())["rows"]
    assert set(rows) == {"fast_mean", "exact"}
    for row in rows.values():
        assert row["frames"] == 60 and row["pixels"] == 32 * 48 and row["seconds"] > 0
    assert rows["exact"]["rms_error"] < 0.05 and 0 <= rows["exact"]["over_1pct"] <= 1
