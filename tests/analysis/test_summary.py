"""Summary images (correlation, PNR, enhanced mean) against direct numpy definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from imfun.analysis.summary import LocalCorrelation, TimeBinned, bin_frames, enhance, summary_images
from imfun.errors import EmptySequenceError, InvalidArgumentError, ShapeMismatchError
from imfun.fseq import FSeq_arr

ALL8 = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
ALL4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]


def direct_correlation(x: np.ndarray, neighbours: int) -> np.ndarray:
    """CaImAn's definition: z-score each pixel, mean product with each existing neighbour."""
    x = np.asarray(x, np.float64)
    sd = x.std(axis=0)
    z = np.divide(x - x.mean(axis=0), sd, out=np.zeros_like(x), where=sd > 0)
    rows, cols = x.shape[1:]
    total, count = np.zeros((rows, cols)), np.zeros((rows, cols))
    pad = np.pad(z, ((0, 0), (1, 1), (1, 1)))
    inside = np.pad(np.ones((rows, cols)), 1)
    for dy, dx in ALL8 if neighbours == 8 else ALL4:
        nb = pad[:, 1 + dy:1 + dy + rows, 1 + dx:1 + dx + cols]
        total += (z * nb).mean(axis=0)
        count += inside[1 + dy:1 + dy + rows, 1 + dx:1 + dx + cols]
    return total / count


def direct_pnr(x: np.ndarray, k: int) -> np.ndarray:
    x = np.asarray(x, np.float64)
    smooth = ndimage.uniform_filter1d(x, k, axis=0, mode="constant")
    lo = k // 2
    smooth = smooth[lo:len(x) - (k - 1 - lo)]  # complete windows only
    sigma = np.sqrt(np.pi) / 2 * np.abs(np.diff(x, axis=0)).mean(axis=0)
    return np.divide(smooth.max(axis=0) - x.mean(axis=0), sigma, out=np.zeros(x.shape[1:]), where=sigma > 0)


def movie(n=40, shape=(9, 11), seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n, 1, 1))
    x = offset + rng.standard_normal((n, *shape)) + common * rng.random(shape)
    x[:, 0, 3] = 7.0  # a constant pixel, on the border
    x[:, 4, 5] = 2.0  # and one inside
    return x


@pytest.mark.parametrize("neighbours", [4, 8])
def test_correlation_equals_direct_definition(neighbours):
    x = movie()
    got = FSeq_arr(x).correlation_image(neighbours)
    assert got.dtype == np.float32 and np.isfinite(got).all()
    np.testing.assert_allclose(got, direct_correlation(x, neighbours), atol=2e-6)
    assert got[0, 3] == 0 and got[4, 5] == 0


def test_correlation_large_offset_and_uint16():
    x = movie(n=300, offset=20000.0)
    ref = direct_correlation(x, 8)
    np.testing.assert_allclose(FSeq_arr(x).correlation_image(budget=40 * 9 * 11 * 8), ref, atol=2e-5)
    u = np.rint(x * 30).astype(np.uint16)
    np.testing.assert_allclose(FSeq_arr(u).correlation_image(), direct_correlation(u, 8), atol=2e-6)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 30), frames_per_block=st.integers(1, 8), neighbours=st.sampled_from([4, 8]),
       k=st.integers(1, 5), seed=st.integers(0, 1000))
