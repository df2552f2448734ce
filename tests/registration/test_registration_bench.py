"""The registration benchmark runs on a tiny movie and prints its table (imfun only)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import registration_bench  # noqa: E402


def test_registration_bench_on_a_tiny_movie(tmp_path, capsys):
    code = registration_bench.main(["--frames", "24", "--size", "64", "--block", "32", "--only", "imfun",
                                    "imfun_nonrigid", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "| rigid 24x64x64 | imfun |" in text and "| non-rigid 24x64x64 | imfun_nonrigid |" in text
    assert "error" not in text
    assert (tmp_path / "moving_24x64x64.tif").exists() and (tmp_path / "moving_24x64x64.npz").exists()


def test_registration_bench_memory_mode_registers_into_a_tiff_and_cleans_up(tmp_path, capsys):
    code = registration_bench.main(["--memory-gb", "0.0002", "--size", "32", "--block", "16", "--budget",
                                    "4 MiB", "--out", str(tmp_path)])
    assert code == 0
    text = capsys.readouterr().out
    assert "| imfun_tiff |" in text and "| imfun_nonrigid_tiff |" in text and "error" not in text
    assert "wrote" in text and "within budget + 100 MiB" in text
    assert not list(tmp_path.glob("*.tif"))  # the movie and the registered outputs are deleted
