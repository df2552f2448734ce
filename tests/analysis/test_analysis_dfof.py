"""ΔF/F and z-score sequences equal the direct numpy/scipy computation, at any block size."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import imfun.config
from imfun.analysis.dfof import dfof_array, running_percentile, zscore_array
from imfun.errors import InvalidArgumentError
from imfun.fseq import FSeq_arr


def reference_dfof(x, w, p=10.0, method="percentile", mode="nearest"):
    """The plain whole-array computation: scipy filters along time, then (F - F0) / F0."""
    x = np.asarray(x, float)
    if method == "percentile":
        f0 = ndimage.percentile_filter(x, p, size=(w,) + (1,) * (x.ndim - 1), mode=mode)
    else:
        f0 = ndimage.uniform_filter1d(x, w, axis=0, mode=mode)
    out = np.zeros_like(x)
    np.divide(x - f0, f0, out=out, where=f0 != 0)
    return out


def movie(n=30, shape=(32, 48), seed=0, dtype=np.uint16):
    rng = np.random.default_rng(seed)
    x = rng.poisson(200, (n, *shape)) + 50 * np.sin(np.arange(n) / 5)[:, None, None]
    return x.astype(dtype)


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror"])
@pytest.mark.parametrize("method", ["percentile", "mean"])
def test_dfof_equals_numpy_with_tiny_budget(mode, method):
    x = movie()
    fs = FSeq_arr(x, meta={"axes": [(0.1, "s"), (0.5, "um"), (0.5, "um")]})
    d = fs.dfof(baseline_seconds=0.7, percentile=20, method=method, mode=mode, dtype=np.float64)
    ref = reference_dfof(x, 7, 20, method, mode)
    with imfun.config.budget("64 KiB"):  # forces blocks of a few frames, each with overlap
        got = np.asarray(d)
        assert got.shape == x.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
        # engine reductions over the derived sequence read it in blocks too
        np.testing.assert_allclose(d.mean_frame(), ref.mean(0), rtol=1e-9)
    # sparse and reversed picks, crops
    np.testing.assert_allclose(np.asarray(d[::7]), ref[::7], rtol=1e-10)
    np.testing.assert_allclose(np.asarray(d[[25, 3, 3, 10]]), ref[[25, 3, 3, 10]], rtol=1e-10)
    np.testing.assert_allclose(d.as3darray(crop=(slice(3, 20, 2), slice(5, 30))), ref[:, 3:20:2, 5:30],
                               rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 25), w=st.integers(1, 31), p=st.floats(0, 100),
       mode=st.sampled_from(["nearest", "reflect", "mirror"]), budget=st.integers(300, 20000),
       seed=st.integers(0, 1000))
def test_dfof_hypothesis(n, w, p, mode, budget, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 50, (n, 3, 4)).astype(np.float64)  # zeros: F0 = 0 gives 0
    fs = FSeq_arr(x)
    d = fs.dfof(baseline_frames=w, percentile=p, mode=mode, budget=budget)
    w_odd = w if w % 2 else w + 1
    np.testing.assert_allclose(d.as3darray(budget=budget), reference_dfof(x, w_odd, p, mode=mode),
                               rtol=1e-12)


def test_running_percentile_fast_path_equals_scipy():
    rng = np.random.default_rng(3)
    for n, w in [(40, 9), (40, 41), (5, 21), (2, 41), (12, 1)]:
        for mode in ("nearest", "reflect", "mirror"):
            x = rng.random((n, 4, 5, 2))
            ref = ndimage.percentile_filter(x, 33, size=(w, 1, 1, 1), mode=mode)
            np.testing.assert_array_equal(running_percentile(x, w, 33, mode), ref)


def test_dfof_window_from_seconds_and_axes():
    x = movie(20)
    fs = FSeq_arr(x, meta={"axes": [(0.25, "s"), (0.5, "um"), (0.5, "um")]})
    d = fs.dfof(baseline_seconds=2.0)  # 8 frames -> 9 (odd, centred)
    assert d.reader.window == 9 and d.dtype == np.float32
    assert d.meta["axes"] == fs.meta["axes"] and len(d) == 20
    assert "dfof" in d.reader.source and d.meta["dfof"]["percentile"] == 10
    np.testing.assert_allclose(np.asarray(d), reference_dfof(x, 9), rtol=1e-6)
    np.testing.assert_allclose(d.frame_idx(), fs.frame_idx())


def test_dfof_colour_frames():
    x = np.random.default_rng(0).random((12, 6, 7, 3)) + 1
    d = FSeq_arr(x).dfof(baseline_frames=5)
    np.testing.assert_allclose(np.asarray(d), reference_dfof(x, 5), rtol=1e-12)


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


@pytest.mark.parametrize("window", [None, 7])
def test_zscore_equals_numpy(window):
    x = movie(24).astype(float)
    fs = FSeq_arr(x, meta={"axes": [(0.1, "s")]})
    z = fs.zscore(window_frames=window) if window else fs.zscore()
    if window:
        m = ndimage.uniform_filter1d(x, window, axis=0, mode="nearest")
        sd = np.sqrt(np.maximum(ndimage.uniform_filter1d(x * x, window, axis=0, mode="nearest") - m * m, 0))
    else:
        m, sd = x.mean(0), x.std(0)
    ref = (x - m) / sd
    with imfun.config.budget("32 KiB"):
        np.testing.assert_allclose(np.asarray(z), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(zscore_array(x, window), ref, rtol=1e-8, atol=1e-9)
    assert fs.zscore(window_seconds=0.7).reader.window == 7


def test_zscore_constant_pixels_are_zero():
    z = FSeq_arr(np.ones((5, 2, 2))).zscore()
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
def test_dfof_memory_stays_near_the_budget_with_a_long_window():
    """A window of 101 frames of 128x128 would take ~80 MiB of float64 copies at once; the
    running baseline is filtered in strips of rows instead."""
    import tracemalloc

    from imfun.analysis.dfof import dfof_array
    from imfun.fseq import FSeq_arr

    a = np.random.default_rng(0).integers(100, 200, (300, 128, 128)).astype(np.uint16)
    d = FSeq_arr(a).dfof(baseline_frames=101, budget="16 MiB")
    tracemalloc.start()
    try:
        got = d.mean_frame(budget="16 MiB")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024**2, f"peak {peak / 2**20:.0f} MiB"
    np.testing.assert_allclose(got, dfof_array(a.astype(float), 101, "percentile", 10, "nearest").mean(0))
