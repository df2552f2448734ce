"""Movies: decoded back with PyAV and compared with the frames written."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import tifffile

from imfun.errors import InvalidArgumentError, TargetExistsError, UnknownArgumentError, WriteError
from imfun.export import to_movie
from imfun.export.movie import colormap_lut, render_rgb
from imfun.fseq import FSeq_arr, open_seq

AXES = [(0.5, "s"), (1.0, "µm"), (1.0, "µm")]


def decode(path: Path) -> tuple[np.ndarray, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
    return frames, rate


def smooth_seq(n=12, shape=(32, 48), dtype=np.uint16):
    # smooth frames (gradients moving in time) survive h264 well
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    data = np.stack([(xx * 20 + yy * 10 + 37 * t) % 1000 for t in range(n)]).astype(dtype)
    return FSeq_arr(data, meta={"axes": AXES}), data


def test_lut_movie_pixels_count_and_size(tmp_path):
    fs, data = smooth_seq()
    out = fs.export_movie_anim(tmp_path / "m", fps=8, show_title=False, zoom=1, quality=10,
                               vmin=0, vmax=1000)
    assert out == tmp_path / "m.mp4" and out.exists()
    frames, rate = decode(out)
    assert frames.shape == (12, 32, 48, 3)
    assert rate == pytest.approx(8)
    expected = np.rint(np.clip(data / 1000 * 255, 0, 255))
    # lossless luma; the RGB <-> YUV round trip costs a few levels
    err = np.abs(frames.astype(float).mean(-1) - expected)
    assert np.median(err) <= 1.5 and err.max() <= 8


def test_default_fps_is_ten_over_dt_and_range_is_global(tmp_path):
    data = np.zeros((4, 16, 16), np.uint8)
    data[1] = 100  # frames 0 and 1 are the global minimum and maximum
    fs = FSeq_arr(data, meta={"axes": [(0.25, "s")]})
    frames, rate = decode(fs.export_movie_anim(tmp_path / "g", show_title=False, zoom=1, quality=10))
    assert rate == pytest.approx(40)
    assert frames[0].mean() < 5 and frames[1].mean() > 250


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf"), "fast"])
def test_bad_fps(fps, tmp_path):
    fs, _ = smooth_seq(n=3)
    with pytest.raises(InvalidArgumentError, match="fps"):
        fs.export_movie_anim(tmp_path / "x", fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_title_band_odd_size_and_zoom(tmp_path):
    fs = FSeq_arr(np.random.default_rng(0).random((5, 15, 21)), meta={"axes": AXES})
    frames, _ = decode(fs.export_movie_anim(tmp_path / "t.mkv", fps=5, zoom=3))
    # the frame (45 x 63) under a title band, padded to even sizes
    assert frames.shape[0] == 5
    assert frames.shape[2] == 64 and frames.shape[1] % 2 == 0 and frames.shape[1] > 45
    frames, _ = decode(fs.export_movie_anim(tmp_path / "auto.mp4", fps=5, show_title=False))
    assert frames.shape[1:3] == (15 * 19 + 1, 21 * 19 + 1)  # auto zoom to about 400 pixels


def test_markers(tmp_path):
    fs = FSeq_arr(np.full((6, 40, 40), 0.5), meta={"axes": AXES})
    frames, _ = decode(fs.export_movie_anim(tmp_path / "mk", fps=5, marker_idx=[1, 4], zoom=2,
                                            show_title=False, quality=10))
    red = (frames[..., 0].astype(int) - frames[..., 1]) > 100
    assert [bool(red[i].any()) for i in range(6)] == [False, True, False, False, True, False]
    ys, xs = np.nonzero(red[1])
    assert ys.max() < 40 and xs.min() > 40  # the top-right corner


def test_colour_frames(tmp_path):
    data = np.zeros((4, 32, 32, 3), np.uint8)
    data[:, :, :16] = (200, 40, 40)
    data[:, :, 16:] = (40, 40, 200)
    fs = FSeq_arr(data)
    frames, _ = decode(fs.export_movie_anim(tmp_path / "c", fps=5, show_title=False, zoom=1,
                                            quality=10, vmin=0, vmax=255))
    assert frames.shape == (4, 32, 32, 3)
    np.testing.assert_allclose(frames[:, 8:24, 2:12].mean((0, 1, 2)), (200, 40, 40), atol=8)
    np.testing.assert_allclose(frames[:, 8:24, 20:30].mean((0, 1, 2)), (40, 40, 200), atol=8)


def test_matplotlib_path(tmp_path):
    fs, _ = smooth_seq(n=4)
    out = fs.export_movie_anim(tmp_path / "f", fps=4, frame_on=True, fig_size=(3, 2), writer="mencoder",
                               marker_idx=[2])
    frames, _ = decode(out)
    assert frames.shape == (4, 200, 300, 3)
    out = fs.export_movie_anim(tmp_path / "i", fps=4, interpolation="nearest", fig_size=(2, 2))
    assert decode(out)[0].shape == (4, 200, 200, 3)
    with pytest.raises(UnknownArgumentError, match="imshow"):
        fs.export_movie_anim(tmp_path / "bad", fps=4, no_such_option=3)
    assert not (tmp_path / "bad.mp4").exists()


def test_writer_names_and_extensions(tmp_path):
    fs, _ = smooth_seq(n=3)
    for w in ("avconv", "ffmpeg", "mencoder"):
        assert fs.export_movie_anim(tmp_path / f"{w}.avi", fps=3, writer=w).exists()
    with pytest.raises(InvalidArgumentError, match="writer"):
        fs.export_movie_anim(tmp_path / "x", fps=3, writer="imagemagick")
    with pytest.raises(InvalidArgumentError, match="gif"):
        fs.export_movie_anim(tmp_path / "x.gif", fps=3)


def test_start_stop_and_pipeline(tmp_path):
    fs, data = smooth_seq()
    fs.fns = [lambda f: 1000 - f]
    frames, _ = decode(fs.export_movie_anim(tmp_path / "s", fps=5, start=3, stop=8, show_title=False,
                                            zoom=1, quality=10, vmin=0, vmax=1000))
    assert len(frames) == 5
    expected = np.rint((1000 - data[3:8]) / 1000 * 255)
    assert np.median(np.abs(frames.mean(-1) - expected)) <= 1.5


def test_interrupt_overwrite_and_source(tmp_path):
    fs, data = smooth_seq()
    calls = {"n": 0}

    def boom(f):
        calls["n"] += 1
        if calls["n"] > 6:
            raise KeyboardInterrupt
        return f

    bad = FSeq_arr(data, fns=[boom], meta={"axes": AXES})
    with pytest.raises(KeyboardInterrupt):
        bad.export_movie_anim(tmp_path / "k", fps=5, vmin=0, vmax=1000)
    assert list(tmp_path.iterdir()) == []
    fs.export_movie_anim(tmp_path / "k", fps=5)
    with pytest.raises(TargetExistsError):
        fs.export_movie_anim(tmp_path / "k", fps=5)
    fs.export_movie_anim(tmp_path / "k", fps=5, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.mp4"]
    # a movie opened as a sequence cannot be written onto itself
    with open_seq(str(tmp_path / "k.mp4")) as seq:
        with pytest.raises(WriteError, match="read from"):
            seq.export_movie_anim(tmp_path / "k.mp4", fps=5, overwrite=True)
        with pytest.raises(WriteError, match="read from"):
            to_movie([fs, seq], tmp_path / "k", overwrite=True)
    src = tmp_path / "src.tif"
    tifffile.imwrite(src, data)
    with open_seq(str(src)) as seq, pytest.raises(WriteError):
        seq.to_tiff(src, overwrite=True)


def test_to_movie_side_by_side(tmp_path):
    a, da = smooth_seq(n=6)
    b = FSeq_arr(np.zeros((4, 20, 30), np.float32))  # shorter and smaller: holds its last frame
    out = to_movie([a, b], tmp_path / "ab", fps=6, titles=["raw", "zeros"], zoom=1, gap=4,
                   quality=10, vmin=[0, 0], vmax=[1000, 1], show_time=False)
    frames, rate = decode(out)
    assert rate == pytest.approx(6)
    assert frames.shape[0] == 6
    band = frames.shape[1] - 32
    assert frames.shape[2] == 48 + 4 + 48 and band > 0
    left = frames[:, band:, :48].mean(-1)
    expected = np.rint(da / 1000 * 255)
    assert np.median(np.abs(left - expected)) <= 1.5
    assert frames[:, band + 8:band + 24, 55:80].max() < 10  # the zeros panel (centred in its cell)
    assert frames[:, 2:band - 2, :48].max() > 150  # the title text in the band


def test_to_movie_grid_and_errors(tmp_path):
    seqs = [FSeq_arr(np.random.default_rng(i).random((3, 10, 10))) for i in range(3)]
    frames, _ = decode(to_movie(seqs, tmp_path / "g.mp4", ncols=2, zoom=2, gap=2, show_time=False))
    assert frames.shape == (3, 2 * 20 + 2, 2 * 20 + 2, 3)
    with pytest.raises(InvalidArgumentError, match="titles"):
        to_movie(seqs, tmp_path / "x", titles=["a"])
    with pytest.raises(InvalidArgumentError, match="colormap"):
        to_movie(seqs, tmp_path / "x", cmap="no-such-map")
    assert not (tmp_path / "x.mp4").exists()


def test_to_movie_is_in_fseq():
    import imfun.fseq

    if not hasattr(imfun.fseq, "to_movie"):
        pytest.skip("imfun.fseq does not re-export to_movie yet")
    with pytest.raises(InvalidArgumentError, match="fps"):
        imfun.fseq.to_movie([FSeq_arr(np.zeros((2, 4, 4)))], "x", fps=0)


def test_render_rgb_lut():
    lut = colormap_lut("gray")
    rgb = render_rgb(np.array([[[0.0, 0.5, 1.0, 2.0, np.nan]]]), 0, 1, lut, zoom=2)
    assert rgb.shape == (1, 2, 10, 3)
    np.testing.assert_array_equal(rgb[0, 0, ::2, 0], [0, 128, 255, 255, 0])
