"""`imfun cells`: in process and once as a subprocess, outputs checked against the library."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from imfun.analysis.baseline import dfof_traces
from imfun.analysis.cells import cells_from_labels, match_centers
from imfun.analysis.rois import load_rois
from imfun.analysis.traces import read_csv
from imfun.cli import main
from imfun.fseq import open_seq
from imfun.synthdata import moving_two_photon_movie, two_photon_tiff, write_tiff

OUTPUTS = ["RoiSet.zip", "cells.tif", "dfof.csv", "summary.png", "traces.csv", "traces.png"]


@pytest.fixture(scope="module")
def movie(tmp_path_factory):
    path = tmp_path_factory.mktemp("cells") / "movie.tif"
    # SNR 3 per pixel and frame: baseline b with 0.8 b / sqrt(2 b) = 3
    return two_photon_tiff(path, n_frames=240, shape=(96, 96), n_cells=10, seed=4, baseline=28.0,
                           spike_rate=0.6)


def true_centers(sm):
    from scipy import ndimage

    return np.array([ndimage.center_of_mass(m) for m in sm.cell_masks])


def test_cells_command_outputs(movie, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["cells", movie.path, "-o", str(out), "--diameter", "10", "--neuropil",
                 "--baseline-seconds", "4"]) == 0
    assert "cells of" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    labels = tifffile.imread(out / "cells.tif")
    cells = cells_from_labels(labels)
    score = match_centers(true_centers(movie), cells.centers, 10 / movie.dx / 2)
    assert score["f1"] >= 0.9, score
    masks, _ = load_rois(out / "RoiSet.zip", labels.shape)
    np.testing.assert_array_equal(masks, cells.masks)
    # traces.csv is the neuropil-corrected mean per cell; dfof.csv its ΔF/F
    fs = open_seq(movie.path)
    ref = fs.roi_traces(labels, neuropil="annulus")
    index, values, _ = read_csv(out / "traces.csv")
    np.testing.assert_allclose(values, ref.corrected, rtol=1e-6)
    np.testing.assert_allclose(index["time_s"], np.arange(240) * movie.dt, atol=1e-9)
    np.testing.assert_array_equal(index["frame"], np.arange(240))
    _, dfof, _ = read_csv(out / "dfof.csv")
    np.testing.assert_allclose(dfof, dfof_traces(values, movie.dt, 4.0), rtol=1e-5, atol=1e-6)
    # outputs exist: refused without --overwrite, replaced with it; --json prints only JSON
    again = ["-q", "cells", movie.path, "-o", str(out), "--diameter", "10", "--baseline-seconds", "4"]
    assert main(again) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["cells", movie.path, "-o", str(out), "--diameter", "10", "--baseline-frames", "41",
                 "--overwrite", "--json", "--max-cells", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cells"] <= 5 and report["frames"] == 240 and set(report["outputs"]) >= {"labels", "dfof"}
    # footprints grown on means of 3 frames find the same cells
    assert main(["-q", "cells", movie.path, "-o", str(out), "--diameter", "10", "--time-bin", "3",
                 "--baseline-seconds", "4", "--overwrite"]) == 0
    binned = cells_from_labels(tifffile.imread(out / "cells.tif"))
    assert match_centers(true_centers(movie), binned.centers, 10 / movie.dx / 2)["f1"] >= 0.9


def test_cells_command_register_moving_movie(tmp_path):
    sm, _, _ = moving_two_photon_movie(240, (96, 96), n_cells=10, max_shift=5, seed=4, baseline=28.0,
                                       spike_rate=0.6)
    path = write_tiff(tmp_path / "moving.tif", sm.movie, sm.dt, sm.dx)
    out = tmp_path / "reg"
    assert main(["-q", "cells", path, "-o", str(out), "--register", "--diameter", "10",
                 "--baseline-seconds", "4"]) == 0
    found = cells_from_labels(tifffile.imread(out / "cells.tif")).centers
    truth = true_centers(sm)
    # registered frames line up with the template, which sits at some constant offset from frame 0
    near = np.hypot(*(found[:, None] - truth[None]).transpose(2, 0, 1)).argmin(axis=1)
    offset = np.median(found - truth[near], axis=0)
    assert np.abs(offset).max() <= 5 + 1
    score = match_centers(truth + offset, found, 10 / sm.dx / 2)
    assert score["f1"] >= 0.85, score


def test_cells_command_errors(movie, tmp_path, capsys):
    out = str(tmp_path / "x")
    npy = tmp_path / "m.npy"
    np.save(npy, np.asarray(movie.movie[:50]))
    cases = [
        (["cells", movie.path, "-o", out, "--nonrigid"], "--register"),
        (["cells", str(npy), "-o", out], "--diameter-px"),
        (["cells", movie.path, "-o", out, "--diameter", "10", "--diameter-px", "12"], "not both"),
        (["cells", movie.path, "-o", out, "--diameter", "500"], "does not fit"),
        (["cells", movie.path, "-o", out, "--diameter", "10", "--baseline-seconds", "100"], "longer than"),
        (["cells", movie.path, "-o", movie.path], "is a file"),
    ]
    for argv, words in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("imfun: error:") and words in err, (argv, err)
    assert main(["cells", "--help"]) == 0
    assert "RoiSet.zip" in capsys.readouterr().out


def test_cells_subprocess(movie, tmp_path):
    out = tmp_path / "sub"
    argv = ["cells", movie.path, "-o", str(out), "--diameter", "10", "--baseline-seconds", "4", "--json"]
    r = subprocess.run([sys.executable, "-m", "imfun", *argv], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["cells"] >= 9 and sorted(p.name for p in out.iterdir()) == OUTPUTS
