"""Running baselines: exact against scipy and numpy, fast within its documented error of exact,
maximin against the scipy composition, chunks equal to the whole recording, dfof_traces."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from imfun.analysis import dfof_traces
from imfun.analysis.baseline import (
    _network_ranks,
    edge_frames,
    grid_step,
    halo,
    relative,
    relative_baseline,
    running_baseline,
    smooth_sigma,
    window_length,
    window_ranks,
)
from imfun.errors import InvalidArgumentError

PADDED = ["nearest", "reflect", "mirror"]


def inside_windows(n, w):
    """Start of the window of each frame when every window lies inside the recording."""
    return np.clip(np.arange(n) - w // 2, 0, n - w)


@pytest.mark.parametrize("mode", PADDED)
def test_exact_and_mean_with_padding_equal_scipy(mode):
    rng = np.random.default_rng(3)
    for n, w in [(40, 9), (40, 39), (5, 5), (2, 1), (12, 1), (41, 41)]:
        x = rng.random((n, 4, 5, 2))
        for p in (0, 33, 50, 100):
            ref = ndimage.percentile_filter(x, p, size=(w, 1, 1, 1), mode=mode)
            np.testing.assert_array_equal(running_baseline(x, w, "exact", p, mode), ref)
        np.testing.assert_array_equal(running_baseline(x, w, "percentile", 33, mode),
                                      ndimage.percentile_filter(x, 33, size=(w, 1, 1, 1), mode=mode))
        np.testing.assert_allclose(running_baseline(x, w, "mean", mode=mode),
                                   ndimage.uniform_filter1d(x, w, axis=0, mode=mode), rtol=1e-12)


def test_exact_and_mean_inside_equal_numpy_windows():
    x = np.random.default_rng(1).integers(0, 1000, (37, 6, 5)).astype(np.uint16)
    for w in (1, 3, 11, 37):
        starts = inside_windows(37, w)
        for p in (0, 10, 62.5, 100):
            k = w - 1 if p == 100 else int(w * p / 100)
            ref = np.stack([np.sort(x[j:j + w], axis=0)[k] for j in starts])
            got = running_baseline(x, w, "exact", p)
            assert got.dtype == np.float64
            np.testing.assert_array_equal(got, ref)
        ref = np.stack([x[j:j + w].mean(0) for j in starts])
        np.testing.assert_allclose(running_baseline(x, w, "mean"), ref, rtol=1e-12)


def test_fast_is_exact_on_its_grid_and_for_short_windows():
    x = np.random.default_rng(2).random((90, 7))
    w = 21
    fast, exact = running_baseline(x, w, "fast", 20), running_baseline(x, w, "exact", 20)
    on_grid = np.isin(inside_windows(90, w), np.r_[np.arange(0, 90 - w + 1, grid_step(w)), 90 - w])
    np.testing.assert_array_equal(fast[on_grid], exact[on_grid])
    assert not np.array_equal(fast, exact)
    for w in (1, 3, 5, 7):  # a grid step of one frame
        np.testing.assert_array_equal(running_baseline(x, w, "fast", 20), running_baseline(x, w, "exact", 20))


def smooth_movie(n, w, period_windows, amp, noise, seed, pixels=50):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = 100 * (1 + amp * np.sin(2 * np.pi * t / (period_windows * w) + rng.uniform(0, 6)))
    base = base * (1 - 0.2 * t / n)  # bleaching
    return base[:, None] * (1 + noise * rng.standard_normal((n, pixels)))


@settings(max_examples=30, deadline=None)
@given(w=st.integers(4, 50).map(lambda v: 2 * v + 1), period=st.floats(8, 30), amp=st.floats(0, 0.2),
       noise=st.floats(0, 0.05), p=st.floats(5, 50), seed=st.integers(0, 2**16))
def test_fast_within_its_documented_error_of_exact(w, period, amp, noise, p, seed):
    """The module docstring's bound: noise-free smooth baselines within 1 % at every frame;
    with noise up to 5 %, within 1 % RMS (the exact percentile itself jumps with the noise)."""
    n = 8 * w
    clean = smooth_movie(n, w, period, amp, 0.0, seed, pixels=1)
    exact = running_baseline(clean, w, "exact", p)
    assert np.max(np.abs(running_baseline(clean, w, "fast", p) - exact) / exact) <= 0.01
    x = smooth_movie(n, w, period, amp, noise, seed)
    exact = running_baseline(x, w, "exact", p)
    rel = (running_baseline(x, w, "fast", p) - exact) / exact
    assert np.sqrt(np.mean(rel ** 2)) <= 0.01


def test_maximin_is_the_scipy_composition():
    x = np.random.default_rng(5).random((120, 3, 4)) + 1
    w = 15
    h, sigma = w // 2, smooth_sigma(w)
    s = ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest")
    ref = ndimage.maximum_filter1d(ndimage.minimum_filter1d(s, w, axis=0), w, axis=0)
    got = running_baseline(x, w, "maximin")
    inner = slice(2 * h, 120 - 2 * h)  # windows of both stages inside the recording
    np.testing.assert_allclose(got[inner], ref[inner], rtol=1e-12)
    # at the edges, both stages use the first/last full window
    starts = inside_windows(120, w)
    low = np.stack([s[j:j + w].min(0) for j in starts])
    np.testing.assert_allclose(got, np.stack([low[j:j + w].max(0) for j in starts]), rtol=1e-12)


def test_maximin_follows_the_floor_under_transients():
    t = np.arange(600)
    floor = 100 + 10 * np.sin(2 * np.pi * t / 600)
    spikes = np.zeros(600)
    spikes[::50] = 80
    x = floor + ndimage.convolve1d(spikes, np.exp(-np.arange(20) / 5), origin=-10)
    got = running_baseline(x, 61, "maximin")
    assert np.max(np.abs(got - floor) / floor) < 0.05


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 60), method=st.sampled_from(["fast", "exact", "maximin", "mean"]),
       mode=st.sampled_from(["inside", *PADDED]), p=st.floats(0, 100), span=st.integers(1, 9),
       seed=st.integers(0, 1000))
def test_chunks_with_their_halo_equal_the_whole_recording(data, n, method, mode, p, span, seed):
    w = data.draw(st.integers(1, n).map(lambda v: v if v % 2 else v - 1), label="w")
    x = np.random.default_rng(seed).integers(0, 30, (n, 2, 3)).astype(np.uint8)
    whole = running_baseline(x, w, method, p, mode)
    for first in range(0, n, span):
        last = min(n, first + span)
        lo, hi = max(0, first - halo(method, w)), min(n, last + halo(method, w))
        if lo == 0:
            hi = max(hi, min(n, edge_frames(method, w)))
        if hi == n:
            lo = min(lo, max(0, n - edge_frames(method, w)))
        got = running_baseline(x[lo:hi], w, method, p, mode, start=lo, total=n, rows=(first - lo, last - lo))
        np.testing.assert_allclose(got, whole[first:last], rtol=1e-12, atol=1e-12)


def test_window_length():
    assert window_length(2.0, None, 1 / 24, "s", 480) == 49
    assert window_length(None, 8, 1.0, "", 20) == 9
    assert window_length(None, 8, 1.0, "", 8) == 7
    too_long = r"48 frames \(2 s\).*\(30 frames, 1.25 s\); give a window of at most 30 frames \(1.25 s\)"
    with pytest.raises(InvalidArgumentError, match=too_long):
        window_length(2.0, None, 1 / 24, "s", 30)
    with pytest.raises(InvalidArgumentError, match="longer than the recording"):
        running_baseline(np.ones((3, 2)), 5, "mean")
    with pytest.raises(InvalidArgumentError, match="odd"):
        running_baseline(np.ones((3, 2)), 2, "mean")


def test_dfof_traces_equals_numpy():
    rng = np.random.default_rng(7)
    traces = 100 + rng.random((3, 50)) * 10
    got = dfof_traces(traces, dt=0.1, baseline_seconds=0.9, percentile=20, method="exact")
    starts = inside_windows(50, 9)
    f0 = np.stack([np.sort(traces[:, j:j + 9], axis=1)[:, 1] for j in starts], axis=1)
    np.testing.assert_allclose(got, (traces - f0) / f0, rtol=1e-12)
    assert got.shape == (3, 50) and got.dtype == np.float64
    one = dfof_traces(traces[1], baseline_frames=9, percentile=20, method="exact")
    np.testing.assert_allclose(one, got[1], rtol=1e-12)
    for method in ("fast", "maximin", "mean"):
        f0 = running_baseline(traces.T, 9, method, 20).T
        np.testing.assert_allclose(dfof_traces(traces, 0.1, 0.9, 20, method), (traces - f0) / f0, rtol=1e-12)
    with_zero = np.zeros((1, 10))
    assert np.array_equal(dfof_traces(with_zero, baseline_frames=3), with_zero)


def test_dfof_traces_errors():
    with pytest.raises(InvalidArgumentError, match="dt="):
        dfof_traces(np.ones((2, 10)), baseline_seconds=1.0)
    with pytest.raises(InvalidArgumentError, match=r"longer than the recording \(10 frames, 1 s\)"):
        dfof_traces(np.ones((2, 10)), dt=0.1, baseline_seconds=2.0)
    with pytest.raises(InvalidArgumentError, match="n_rois, n_frames"):
        dfof_traces(np.ones((2, 3, 4)), baseline_frames=3)
    with pytest.raises(InvalidArgumentError, match="dt must be"):
        dfof_traces(np.ones(10), dt=-1, baseline_frames=3)
    with pytest.raises(InvalidArgumentError, match="method"):
        dfof_traces(np.ones(10), baseline_frames=3, method="median")


def partition_ranks(x, w, k, starts):
    """The k-th smallest of each window x[s:s + w], per pixel, by np.partition."""
    return np.stack([np.partition(x[s:s + w], k, axis=0)[k] for s in starts])


@settings(max_examples=60, deadline=None)
@given(data=st.data(), w=st.integers(1, 41), windows=st.integers(1, 7), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]))
def test_window_ranks_equal_np_partition(data, w, dtype, windows, seed):
    """The min/max networks give exactly the order statistics of np.partition, at every rank,
    for regular grids and for one window anywhere (the recording's last window)."""
    k = data.draw(st.integers(0, w - 1), label="k")
    step = data.draw(st.integers(1, max(1, w // 2)), label="step")
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, (w + (windows + 2) * step, 1100)).astype(dtype)  # ties, >= 1024 pixels
    starts = np.arange(windows) * step + data.draw(st.integers(0, step), label="offset")
    ref = partition_ranks(x, w, k, starts)
    np.testing.assert_array_equal(_network_ranks(x, w, k, starts, step), ref)
    got = window_ranks(x, w, k, starts, step)  # network or np.partition, by their estimated cost
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, ref)
    one = starts[-1:] + 1
    np.testing.assert_array_equal(_network_ranks(x, w, k, one, step), partition_ranks(x, w, k, one))


def test_window_ranks_with_nan_and_few_pixels_use_np_partition():
    x = np.random.default_rng(1).random((40, 1500))
    x[3, 7] = x[30, 9] = np.nan  # np.partition sorts NaN last; a network would spread it
    starts = np.arange(0, 20, 5)
    np.testing.assert_array_equal(window_ranks(x, 21, 2, starts, 5), partition_ranks(x, 21, 2, starts))
    np.testing.assert_array_equal(window_ranks(x[:, :10], 21, 19, starts, 5),
                                  partition_ranks(x[:, :10], 21, 19, starts))


@pytest.mark.parametrize("mode", ["inside", *PADDED])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relative_baseline_is_relative_of_the_baseline(mode, dtype):
    """ΔF/F computed interval by interval is bit for bit (F - F0) / F0 of the baseline array,
    zeros of F0 included."""
    x = np.random.default_rng(3).integers(0, 9, (70, 30, 40)).astype(np.uint16)
    for w, p, rows in ((15, 10, None), (31, 50, (20, 50)), (3, 0, (0, 5))):
        start, total = (0, 70) if rows is None else (5, 90)
        f0 = running_baseline(x, w, "fast", p, mode, start, total, rows)
        a, b = rows or (0, 70)
        ref = relative(x[a:b], f0, dtype)
        got = relative_baseline(x, w, "fast", p, mode, start, total, rows, dtype)
        assert got.dtype == dtype and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)
    assert np.any(f0 == 0)


@pytest.mark.parametrize("w, period, amp, noise, p", [(49, 8, 0.2, 0.0, 10), (49, 12, 0.1, 0.05, 10),
                                                      (121, 8, 0.2, 0.03, 20), (25, 30, 0.0, 0.05, 50)])
def test_fast_within_its_documented_error_of_exact_on_frames(w, period, amp, noise, p):
    """The documented bound on frame-sized data (the min/max networks' path, 8-bit and float)."""
    n = 8 * w
    for dtype in (np.uint8, np.float32):
        x = smooth_movie(n, w, period, amp, noise, seed=w, pixels=1200).clip(0, 255).astype(dtype)
        exact = running_baseline(x, w, "exact", p)
        rel = (running_baseline(x, w, "fast", p) - exact) / exact
        bound = np.max(np.abs(rel)) if noise == 0 and dtype != np.uint8 else np.sqrt(np.mean(rel ** 2))
        assert bound <= 0.01
