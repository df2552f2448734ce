"""run_cli_tour: the command-line part of `make demo`, on a small synthetic movie."""

import csv

import numpy as np

from imfun import synthdata
from imfun.cli.demo import find_cells, run_cli_tour


def test_cli_tour(tmp_path, capsys):
    sm = synthdata.two_photon_movie(n_frames=40, shape=(48, 48), n_cells=4, seed=1)
    tif = tmp_path / "m.tif"
    synthdata.write_tiff(tif, sm.movie, sm.dt, sm.dx)
    outputs = run_cli_tour(tif, tmp_path / "out", labels=sm.labels, baseline_seconds=1.0)
    names = [p.name for p in outputs]
    assert names == ["std.npy", "max.png", "rois.tif", "traces.csv", "traces-dfof.png", "dfof.tif",
                     "raw-and-dfof.mp4", "binned.ome.zarr"]
    assert all(p.exists() for p in outputs)
    out = capsys.readouterr().out
    assert out.count("$ imfun ") == 8 and "$ imfun traces" in out
    with open(tmp_path / "out" / "traces.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:2] == ["frame", "time_s"] and len(header) == 2 + len(np.unique(sm.labels[sm.labels > 0]))


def test_find_cells():
    img = np.zeros((40, 40))
    img[5:10, 5:10] = 10
    img[25:32, 20:30] = 8
    lab = find_cells(img, min_pixels=4)
    assert lab.max() == 2 and lab[7, 7] > 0 and lab[28, 25] > 0 and lab[0, 0] == 0