def test_blocks_merge_as_one(n, frames_per_block, neighbours, k, seed):
    x = movie(n=n, shape=(5, 6), seed=seed)
    fs = FSeq_arr(x)
    tiny = frames_per_block * 5 * 6 * 8
    np.testing.assert_allclose(fs.correlation_image(neighbours, budget=tiny),
                               direct_correlation(x, neighbours), atol=1e-5)
    if n >= max(k, 2):
        np.testing.assert_allclose(fs.pnr_image(k, budget=tiny), direct_pnr(x, k), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", [1, 3, 4])
def test_pnr_equals_direct(k):
    x = movie(n=50)
    x[20:24, 2, 2] += 8.0  # a transient
    got = FSeq_arr(x).pnr_image(k)
    np.testing.assert_allclose(got, direct_pnr(x, k), rtol=1e-5, atol=1e-6)
    assert got[0, 3] == 0 and got.argmax() == np.ravel_multi_index((2, 2), x.shape[1:])


def test_fslice_and_summary_images_in_one_pass():
    x = movie(n=60)
    fs = FSeq_arr(x)
    np.testing.assert_allclose(fs.correlation_image(fslice=(10, 50)), direct_correlation(x[10:50], 8),
                               atol=2e-6)
    s = summary_images(fs, 4, 2, budget=7 * 9 * 11 * 8)
    np.testing.assert_allclose(s.mean, x.mean(0))
    np.testing.assert_allclose(s.correlation, direct_correlation(x, 4), atol=2e-6)
    np.testing.assert_allclose(s.pnr, direct_pnr(x, 2), rtol=1e-5, atol=1e-6)


def binned(x: np.ndarray, k: int, cuts=()) -> np.ndarray:
    """Means of runs of ``k`` frames, restarting at each cut (a block's start), by plain numpy."""
    out = []
    for part in np.split(np.asarray(x, np.float64), list(cuts)):
        out += [part[i:i + k].mean(axis=0) for i in range(0, len(part), k)]
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.float64, np.uint16])
def test_time_binned_summary_equals_direct_on_binned_frames(dtype):
    x = movie(n=60) * 10 + 100
    x[20:30, 2, 2] += 80.0  # a transient
    x = x.astype(dtype)
    b = binned(x, 3)
    s = summary_images(FSeq_arr(x), 8, 1, time_bin=3)
    np.testing.assert_allclose(s.mean, x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(s.correlation, direct_correlation(b, 8), atol=2e-6)
    np.testing.assert_allclose(s.pnr, direct_pnr(b, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bin_frames(x[:7], 3), binned(x[:7], 3), rtol=1e-6)


def test_time_binned_runs_restart_at_each_block():
    x = movie(n=17)
    red = TimeBinned(LocalCorrelation(8), 3)
    parts = [red.map(a, x[a:b]) for a, b in ((0, 6), (6, 11), (11, 17))]
    got = red.finalize(red.combine(red.combine(parts[0], parts[1]), parts[2]))
    np.testing.assert_allclose(got, direct_correlation(binned(x, 3, (6, 11)), 8), atol=2e-6)
    with pytest.raises(InvalidArgumentError, match="bin size"):
        TimeBinned(LocalCorrelation(8), 0)


def test_dask_engine_equals_local():
    pytest.importorskip("dask")
    x = movie(n=30)
    fs = FSeq_arr(x)
    budget = 4 * 9 * 11 * 8
    np.testing.assert_allclose(fs.correlation_image(budget=budget, engine="dask"),
                               fs.correlation_image(), atol=1e-6)
    np.testing.assert_allclose(fs.pnr_image(budget=budget, engine="dask"), fs.pnr_image(), rtol=1e-6)
    np.testing.assert_allclose(fs.enhanced_mean(3, engine="dask"), fs.enhanced_mean(3), atol=1e-6)


def direct_enhance(m, sigma):
    hp = m - ndimage.gaussian_filter(m, sigma)
    e = hp / np.sqrt(ndimage.gaussian_filter(hp**2, sigma))
    lo, hi = np.percentile(e, [1, 99])
    return np.clip((e - lo) / (hi - lo), 0, 1)


def test_enhanced_mean_equals_direct():
    yy, xx = np.mgrid[0:40, 0:50]
    slow = 100 + 0.5 * xx + 0.3 * yy
    spots = np.exp(-((yy - 20) ** 2 + (xx - 12) ** 2) / 8.0) * 30
    x = slow + spots + np.random.default_rng(1).normal(0, 1, (20, 40, 50))
    got = FSeq_arr(x).enhanced_mean(sigma=6, budget=3 * 40 * 50 * 8)
    np.testing.assert_allclose(got, direct_enhance(x.mean(0), 6), atol=1e-5)
    assert got[20, 12] == 1.0 and got.min() == 0.0
    assert np.array_equal(enhance(np.ones((5, 5))), np.zeros((5, 5)))


def test_bad_input_is_a_clear_error():
    fs = FSeq_arr(np.ones((1, 4, 4)))
    with pytest.raises(EmptySequenceError, match="at least 2 frames"):
        fs.correlation_image()
    with pytest.raises(EmptySequenceError, match="at least 3 frames"):
        FSeq_arr(np.ones((2, 4, 4))).pnr_image()
    two = FSeq_arr(np.random.default_rng(0).random((6, 4, 4)))
    with pytest.raises(InvalidArgumentError, match="4 or 8"):
        two.correlation_image(6)
    with pytest.raises(InvalidArgumentError, match="smooth_frames"):
        two.pnr_image(0)
    with pytest.raises(InvalidArgumentError, match="sigma"):
        two.enhanced_mean(-1)
    with pytest.raises(ShapeMismatchError, match="grey"):
        FSeq_arr(np.ones((3, 4, 4, 3))).correlation_image()
