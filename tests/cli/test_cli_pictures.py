"""Pictures of the command line: absolute frame numbers, robust display ranges, real-time
movies, figures with scale and colour bars — checked on files the tests write."""

import csv
import re

import av
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from imfun.cli import main

DT, DX = 0.1, 0.5


def write_tif(path, x, dt=DT, dx=DX, axes="TYX"):
    kwargs = {"resolution": (1 / dx, 1 / dx)} if dx else {}
    tifffile.imwrite(path, x, imagej=True, metadata={"finterval": dt, "unit": "um", "axes": axes}, **kwargs)
    return path


@pytest.fixture
def movie(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(1000, 60, (40, 32, 48)).clip(0).astype(np.uint16)
    x[7, 3, 3] = 65535  # one hot pixel
    return write_tif(tmp_path / "movie.tif", x), x


def decode(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(s)])
        return frames, float(s.average_rate)


def test_frames_names_and_titles_are_source_frames(movie, tmp_path):
    path, _ = movie
    out = tmp_path / "f"
    assert main(["-q", "frames", str(path), "-o", str(out), "--frames", "5::10", "--format", "svg"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["frame-005.svg", "frame-015.svg", "frame-025.svg",
                                                     "frame-035.svg"]
    assert "frame 15, 1.500 s" in (out / "frame-015.svg").read_text(encoding="utf-8")


def test_frames_with_a_hot_pixel_are_not_black(movie, tmp_path):
    path, _ = movie
    out = tmp_path / "png"
    assert main(["-q", "frames", str(path), "-o", str(out), "--frames", "7", "--no-title",
                 "--no-scalebar", "--figsize", "1", "1"]) == 0
    grey = non_white(out / "frame-007.png").mean(-1)
    assert 90 < np.median(grey) < 165  # min-max scaling to the hot pixel gives about 3
    assert main(["-q", "frames", str(path), "-o", str(out), "--frames", "7", "--no-title", "--overwrite",
                 "--no-scalebar", "--figsize", "1", "1", "--percentiles", "0", "100"]) == 0
    assert np.median(non_white(out / "frame-007.png")) < 10


def test_two_channel_tiff_to_png(tmp_path):
    # issue 11: a TCYX TIFF sent to a PNG writer crashed inside matplotlib
    x = np.zeros((3, 2, 10, 12), np.uint16)
    x[:, 0, :, :6] = 50
    x[:, 1, :, 6:] = 3000
    path = write_tif(tmp_path / "tcyx.tif", x, dx=None, axes="TCYX")
    out = tmp_path / "two"
    assert main(["-q", "frames", str(path), "-o", str(out), "--no-title", "--figsize", "1.2", "1"]) == 0
    rgb = iio.imread(out / "frame-000.png")[..., :3].astype(int)
    np.testing.assert_allclose(rgb[50, 20], (0, 255, 0), atol=3)  # channel 0: green
    np.testing.assert_allclose(rgb[50, 100], (255, 0, 255), atol=3)  # channel 1: magenta
    assert main(["-q", "project", str(path), "-o", str(tmp_path / "p.png")]) == 0


def non_white(png):
    img = iio.imread(png)[..., :3]
    return img[~(img == 255).all(-1)]


def test_project_png_is_a_figure_with_bars(movie, tmp_path):
    path, x = movie
    png = tmp_path / "max.png"
    assert main(["-q", "project", str(path), "--fn", "mean", "-o", str(png), "--dpi", "80"]) == 0
    assert iio.imread(png).shape[:2] == (int(80 * (4.2 * 32 / 48 + 0.6)), 400)  # fitted to the image
    assert np.median(non_white(png).mean(-1)) > 60  # the image in its percentiles, not black
    # without a pixel size there is no scale bar: the pictures differ
    plain = write_tif(tmp_path / "plain.tif", x, dx=None)
    png2 = tmp_path / "plain.png"
    assert main(["-q", "project", str(plain), "--fn", "mean", "-o", str(png2), "--dpi", "80"]) == 0
    assert np.abs(iio.imread(png).astype(int) - iio.imread(png2)).sum() > 0
    assert main(["-q", "project", str(path), "-o", str(tmp_path / "m.svg"), "--frames", "10:20"]) == 0
    assert "mean of frames 10-19 (1-1.9 s)" in (tmp_path / "m.svg").read_text(encoding="utf-8")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], float)


