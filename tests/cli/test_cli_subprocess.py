"""A few runs of the real `python -m imfun` process (each costs an interpreter start)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile


def imfun(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "imfun", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_subprocess_info_json_and_failure(tmp_path):
    x = np.arange(5 * 8 * 12, dtype=np.uint16).reshape(5, 8, 12)
    p = tmp_path / "a.tif"
    tifffile.imwrite(p, x, imagej=True, metadata={"finterval": 0.2, "axes": "TYX"})
    r = imfun("info", "--json", p, tmp_path / "missing.tif")
    assert r.returncode == 1
    info = json.loads(r.stdout)
    assert info[0]["frames"] == 5 and info[0]["axes"]["t"]["scale"] == pytest.approx(0.2)
    assert r.stderr.startswith("imfun: error:") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr and not r.stderr.startswith("\r")  # no progress bar off a terminal
    r = imfun("project", p, "--frames", "x")
    assert r.returncode == 2 and "usage:" in r.stderr


def test_subprocess_shared_data(shared_data):
    stuck, mov = shared_data / "pims" / "stuck.tif", shared_data / "pims" / "bulk-water.mov"
    if not stuck.exists() or not mov.exists():
        pytest.skip("pims sample files absent")
    r = imfun("info", "--json", stuck, mov)
    assert r.returncode == 0, r.stderr
    a, b = json.loads(r.stdout)
    assert a["frames"] == 5 and a["frame_shape"] == [512, 512] and a["dtype"] == "uint16"
    assert b["frames"] == 480 and b["frame_shape"][:2] == [424, 640]
    assert b["axes"]["t"]["unit"] == "s" and b["axes"]["t"]["scale"] == pytest.approx(1 / 23.976, rel=1e-3)
