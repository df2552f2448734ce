"""The imfun command line, in process: main([...]) on files the tests write."""

import csv
import json

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from imfun.analysis.dfof import dfof_array
from imfun.cli import COMMANDS, main
from imfun.fseq import open_seq

DT, DX = 0.1, 0.5


@pytest.fixture
def movie(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.poisson(300, (24, 32, 48)) + 100 * (np.arange(24) % 5 == 0)[:, None, None]).astype(np.uint16)
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, x, imagej=True, resolution=(1 / DX, 1 / DX),
                     metadata={"finterval": DT, "unit": "um", "axes": "TYX"})
    return path, x


@pytest.fixture
def label_file(tmp_path):
    lab = np.zeros((32, 48), np.uint16)
    lab[2:8, 3:10] = 1
    lab[15:25, 30:40] = 3
    path = tmp_path / "rois.tif"
    tifffile.imwrite(path, lab)
    return path, lab


def test_info_text_and_json(movie, capsys):
    path, _ = movie
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "frames:      24" in out and "32 x 48" in out and "uint16" in out
    assert "t: 0.1 s" in out and "0.5 µm" in out and "duration 2.4 s" in out
    assert main(["info", str(path), str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert len(info) == 2
    assert info[0]["frames"] == 24 and info[0]["frame_shape"] == [32, 48] and info[0]["dtype"] == "uint16"
    assert info[0]["axes"]["t"] == {"scale": 0.1, "unit": "s"}
    assert info[0]["axes"]["x"]["unit"] == "µm" and info[0]["format"] == "tiff"
    assert info[0]["size_bytes"] == path.stat().st_size and info[0]["time"]["last"] == pytest.approx(2.3)


def test_failure_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.tif")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("imfun: error:") and "missing.tif" in err and "\n" not in err
    (tmp_path / "a.xyz").write_text("hello")
    assert main(["project", str(tmp_path / "a.xyz"), "-o", str(tmp_path / "p.npy")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_debug_shows_traceback(tmp_path, capsys):
    assert main(["--debug", "project", str(tmp_path / "missing.tif"), "-o", str(tmp_path / "p.npy")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "imfun: error:" in err


def test_bad_usage_exit_2(movie, tmp_path, capsys):
    path, _ = movie
    assert main([]) == 2
    assert main(["project", str(path)]) == 2  # -o missing
    assert main(["project", str(path), "-o", "x.npy", "--frames", "a:b"]) == 2
    assert main(["project", str(path), "-o", "x.npy", "--fn", "p101"]) == 2
    assert main(["project", str(path), "-o", "x.npy", "--crop", "1:2"]) == 2
    assert main(["nonsense"]) == 2
    err = capsys.readouterr().err
    assert "START:STOP" in err and "Y0:Y1,X0:X1" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_examples(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"imfun {command}" in out


@pytest.mark.parametrize(("fn", "ref"), [("mean", lambda a: a.mean(0)), ("max", lambda a: a.max(0)),
                                         ("min", lambda a: a.min(0)), ("std", lambda a: a.std(0)),
                                         ("median", lambda a: np.median(a, 0)),
                                         ("p90", lambda a: np.percentile(a, 90, 0))])
def test_project_npy(movie, tmp_path, fn, ref):
    path, x = movie
    out = tmp_path / f"{fn}.npy"
    assert main(["-q", "project", str(path), "--fn", fn, "-o", str(out), "--frames", "2:20:3",
                 "--crop", "4:30,10:"]) == 0
    np.testing.assert_allclose(np.load(out), ref(x[2:20:3, 4:30, 10:].astype(float)), rtol=1e-9)


def test_project_png_tif_and_overwrite(movie, tmp_path, capsys):
    path, x = movie
    png, tif = tmp_path / "m.png", tmp_path / "m.tif"
    assert main(["project", str(path), "-o", str(png), "--cmap", "magma", "--figsize", "3", "2",
                 "--dpi", "50"]) == 0
    assert iio.imread(png).shape[:2] == (100, 150)
    assert main(["project", str(path), "--fn", "max", "-o", str(tif)]) == 0
    np.testing.assert_array_equal(tifffile.imread(tif), x.max(0).astype(np.float32))
    assert main(["project", str(path), "-o", str(png)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["project", str(path), "-o", str(png), "--overwrite"]) == 0
    assert main(["project", str(path), "-o", str(path), "--overwrite"]) == 1  # never over the source


@pytest.mark.parametrize("ending", [".h5", ".ome.zarr", ".npy", ".tif", ".ome.tif"])
def test_convert_keeps_data_and_axes(movie, tmp_path, ending):
    path, x = movie
    out = tmp_path / f"out{ending}"
    assert main(["-q", "convert", str(path), str(out), "--frames", "4:"]) == 0
    with open_seq(out) as fs:
        np.testing.assert_array_equal(np.asarray(fs), x[4:])
        if ending != ".npy":  # NPY holds no axes
            assert fs.meta["axes"][0].scale == pytest.approx(DT) and fs.meta["axes"][0].unit == "s"
            assert fs.meta["axes"][2].scale == pytest.approx(DX) and fs.meta["axes"][2].unit == "µm"


def test_convert_bin_and_dtype(movie, tmp_path):
    path, x = movie
    out = tmp_path / "b.h5"
    assert main(["-q", "convert", str(path), str(out), "--bin", "2", "--bin-time", "3",
                 "--dtype", "float32"]) == 0
    with h5py.File(out, "r") as f:
        data = f["data"][()]
    ref = x.astype(float).reshape(24, 16, 2, 24, 2).mean((2, 4)).reshape(8, 3, 16, 24).mean(1)
    np.testing.assert_allclose(data, ref, rtol=1e-6)
    with open_seq(out) as fs:
        assert fs.meta["axes"][1].scale == pytest.approx(2 * DX)
        assert fs.meta["axes"][0].scale == pytest.approx(3 * DT)
    assert main(["convert", str(path), str(tmp_path / "x.unknown")]) == 1


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], float)


def test_traces_csv_dfof_and_plot(movie, label_file, tmp_path):
    path, x = movie
    rois, lab = label_file
    out = tmp_path / "traces.csv"
    assert main(["-q", "traces", str(path), "--rois", str(rois), "-o", str(out)]) == 0
    header, table = read_csv(out)
    assert header == ["frame", "time_s", "1", "3"]
    np.testing.assert_array_equal(table[:, 0], np.arange(24))
    np.testing.assert_allclose(table[:, 1], np.arange(24) * DT, atol=1e-9)
    ref = np.array([x[:, lab == v].mean(1) for v in (1, 3)])
    np.testing.assert_allclose(table[:, 2:].T, ref, rtol=1e-6)
    plot = tmp_path / "traces.png"
    assert main(["-q", "traces", str(path), "--rois", str(rois), "-o", str(out), "--overwrite", "--dfof",
                 "--baseline-seconds", "0.5", "--percentile", "20", "--plot", str(plot)]) == 0
    _, table = read_csv(out)
    np.testing.assert_allclose(table[:, 2:].T, dfof_array(ref.T, 5, "percentile", 20).T, rtol=1e-5, atol=1e-7)
    assert iio.imread(plot).ndim == 3


def test_traces_errors(movie, label_file, tmp_path, capsys):
    path, _ = movie
    rois, _ = label_file
    out = str(tmp_path / "t.csv")
    assert main(["traces", str(path), "--rois", str(rois), "-o", out, "--dfof"]) == 1
    assert "--baseline-seconds" in capsys.readouterr().err
    assert main(["traces", str(path), "--rois", str(tmp_path / "none.tif"), "-o", out]) == 1
    np.save(tmp_path / "small.npy", np.ones((4, 4), int))
    assert main(["traces", str(path), "--rois", str(tmp_path / "small.npy"), "-o", out]) == 1
    assert "(4, 4)" in capsys.readouterr().err


def test_png_glob_traces_with_dt_and_mask(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (6, 16, 20)).astype(np.uint8)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, f in enumerate(frames):
        iio.imwrite(folder / f"f{i:02d}.png", f)
    mask = np.zeros((16, 20), np.uint8)
    mask[1:4, 1:4] = mask[10:14, 12:18] = 255
    iio.imwrite(tmp_path / "mask.png", mask)
    out = tmp_path / "t.csv"
    assert main(["-q", "traces", str(folder / "*.png"), "--rois", str(tmp_path / "mask.png"), "--components",
                 "--dt", "0.5", "-o", str(out)]) == 0
    header, table = read_csv(out)
    assert header == ["frame", "time_s", "1", "2"]
    np.testing.assert_allclose(table[:, 1], np.arange(6) * 0.5)
    np.testing.assert_allclose(table[:, 2], frames[:, 1:4, 1:4].mean((1, 2)), rtol=1e-6)
    # without a frame interval there is no time column
    assert main(["-q", "traces", str(folder / "*.png"), "--rois", str(tmp_path / "mask.png"), "-o",
                 str(out), "--overwrite"]) == 0
    assert read_csv(out)[0] == ["frame", "1"]


def test_dfof_command_equals_numpy(movie, tmp_path):
    path, x = movie
    out = tmp_path / "dfof.tif"
    assert main(["-q", "dfof", str(path), "-o", str(out), "--baseline-seconds", "0.7", "--percentile", "25",
                 "--method", "percentile", "--mode", "nearest", "--budget", "64 KiB"]) == 0
    got = tifffile.imread(out)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, dfof_array(x, 7, "percentile", 25, "nearest"), rtol=1e-5, atol=1e-7)
    with open_seq(out) as fs:
        assert fs.meta["axes"][0].scale == pytest.approx(DT)
    assert main(["dfof", str(path), "-o", str(tmp_path / "x.tif")]) == 1  # no window


def test_frames_command(movie, tmp_path):
    path, _ = movie
    out = tmp_path / "frames"
    assert main(["-q", "frames", str(path), "-o", str(out), "--frames", "0:3", "--base", "f-"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["f-000.png", "f-001.png", "f-002.png"]


def test_movie_side_by_side(movie, tmp_path):
    av = pytest.importorskip("av")
    path, _ = movie
    out = tmp_path / "two.mp4"
    assert main(["-q", "movie", str(path), str(path), "-o", str(out), "--fps", "10", "--marker", "1,5:7",
                 "--frames", "0:8", "--dfof", "0.5"]) == 0
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        n = sum(1 for _ in c.decode(stream))
        assert n == 8 and stream.codec_context.width > 2 * 48
