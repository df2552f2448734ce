"""export_img: every format, names, global range, titles, folder creation, safety."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imfun.errors import InvalidArgumentError, TargetExistsError, UnknownArgumentError
from imfun.fseq import FSeq_arr

HEADERS = {"png": b"\x89PNG", "svg": b"<?xml", "eps": b"%!PS", "pdf": b"%PDF", "bmp": b"BM",
           "tif": (b"II*\x00", b"MM\x00*")}


def seq(n=4):
    data = np.stack([np.full((12, 16), 10.0 * (i + 1)) for i in range(n)])
    return FSeq_arr(data, meta={"axes": [(0.5, "s"), (1, "µm"), (1, "µm")]})


@pytest.mark.parametrize("fmt", ["png", ".svg", "eps", "PDF", ".bmp", "tif"])
def test_formats(fmt, tmp_path):
    fs = seq(3)
    names = fs.export_img(tmp_path / "out" / "sub", format=fmt, figsize=(2, 2))
    ext = fmt.lower().lstrip(".")
    assert [n.rsplit("/", 1)[1] for n in names] == [f"fseq-export-{i:03d}.{ext}" for i in range(3)]
    for name in names:
        head = Path(name).read_bytes()[:8]
        assert head.startswith(HEADERS[ext])
    if ext in ("png", "bmp", "tif"):
        with Image.open(names[0]) as im:
            assert im.size == (200, 200)
    assert sorted(p.name for p in (tmp_path / "out" / "sub").iterdir()) == sorted(
        n.rsplit("/", 1)[1] for n in names)


def test_global_range_title_and_range_of_frames(tmp_path):
    fs = seq(4)  # frames are constant: 10, 20, 30, 40
    names = fs.export_img(tmp_path, base="f", start=0, stop=4, show_title=False, figsize=(1, 1))
    centres = []
    for name in names:
        with Image.open(name) as im:
            centres.append(np.asarray(im.convert("L"))[50, 50])
    assert centres[0] < 5 and centres[-1] > 250 and centres[0] < centres[1] < centres[2] < centres[3]
    # explicit vmin/vmax override the global range
    names = fs.export_img(tmp_path / "v", start=1, stop=3, vmin=0, vmax=20, show_title=False, figsize=(1, 1))
    assert [n.rsplit("/", 1)[1] for n in names] == ["fseq-export-001.png", "fseq-export-002.png"]
    with Image.open(names[0]) as im:
        assert np.asarray(im.convert("L"))[50, 50] > 250
    names = fs.export_img(tmp_path / "t", format="svg", stop=2)
    assert "frame 1, 0.500 s" in Path(names[1]).read_text(encoding="utf-8")


def test_colour_and_imshow_kwargs(tmp_path):
    data = np.zeros((2, 10, 10, 3), np.uint8)
    data[..., 0] = 255
    names = FSeq_arr(data).export_img(tmp_path, show_title=False, figsize=(1, 1), vmin=0, vmax=255)
    with Image.open(names[0]) as im:
        assert tuple(np.asarray(im.convert("RGB"))[50, 50]) == (255, 0, 0)
    assert len(seq(2).export_img(tmp_path / "k", interpolation="nearest", cmap="magma")) == 2
    with pytest.raises(UnknownArgumentError, match="imshow"):
        seq(2).export_img(tmp_path / "bad", no_such_thing=1)


def test_errors_and_overwrite(tmp_path):
    fs = seq(3)
    with pytest.raises(InvalidArgumentError, match="png"):
        fs.export_img(tmp_path, format="gif")
    with pytest.raises(InvalidArgumentError):
        fs.export_img(tmp_path, start=2, stop=2)
    fs.export_img(tmp_path, stop=2)
    with pytest.raises(TargetExistsError):
        fs.export_img(tmp_path, stop=3)
    # nothing was written by the refused call (frame 2 is checked with the others first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fseq-export-000.png", "fseq-export-001.png"]
    assert len(fs.export_img(tmp_path, overwrite=True)) == 3


def test_failure_midway_leaves_nothing(tmp_path):
    calls = {"n": 0}

    def boom(frame):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("broken pipeline")
        return frame

    fs = FSeq_arr(np.zeros((6, 8, 8)), fns=[boom])
    with pytest.raises(RuntimeError):
        fs.export_img(tmp_path, vmin=0, vmax=1)
    assert list(tmp_path.iterdir()) == []


def test_names_and_titles_are_source_frames(tmp_path):
    fs = FSeq_arr(np.random.default_rng(0).random((40, 8, 8)), meta={"axes": [(0.1, "s")]})
    names = fs[5::10].export_img(tmp_path, format="svg")
    assert [Path(n).name for n in names] == [f"fseq-export-{k:03d}.svg" for k in (5, 15, 25, 35)]
    assert "frame 15, 1.500 s" in Path(names[1]).read_text(encoding="utf-8")
    names = fs.export_img(tmp_path / "f", fslice=np.array([3, 1200 % 40]), base="x-")
    assert [Path(n).name for n in names] == ["x-003.png", "x-000.png"]


def test_one_hot_pixel_keeps_the_picture_visible(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(1000, 50, (3, 40, 40))
    data[1, 3, 3] = 1e7  # min-max scaling would make everything black
    names = FSeq_arr(data).export_img(tmp_path, show_title=False, figsize=(1, 1))
    with Image.open(names[0]) as im:
        grey = np.asarray(im.convert("L"))
    assert 90 < np.median(grey) < 165
    lo, hi = np.percentile(data, [0.5, 99.5])
    names = FSeq_arr(data).export_img(tmp_path / "p", show_title=False, figsize=(1, 1), percentiles=(0, 100))
    with Image.open(names[0]) as im:
        assert np.median(np.asarray(im.convert("L"))) < 5 < lo < hi


def test_two_channel_frames_are_green_magenta(tmp_path):
    # the crash of issue 11: two channels used to reach imshow and fail ("Third dimension must be 3 or 4")
    data = np.zeros((2, 10, 10, 2), np.uint16)
    data[..., 0] = np.arange(10)[:, None] * 3  # channel 0: small values
    data[..., 1] = 40000  # channel 1: a flat, large value
    names = FSeq_arr(data).export_img(tmp_path, show_title=False, figsize=(1, 1))
    with Image.open(names[0]) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    bottom = rgb[92, 50]  # channel 0 at its top (green) over channel 1 (magenta, flat: shown at 0)
    assert bottom[1] > 240 and bottom[0] < 15 and bottom[2] < 15


def test_diverging_colour_bar_and_scale_bar(tmp_path):
    data = np.linspace(-1, 2, 2 * 20 * 20).reshape(2, 20, 20)
    fs = FSeq_arr(data, meta={"axes": [(0.5, "s"), (0.5, "µm"), (0.5, "µm")]})
    plain = fs.export_img(tmp_path / "a", show_title=False, colorbar=False, scalebar=False, figsize=(2, 2))
    decorated = fs.export_img(tmp_path / "b", show_title=False, figsize=(2, 2))
    with Image.open(plain[0]) as a, Image.open(decorated[0]) as b:
        a, b = np.asarray(a.convert("RGB")).astype(int), np.asarray(b.convert("RGB")).astype(int)
    assert a.shape == b.shape and np.abs(a - b).sum() > 0
    assert a[100, 100, 0] < a[100, 100, 2]  # frame 0 is about -0.25 there: blue in RdBu_r (-2..2)
    with Image.open(plain[1]) as im:
        assert np.subtract(*np.asarray(im.convert("RGB"))[100, 100, [0, 2]].astype(int)) > 100  # 1.25: red
    with pytest.raises(InvalidArgumentError, match="µm"):
        FSeq_arr(data).export_img(tmp_path / "c", scalebar=True)


@pytest.mark.parametrize("budget", [None, "64 KiB"])  # numpy itself, and the engine's radix select
def test_robust_limits_equal_numpy(budget):
    import imfun
    from imfun.plotting import robust_limits

    rng = np.random.default_rng(3)
    grey = rng.integers(0, 4000, (30, 24, 20)).astype(np.uint16)
    colour = rng.normal(0, 1, (30, 24, 20, 3)).astype(np.float32)
    with imfun.config.budget(budget or "256 MiB"):
        lo, hi = robust_limits(FSeq_arr(grey), (0.5, 99.5))
        np.testing.assert_allclose([lo[0], hi[0]], np.percentile(grey, [0.5, 99.5]))
        lo, hi = robust_limits(FSeq_arr(colour), (2, 98), fslice=(3, 20))
        ref = np.percentile(colour[3:20].reshape(-1, 3), [2, 98], axis=0)
        np.testing.assert_allclose(np.stack([lo, hi]), ref, rtol=1e-6)
    flat = robust_limits(FSeq_arr(np.full((3, 4, 4), 7.0)))
    assert (float(flat[0][0]), float(flat[1][0])) == (7.0, 8.0)
    with pytest.raises(InvalidArgumentError, match="LOW < HIGH"):
        robust_limits(FSeq_arr(grey), (50, 10))


def test_long_selections_set_limits_from_spaced_frames():
    from imfun.plotting import LIMIT_FRAMES, limit_frames, robust_limits

    data = np.arange(2 * LIMIT_FRAMES, dtype=float)[:, None, None] * np.ones((1, 2, 2))
    fs = FSeq_arr(data)
    frames = limit_frames(fs)
    assert len(frames) == LIMIT_FRAMES and frames[0] == 0 and frames[-1] == 2 * LIMIT_FRAMES - 1
    lo, hi = robust_limits(fs, (10, 90))
    np.testing.assert_allclose([lo[0], hi[0]], np.percentile(data[frames], [10, 90]))


def test_frame_numbers_through_derived_sequences():
    from imfun.plotting import frame_numbers

    fs = FSeq_arr(np.random.default_rng(0).random((60, 8, 8)), meta={"axes": [(0.1, "s")]})
    sub = fs[10:50:2]
    assert frame_numbers(sub)[:3].tolist() == [10, 12, 14]
    assert frame_numbers(sub.dfof(baseline_frames=5))[:3].tolist() == [10, 12, 14]
    assert frame_numbers(sub.bin(2)[3:5]).tolist() == [16, 18]
    assert frame_numbers(sub.bin_time(2)).tolist() == list(range(10))  # new frames: their own numbers