def test_traces_columns_are_absolute_and_plot(movie, tmp_path):
    path, x = movie
    lab = np.zeros((32, 48), np.uint8)
    lab[2:8, 3:10] = 1
    tifffile.imwrite(tmp_path / "rois.tif", lab)
    out, plot = tmp_path / "t.csv", tmp_path / "t.png"
    assert main(["-q", "traces", str(path), "--rois", str(tmp_path / "rois.tif"), "-o", str(out),
                 "--frames", "10:20", "--plot", str(plot), "--figsize", "5", "2", "--dpi", "50"]) == 0
    header, table = read_csv(out)
    assert header == ["frame", "time_s", "1"]
    np.testing.assert_array_equal(table[:, 0], np.arange(10, 20))
    np.testing.assert_allclose(table[:, 1], np.arange(10, 20) * DT)
    np.testing.assert_allclose(table[:, 2], x[10:20, 2:8, 3:10].mean((1, 2)), rtol=1e-6)
    assert iio.imread(plot).shape[:2] == (100, 250)


def test_movie_real_time_speed_and_titles(movie, tmp_path):
    path, _ = movie
    out = tmp_path / "m.mp4"
    assert main(["movie", str(path), "-o", str(out), "--frames", "10:20"]) == 0
    frames, rate = decode(out)
    assert rate == pytest.approx(1 / DT) and len(frames) == 10
    assert np.median(frames) > 60  # robust limits: the hot pixel does not darken the movie
    fast = tmp_path / "fast.mp4"
    assert main(["-q", "movie", str(path), "-o", str(fast), "--speed", "2x"]) == 0
    assert decode(fast)[1] == pytest.approx(2 / DT)
    gif = tmp_path / "m.gif"
    assert main(["-q", "movie", str(path), str(path), "-o", str(gif), "--frames", "0:4"]) == 0
    frames, rate = decode(gif)
    assert gif.read_bytes()[:3] == b"GIF" and rate == pytest.approx(1 / DT) and len(frames) == 4


def test_movie_report_line(movie, tmp_path, capsys):
    path, _ = movie
    assert main(["movie", str(path), "-o", str(tmp_path / "m.mp4"), "--frames", "0:5", "--speed", "3"]) == 0
    assert re.search(r"5 frames at 30 fps \(3× speed\)", capsys.readouterr().out)


def test_movie_lengths_must_match_unless_pad(movie, tmp_path, capsys):
    path, x = movie
    short = write_tif(tmp_path / "short.tif", x[:30])
    out = tmp_path / "two.mp4"
    assert main(["movie", str(path), str(short), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "40, 30 frames" in err and "--pad" in err and "pad=True" not in err
    assert main(["-q", "movie", str(path), str(short), "-o", str(out), "--pad"]) == 0
    assert len(decode(out)[0]) == 40


def test_movie_markers_are_source_frames(tmp_path):
    x = np.full((20, 40, 40), 100, np.uint16)
    path = write_tif(tmp_path / "flat.tif", x)
    out = tmp_path / "mk.mp4"
    assert main(["-q", "movie", str(path), "-o", str(out), "--frames", "10:20", "--marker", "12,15",
                 "--zoom", "2", "--scalebar"]) == 0
    frames, _ = decode(out)
    assert frames.shape[2] == 80 and (frames[:, -8:, -30:].mean(-1) > 200).any()  # the scale bar
    red = ((frames[..., 0].astype(int) - frames[..., 1]) > 100).any(axis=(1, 2))
    assert np.flatnonzero(red).tolist() == [2, 5]


def test_dfof_movie_is_diverging_with_a_colour_bar(movie, tmp_path):
    path, _ = movie
    out = tmp_path / "d.mp4"
    assert main(["-q", "movie", str(path), "-o", str(out), "--dfof", "1", "--frames", "0:12"]) == 0
    frames, _ = decode(out)
    colourful = np.abs(frames[..., 0].astype(int) - frames[..., 2]).mean()
    assert colourful > 5  # RdBu_r: red and blue, not grey
    assert frames.shape[2] > 400  # the panel and its colour bar


@pytest.mark.parametrize("command", [["convert", "{src}", "{out}"],
                                     ["dfof", "{src}", "-o", "{out}", "--baseline-seconds", "1"]])
def test_movie_outputs_of_convert_and_dfof_play_in_real_time(movie, tmp_path, command):
    path, _ = movie
    out = tmp_path / "out.mp4"
    assert main(["-q", *(a.format(src=path, out=out) for a in command)]) == 0
    frames, rate = decode(out)
    assert rate == pytest.approx(1 / DT) and len(frames) == 40
