"""ΔF/F and z-score sequences equal the whole-array computation (and scipy), at any block size."""

import pickle
import threading
import tracemalloc

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import imfun.config
from imfun.analysis.dfof import dfof_array, zscore_array
from imfun.errors import InvalidArgumentError
from imfun.fseq import FrameSequence, FSeq_arr
from imfun.readers.base import ArrayReader

METHODS = ["fast", "exact", "maximin", "mean"]
MODES = ["inside", "nearest", "reflect", "mirror"]


def scipy_dfof(x, w, p=10.0, method="exact", mode="nearest"):
    """The plain whole-array computation with scipy's padding: filters along time, then (F - F0) / F0."""
    x = np.asarray(x, float)
    if method == "exact":
        f0 = ndimage.percentile_filter(x, p, size=(w,) + (1,) * (x.ndim - 1), mode=mode)
    else:
        f0 = ndimage.uniform_filter1d(x, w, axis=0, mode=mode)
    out = np.zeros_like(x)
    np.divide(x - f0, f0, out=out, where=f0 != 0)
    return out


def inside_dfof(x, w, p=10.0):
    """Exact percentile ΔF/F with every window inside the recording, frame by frame in numpy."""
    x = np.asarray(x, float)
    n, h = len(x), w // 2
    k = w - 1 if p >= 100 else int(w * p / 100)
    f0 = np.stack([np.sort(x[j:j + w], axis=0)[k] for j in np.clip(np.arange(n) - h, 0, n - w)])
    out = np.zeros_like(x)
    np.divide(x - f0, f0, out=out, where=f0 != 0)
    return out


def movie(n=30, shape=(32, 48), seed=0, dtype=np.uint16):
    rng = np.random.default_rng(seed)
    x = rng.poisson(200, (n, *shape)) + 50 * np.sin(np.arange(n) / 5)[:, None, None]
    return x.astype(dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", METHODS)
def test_dfof_blocks_at_tiny_budget_equal_the_whole_movie(mode, method):
    x = movie(60, (16, 40))
    fs = FSeq_arr(x, meta={"axes": [(0.1, "s"), (0.5, "um"), (0.5, "um")]})
    d = fs.dfof(baseline_seconds=1.3, percentile=20, method=method, mode=mode, dtype=np.float64)
    ref = dfof_array(x, 13, method, 20, mode)
    if method in ("exact", "mean") and mode != "inside":
        np.testing.assert_allclose(ref, scipy_dfof(x, 13, 20, method, mode), rtol=1e-10, atol=1e-12)
    if method == "exact" and mode == "inside":
        np.testing.assert_allclose(ref, inside_dfof(x, 13, 20), rtol=1e-12)
    with imfun.config.budget("32 KiB"):  # forces spans of a few frames, each with overlap
        got = np.asarray(d)
        assert got.shape == x.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
        # engine reductions over the derived sequence read it in blocks too
        np.testing.assert_allclose(d.mean_frame(), ref.mean(0), rtol=1e-9)
    # sparse and reversed picks, crops
    np.testing.assert_allclose(np.asarray(d[::7]), ref[::7], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(d[[55, 3, 3, 10]]), ref[[55, 3, 3, 10]], rtol=1e-10)
    np.testing.assert_allclose(d.as3darray(crop=(slice(3, 14, 2), slice(5, 30))), ref[:, 3:14:2, 5:30],
                               rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 40), p=st.floats(0, 100), mode=st.sampled_from(MODES),
       method=st.sampled_from(METHODS), budget=st.integers(300, 20000), seed=st.integers(0, 1000))
def test_dfof_hypothesis_blocks_equal_whole(data, n, p, mode, method, budget, seed):
    w = data.draw(st.integers(1, n), label="w")
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, (n, 3, 4)).astype(np.float64)  # zeros: F0 = 0 gives 0
    d = FSeq_arr(x).dfof(baseline_frames=w, percentile=p, method=method, mode=mode, budget=budget)
    w_odd = d.reader.window
    assert w_odd % 2 == 1 and w_odd <= n and abs(w_odd - w) <= 1
    ref = dfof_array(x, w_odd, method, p, mode)
    np.testing.assert_allclose(d.as3darray(budget=budget), ref, rtol=1e-12, atol=1e-14)
    if method == "exact" and mode != "inside":
        np.testing.assert_allclose(ref, scipy_dfof(x, w_odd, p, mode=mode), rtol=1e-12)


