"""Movies: decoded back with PyAV and compared with the frames written."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from imfun.errors import (
    InvalidArgumentError,
    ShapeMismatchError,
    TargetExistsError,
    UnknownArgumentError,
    WriteError,
)
from imfun.export import to_movie
from imfun.export.movie import colormap_lut
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


def test_default_fps_is_real_time_and_range_is_robust(tmp_path):
    data = np.zeros((4, 16, 16), np.uint8)
    data[1] = 100  # frames 0 and 1 are the minimum and maximum
    fs = FSeq_arr(data, meta={"axes": [(0.25, "s")]})
    frames, rate = decode(fs.export_movie_anim(tmp_path / "g", show_title=False, zoom=1, quality=10))
    assert rate == pytest.approx(4)  # 1 / dt: real time
    assert frames[0].mean() < 5 and frames[1].mean() > 250


def test_fast_recording_drops_frames_to_stay_real_time(tmp_path):
    fs, _ = smooth_seq(n=40)
    fs.meta["axes"][0] = (0.005, "s")  # 200 Hz
    frames, rate = decode(fs.export_movie_anim(tmp_path / "fast", show_title=False, zoom=1))
    assert rate == pytest.approx(50) and len(frames) == 10  # every 4th frame, still real time
    frames, rate = decode(fs.export_movie_anim(tmp_path / "slow.mp4", speed="0.1x", show_title=False,
                                               zoom=1))
    assert rate == pytest.approx(20) and len(frames) == 40
    # without a frame interval: 25 fps
    frames, rate = decode(FSeq_arr(np.zeros((3, 8, 8))).export_movie_anim(tmp_path / "u", zoom=1))
    assert rate == pytest.approx(25)


def test_timing_titles_and_markers_are_absolute():
    from imfun.export.movie import movie_timing, shown_markers, titles_for

    fs = FSeq_arr(np.zeros((100, 4, 4)), meta={"axes": [(0.05, "s")]})
    sub = fs[5::10]  # source frames 5, 15, ..., 95; dt 0.5 s
    timing = movie_timing(sub, speed="2x")
    assert timing.fps == pytest.approx(4) and timing.step == 1
    titles = titles_for(sub, np.arange(len(sub)), timing)
    assert titles[1] == "frame 15, 0.750 s · 2× speed"
    assert titles_for(sub, np.array([0]), movie_timing(sub))[0] == "frame 5, 0.250 s"
    assert movie_timing(sub, fps=20).note() == " · 10× speed"
    assert movie_timing(FSeq_arr(np.zeros((500, 2, 2)), meta={"axes": [(0.001, "s")]}), fmt="gif").step == 20
    np.testing.assert_array_equal(shown_markers(np.arange(2, 12), 4, {3, 11}), [True, False, True])
    with pytest.raises(InvalidArgumentError, match="speed"):
        movie_timing(sub, speed="fast")
    with pytest.raises(InvalidArgumentError, match="either"):
        movie_timing(sub, fps=3, speed=2)


def test_one_hot_pixel_does_not_blacken_the_movie(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(1000, 50, (6, 32, 32)).astype(np.float32)
    data[2, 5, 5] = 1e6
    fs = FSeq_arr(data, meta={"axes": AXES})
    frames, _ = decode(fs.export_movie_anim(tmp_path / "hot", show_title=False, zoom=1, quality=10))
    assert 90 < np.median(frames) < 165  # min-max scaling would give a median of 0


def test_gif(tmp_path):
    fs, data = smooth_seq(n=6)
    out = fs.export_movie_anim(tmp_path / "slides.gif", show_title=False, zoom=1, vmin=0, vmax=1000)
    frames, rate = decode(out)
    assert out.read_bytes()[:3] == b"GIF" and rate == pytest.approx(2) and frames.shape == (6, 32, 48, 3)
    expected = np.rint(data / 1000 * 255)
    assert np.median(np.abs(frames.mean(-1) - expected)) <= 3


def test_two_channels_are_green_magenta_each_scaled(tmp_path):
    data = np.zeros((3, 16, 16, 2), np.float32)
    data[..., :8, 0] = 10.0  # channel 0 (green) on the left, small values
    data[..., 8:, 1] = 5000.0  # channel 1 (magenta) on the right, large values
    fs = FSeq_arr(data)
    frames, _ = decode(fs.export_movie_anim(tmp_path / "two", show_title=False, zoom=1, quality=10))
    left, right = frames[:, 4:12, 1:6].mean((0, 1, 2)), frames[:, 4:12, 10:15].mean((0, 1, 2))
    np.testing.assert_allclose(left, (0, 255, 0), atol=12)
    np.testing.assert_allclose(right, (255, 0, 255), atol=12)


def test_dfof_gets_a_diverging_map_and_colour_bar(tmp_path):
    from imfun.plotting import display_for

    rng = np.random.default_rng(1)
    raw = FSeq_arr(rng.poisson(100, (20, 16, 16)).astype(np.float32), meta={"axes": AXES})
    d = raw.dfof(baseline_frames=5)
    shown = display_for(d)
    assert shown.kind == "diverging" and shown.cmap == "RdBu_r" and shown.vmin[0] == -shown.vmax[0]
    with_bar, _ = decode(d.export_movie_anim(tmp_path / "d", zoom=1, show_title=False))
    without, _ = decode(d.export_movie_anim(tmp_path / "n", zoom=1, show_title=False, colorbar=False))
    assert with_bar.shape[2] > without.shape[2] == 16
    assert with_bar[0, :, 18:24].std(axis=0).mean() > 20  # a colour gradient down the bar


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
        fs.export_movie_anim(tmp_path / "x.webm", fps=3)


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
    b = FSeq_arr(np.ones((4, 20, 30), np.float32))  # shorter and smaller: black after its end
    with pytest.raises(ShapeMismatchError, match="pad=True"):
        to_movie([a, b], tmp_path / "ab", fps=6)
    out = to_movie([a, b], tmp_path / "ab", fps=6, titles=["raw", "ones"], zoom=1, gap=4,
                   quality=10, vmin=[0, 0], vmax=[1000, 1], show_time=False, pad=True)
    frames, rate = decode(out)
    assert rate == pytest.approx(6)
    assert frames.shape[0] == 6
    band = frames.shape[1] - 32
    assert frames.shape[2] == 48 + 4 + 48 and band > 0
    left = frames[:, band:, :48].mean(-1)
    expected = np.rint(da / 1000 * 255)
    assert np.median(np.abs(left - expected)) <= 1.5
    assert frames[:4, band + 8:band + 24, 62:90].min() > 245  # the white panel (centred in its cell)
    assert frames[4:, band + 8:band + 24, 62:90].max() < 10  # black once it has ended
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


def test_display_rgb_lut_and_zoom():
    from imfun.plotting import Display

    d = Display("grey", np.array([0.0]), np.array([1.0]), "gray")
    rgb = d.rgb(np.array([[[0.0, 0.5, 1.0, 2.0, np.nan]]]), zoom=2)
    assert rgb.shape == (1, 2, 10, 3)
    np.testing.assert_array_equal(rgb[0, 0, ::2, 0], [0, 128, 255, 255, 0])
    np.testing.assert_array_equal(colormap_lut("gray")[[0, 255]], [[0, 0, 0], [255, 255, 255]])
    rgba = Display("rgb", np.zeros(4), np.full(4, 10.0)).rgb(np.full((1, 1, 1, 4), 10.0))
    assert rgba.shape == (1, 1, 1, 3) and rgba.min() == 255  # alpha dropped


@settings(max_examples=60, deadline=None)
@given(dt=st.floats(1e-4, 100), speed=st.floats(0.01, 100), fmt=st.sampled_from(["mp4", "gif"]),
       n=st.integers(1, 50), step_mask=st.integers(0, 2**20))
def test_timing_plays_at_the_asked_speed_within_the_cap(dt, speed, fmt, n, step_mask):
    from imfun.export.movie import MAX_FPS, movie_timing, shown_markers

    fs = FSeq_arr(np.zeros((2, 2, 2)), meta={"axes": [(dt, "s")]})
    t = movie_timing(fs, speed=speed, fmt=fmt)
    assert t.fps <= MAX_FPS.get(fmt, 60.0) * (1 + 1e-9)
    assert t.fps * t.step * dt == pytest.approx(speed)  # each shown frame lasts step * dt / speed
    assert t.step == 1 or t.fps > MAX_FPS.get(fmt, 60.0) / 2  # no more frames dropped than needed
    positions = np.arange(n)
    marked = {i for i in range(n) if step_mask >> i & 1}
    ref = [bool(marked & set(range(a, a + t.step))) for a in range(0, n, t.step)]
    assert shown_markers(positions, t.step, marked).tolist() == ref  # a marker is never dropped


def test_scale_bar_in_um(tmp_path):
    fs = FSeq_arr(np.zeros((2, 40, 60)), meta={"axes": [(0.5, "s"), (0.5, "µm"), (0.5, "µm")]})
    frames, _ = decode(fs.export_movie_anim(tmp_path / "sb", zoom=4, show_title=False, scalebar=True,
                                            vmin=0, vmax=1, quality=10))
    white = frames[0].mean(-1) > 200
    rows = np.flatnonzero(white.all(axis=1) | (white.sum(axis=1) > 0))
    assert rows.min() > 100  # at the bottom of the 160-row frame
    bar_row = white[rows.max() - 1]
    # 60 px of 0.5 µm: a fifth is 6 µm -> a 5 µm bar: 10 pixels, 40 on screen
    assert abs(bar_row.sum() - 40) <= 3 and np.flatnonzero(bar_row).max() > 220
    with pytest.raises(InvalidArgumentError, match="µm"):
        FSeq_arr(np.zeros((2, 4, 4))).export_movie_anim(tmp_path / "x", scalebar=True)
