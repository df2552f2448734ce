"""``imfun register``: in process (``main`` returns the exit code) and once as a subprocess."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile

from imfun.cli import main
from imfun.registration import load_shifts
from imfun.registration.metrics import shift_rmse


@pytest.fixture()
def movie_file(tmp_path, rigid_movie):
    movie, motion, _ = rigid_movie
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, movie[:40], imagej=True, metadata={"axes": "TYX", "finterval": 0.1})
    return path, motion.shifts[:40]


def test_register_writes_movie_shifts_and_qc(tmp_path, movie_file, capsys):
    path, truth = movie_file
    out, shifts, qc = tmp_path / "reg.tif", tmp_path / "shifts.csv", tmp_path / "qc.png"
    assert main(["register", str(path), "-o", str(out), "--shifts", str(shifts), "--qc", str(qc)]) == 0
    assert "registered (rigid" in capsys.readouterr().out
    data = tifffile.imread(out)
    assert data.shape == (40, 128, 128) and data.dtype == np.float32
    s = load_shifts(shifts)
    assert shift_rmse(s.shifts, truth) <= 0.1
    assert qc.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same shifts applied again give the same movie
    again = tmp_path / "again.tif"
    assert main(["register", str(path), "-o", str(again), "--apply", str(shifts)]) == 0
    np.testing.assert_allclose(tifffile.imread(again), data, atol=1e-3)
    # outputs are not replaced without --overwrite, before any work is done
    assert main(["register", str(path), "-o", str(tmp_path / "new.tif"), "--shifts", str(shifts)]) == 1
    assert "exists" in capsys.readouterr().err and not (tmp_path / "new.tif").exists()


def test_register_nonrigid_with_bidi(tmp_path, movie_file):
    path, _ = movie_file
    out, shifts = tmp_path / "nr.h5", tmp_path / "nr.npz"
    pytest.importorskip("h5py")
    code = main(["register", str(path), "-o", str(out), "--nonrigid", "--block-size", "64", "--bidi", "auto",
                 "--fill", "nan", "--shifts", str(shifts), "-q"])
    assert code == 0
    s = load_shifts(shifts)
    assert s.block_shifts.shape == (40, 3, 3, 2) and s.block_size == (64, 64)
    assert abs(s.bidi_phase) <= 0.1  # no line-scan phase in this movie


def test_register_bad_usage(tmp_path, movie_file, capsys):
    path, _ = movie_file
    out = str(tmp_path / "x.tif")
    assert main(["register", str(path), "-o", out, "--block-size", "500", "--nonrigid"]) == 1
    assert "larger than the frames" in capsys.readouterr().err
    assert main(["register", str(path), "-o", str(tmp_path / "x.tif"), "--bidi", "maybe"]) == 2


def test_register_as_a_subprocess(tmp_path, movie_file):
    path, _ = movie_file
    out = tmp_path / "sub.tif"
    r = subprocess.run([sys.executable, "-m", "imfun", "register", str(path), "-o", str(out),
                        "--frames", "0:20", "--max-shift", "8"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert tifffile.imread(out).shape == (20, 128, 128)