def test_dfof_window_from_seconds_and_axes():
    x = movie(20)
    fs = FSeq_arr(x, meta={"axes": [(0.25, "s"), (0.5, "um"), (0.5, "um")]})
    d = fs.dfof(baseline_seconds=2.0)  # 8 frames -> 9 (odd, centred)
    assert d.reader.window == 9 and d.dtype == np.float32 and d.reader.method == "fast"
    assert d.meta["axes"] == fs.meta["axes"] and len(d) == 20
    assert "dfof" in d.reader.source and d.meta["dfof"]["percentile"] == 10
    assert d.meta["dfof"]["mode"] == "inside"
    np.testing.assert_allclose(np.asarray(d), dfof_array(x, 9), rtol=1e-6)
    np.testing.assert_allclose(d.frame_idx(), fs.frame_idx())
    # "percentile" keeps its meaning: the exact running rank filter
    e = fs.dfof(baseline_seconds=2.0, method="percentile", mode="nearest")
    np.testing.assert_allclose(np.asarray(e), scipy_dfof(x, 9), rtol=1e-6)


def test_first_frames_are_not_their_own_baseline():
    """With edge padding ('nearest') the first frame fills more than half its window and is
    usually its own low percentile, pinning ΔF/F to 0; inside windows do not."""
    x = movie(40, (16, 16), seed=4).astype(float)
    pinned = dfof_array(x, 21, "exact", 10, "nearest")
    got = dfof_array(x, 21, "exact", 10)
    assert np.mean(pinned[0] == 0) > 0.3
    assert np.mean(got[0] == 0) < 0.15 and np.mean(got[-1] == 0) < 0.15
    f0 = np.sort(x[:21], axis=0)[2]
    np.testing.assert_allclose(got[:11], (x[:11] - f0) / f0, rtol=1e-12)
    f0 = np.sort(x[-21:], axis=0)[2]
    np.testing.assert_allclose(got[-11:], (x[-11:] - f0) / f0, rtol=1e-12)
    for method in METHODS:
        assert np.mean(FSeq_arr(x).dfof(baseline_frames=21, method=method).as3darray()[0] == 0) < 0.15


def test_dfof_colour_frames():
    x = np.random.default_rng(0).random((12, 6, 7, 3)) + 1
    for method in METHODS:
        d = FSeq_arr(x).dfof(baseline_frames=5, method=method, budget=2000)
        np.testing.assert_allclose(np.asarray(d), dfof_array(x, 5, method), rtol=1e-12, atol=1e-14)


def test_dfof_errors():
    fs = FSeq_arr(movie(10))
    with pytest.raises(InvalidArgumentError, match="seconds"):
        fs.dfof(baseline_seconds=1.0)  # no time unit
    with pytest.raises(InvalidArgumentError, match="baseline_seconds"):
        fs.dfof()
    with pytest.raises(InvalidArgumentError, match="method"):
        fs.dfof(baseline_frames=3, method="median")
    with pytest.raises(InvalidArgumentError, match="mode"):
        fs.dfof(baseline_frames=3, mode="wrap")
    with pytest.raises(InvalidArgumentError, match="percentile"):
        fs.dfof(baseline_frames=3, percentile=120)
    with pytest.raises(InvalidArgumentError, match="not both"):
        fs.dfof(baseline_frames=3, baseline_seconds=1)


def test_window_longer_than_the_recording_is_an_error():
    fs = FSeq_arr(movie(10), meta={"axes": [(0.5, "s")]})
    with pytest.raises(InvalidArgumentError, match=r"12 frames \(6 s\).*recording \(10 frames, 5 s\)"):
        fs.dfof(baseline_seconds=6)
    with pytest.raises(InvalidArgumentError, match="at most 10 frames"):
        fs.dfof(baseline_frames=11)
    with pytest.raises(InvalidArgumentError, match="window window of 11 frames"):
        fs.zscore(window_frames=11)
    assert fs.dfof(baseline_frames=10).reader.window == 9  # an even window that fits rounds down
    assert fs.dfof(baseline_frames=9, method="maximin").reader.window == 9


@pytest.mark.parametrize("window", [None, 7])
@pytest.mark.parametrize("mode", ["inside", "nearest"])
def test_zscore_equals_numpy(window, mode):
    x = movie(24).astype(float)
    fs = FSeq_arr(x, meta={"axes": [(0.1, "s")]})
    z = fs.zscore(window_frames=window, mode=mode) if window else fs.zscore()
    if window and mode == "nearest":
        m = ndimage.uniform_filter1d(x, window, axis=0, mode="nearest")
        sd = np.sqrt(np.maximum(ndimage.uniform_filter1d(x * x, window, axis=0, mode="nearest") - m * m, 0))
    elif window:
        starts = np.clip(np.arange(24) - 3, 0, 24 - 7)
        m = np.stack([x[j:j + 7].mean(0) for j in starts])
        sd = np.stack([x[j:j + 7].std(0) for j in starts])
    else:
        m, sd = x.mean(0), x.std(0)
    ref = (x - m) / sd
    with imfun.config.budget("32 KiB"):
        np.testing.assert_allclose(np.asarray(z), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(zscore_array(x, window, mode), ref, rtol=1e-8, atol=1e-9)
    assert fs.zscore(window_seconds=0.7).reader.window == 7


def test_zscore_constant_pixels_are_zero():
    z = FSeq_arr(np.ones((5, 2, 2))).zscore()
    assert np.array_equal(np.asarray(z), np.zeros((5, 2, 2)))
    z = FSeq_arr(np.ones((5, 2, 2))).zscore(window_frames=3)
    assert np.array_equal(np.asarray(z), np.zeros((5, 2, 2)))


def test_dfof_pickles_and_chains(tmp_path):
    import tifffile

    x = movie(16)
    path = tmp_path / "m.tif"
    tifffile.imwrite(path, x, imagej=True, metadata={"finterval": 0.1, "unit": "um", "axes": "TYX"})
    from imfun.fseq import open_seq

    with open_seq(path) as fs:
        d = fs.dfof(baseline_seconds=0.5).bin(2)
        d2 = pickle.loads(pickle.dumps(d))
        np.testing.assert_allclose(np.asarray(d2), np.asarray(d))
        assert [str(p) for p in d.source_paths()] == [str(path)]
        np.testing.assert_allclose(np.asarray(d), dfof_array(x, 5).reshape(16, 16, 2, 24, 2).mean((2, 4)),
                                   rtol=1e-5)
        d2.close()


def peak_memory(fn):
    """``fn()``, the peak of traced (numpy) allocations and the peak RSS increase (psutil, sampled)."""
    proc = psutil.Process()
    base, peak, done = proc.memory_info().rss, [0], threading.Event()

    def sample():
        while not done.wait(0.005):
            peak[0] = max(peak[0], proc.memory_info().rss - base)

    sampler = threading.Thread(target=sample)
    tracemalloc.start()
    sampler.start()
    try:
        result = fn()
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        done.set()
        sampler.join()
        tracemalloc.stop()
    return result, traced, peak[0]


@pytest.mark.parametrize("method", ["fast", "exact", "maximin"])
def test_dfof_memory_stays_within_the_budget(method):
    """128x128 frames with a 101-frame window: the spans, the parent frames they are computed
    from and the filtering stay near the budget with the engine's own blocks (which reach
    1.2x the budget for a plain float32 sequence; the ΔF/F reader used to reach 1.6x)."""
    a = np.random.default_rng(0).integers(100, 200, (220, 128, 128)).astype(np.uint16)
    budget = 16 * 2**20
    d = FSeq_arr(a).dfof(baseline_frames=101, method=method, budget=budget)
    got, traced, rss = peak_memory(lambda: d.mean_frame(budget=budget))
    assert traced < 1.25 * budget, f"traced peak {traced / 2**20:.1f} MiB"
    assert rss < budget + 100 * 2**20, f"RSS peak {rss / 2**20:.0f} MiB"
    np.testing.assert_allclose(got, dfof_array(a, 101, method).mean(0), rtol=1e-5, atol=1e-6)


class CountingReader(ArrayReader):
    """An array that reads whole frames whatever the crop (as a video decoder does), counting them."""

    cheap_crop = False
    frames_read = 0

    def _read(self, frames, crop):
        CountingReader.frames_read += len(frames)
        return super()._read(frames, crop)


def test_dfof_of_a_parent_read_whole_frames_stays_within_the_budget():
    """A decoder-like parent: the parent frames of a span read at once, within the same bound."""
    a = np.random.default_rng(0).integers(100, 200, (220, 128, 128)).astype(np.uint16)
    budget = 16 * 2**20
    d = FrameSequence(CountingReader(a)).dfof(baseline_frames=101, budget=budget)
    got, traced, rss = peak_memory(lambda: d.mean_frame(budget=budget))
    assert traced < 1.25 * budget, f"traced peak {traced / 2**20:.1f} MiB"
    assert rss < budget + 100 * 2**20, f"RSS peak {rss / 2**20:.0f} MiB"
    np.testing.assert_allclose(got, dfof_array(a, 101).mean(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("budget", [2 * 2**20, 8 * 2**20])  # spans of a few frames, of 20-50 frames
@pytest.mark.parametrize("method", ["fast", "maximin"])
def test_parents_that_read_whole_frames_are_read_once(method, budget):
    x = movie(120, (48, 64)).astype(np.float32)
    fs = FrameSequence(CountingReader(x))
    CountingReader.frames_read = 0
    d = fs.dfof(baseline_frames=21, method=method, budget=budget)
    np.testing.assert_allclose(np.asarray(d), dfof_array(x, 21, method), rtol=1e-6, atol=1e-6)
    assert CountingReader.frames_read <= 120 + 2 * d.reader.edge  # about once, not once per strip
    with_fns = FrameSequence(ArrayReader(x), fns=[np.sqrt])
    np.testing.assert_allclose(np.asarray(with_fns.dfof(baseline_frames=21, method=method, budget=2**20)),
                               dfof_array(np.sqrt(x), 21, method), rtol=1e-6, atol=1e-6)


def write_grey_h264(path, frames, rate=10):
    """Frames (n, rows, cols) uint8 as an H.264 movie (B-frames, reordered), with PyAV."""
    av = pytest.importorskip("av")
    if "libx264" not in av.codecs_available:
        pytest.skip("PyAV without libx264")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate, options={"crf": "18", "g": "24"})
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="gray")))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize("budget", [256 * 2**10, 256 * 2**20])  # many spans of 5 frames; one span
def test_dfof_of_a_video_equals_the_whole_array(tmp_path, budget):
    """The case of the speed goal, small: a grey H.264 movie (a decoder: whole frames, read once)
    of frames with over 1024 pixels
    (the min/max networks' path); equal to the whole decoded movie computed at once."""
    from imfun.analysis.baseline import relative_baseline
    from imfun.fseq import open_seq

    t, y, x = np.mgrid[:90, :40, :64]
    rng = np.random.default_rng(7)
    frames = 90 + 40 * np.sin(x / 9 + y / 7) * np.cos(t / 17) + rng.normal(0, 6, t.shape)
    path = write_grey_h264(tmp_path / "movie.mp4", np.clip(frames, 0, 255).astype(np.uint8))
    fs = open_seq(path, ch="gray")
    decoded = fs.as3darray(dtype=None)
    d = fs.dfof(baseline_seconds=2.0, budget=budget)
    assert d.reader.window == 21 and d.dtype == np.float32
    got = d.as3darray(dtype=None, budget=budget)
    np.testing.assert_allclose(got, relative_baseline(decoded, 21, dtype=np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, dfof_array(decoded, 21), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d.mean_frame(budget=budget), got.mean(0, dtype=np.float64), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(np.asarray(d[[80, 3, 40]]), got[[80, 3, 40]], rtol=1e-6, atol=1e-6)
    d.reader.close()
