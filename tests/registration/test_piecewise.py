"""Piecewise-rigid registration on a known smooth warp; the block grid and the shift field."""

import threading

import numpy as np
import pytest
from scipy import ndimage

from imfun.fseq import FSeq_arr
from imfun.registration.apply import each_frame
from imfun.registration.piecewise import Grid, block_shape


def block_rmse(reg, motion) -> float:
    """RMSE at the block centres after removing each block's median offset (the template's own
    distortion: it is the mean of warped frames)."""
    c = reg.block_centers
    err = reg.block_shifts - motion.displacement(np.arange(len(reg)), c[..., 0], c[..., 1])
    err = err - np.median(err, axis=0)
    return float(np.sqrt((err**2).mean()))


def test_smooth_warp_recovered_at_block_centres(warped_movie):
    movie, motion = warped_movie
    reg = FSeq_arr(movie).register(nonrigid=True, block_size=64)
    assert reg.block_shifts.shape == (len(movie), 4, 4, 2) and reg.block_centers.shape == (4, 4, 2)
    assert block_rmse(reg, motion) <= 0.15
    # the warp is real: a rigid registration leaves errors at the block centres
    c = reg.block_centers
    truth = motion.displacement(np.arange(len(movie)), c[..., 0], c[..., 1])
    assert np.abs(truth - truth.mean(axis=(1, 2), keepdims=True)).max() > 1.0


def test_piecewise_frames_equal_map_coordinates_reference(warped_movie):
    movie, _ = warped_movie
    reg = FSeq_arr(movie[:6]).register(nonrigid=True, block_size=64, order=1)
    field = reg.reader.grid.field(reg.block_shifts, (0, 160), (0, 160))
    yy, xx = np.mgrid[0:160, 0:160].astype(float)
    ref = np.stack([ndimage.map_coordinates(f.astype(float), [yy + d[..., 0], xx + d[..., 1]], order=1,
                                            mode="nearest") for f, d in zip(movie[:6], field, strict=True)])
    np.testing.assert_allclose(np.asarray(reg), ref, rtol=1e-5, atol=1e-3)
    crop = reg.as3darray(crop=(slice(30, 90), slice(100, 160)), dtype=None)
    np.testing.assert_allclose(crop, ref[:, 30:90, 100:160], rtol=1e-5, atol=1e-3)


def test_piecewise_cubic_frames_equal_map_coordinates_reference(warped_movie):
    """order=3 (the default): scipy's cubic splines, in the warp threads, whole frames and a crop."""
    movie, _ = warped_movie
    reg = FSeq_arr(movie[:6]).register(nonrigid=True, block_size=64, fill="nan")
    field = reg.reader.grid.field(reg.block_shifts, (0, 160), (0, 160))
    yy, xx = np.mgrid[0:160, 0:160].astype(float)
    src = [yy + field[..., 0], xx + field[..., 1]]
    ref = np.stack([ndimage.map_coordinates(f.astype(float), [np.clip(src[0][k], 0, 159),
                                                              np.clip(src[1][k], 0, 159)], order=3,
                                            mode="nearest") for k, f in enumerate(movie[:6])])
    outside = (src[0] < -1e-6) | (src[0] > 159 + 1e-6) | (src[1] < -1e-6) | (src[1] > 159 + 1e-6)
    ref[outside] = np.nan
    scale = float(movie.max())
    np.testing.assert_allclose(np.asarray(reg) / scale, ref / scale, atol=2e-5)
    crop = reg.as3darray(crop=(slice(20, 100), slice(90, 160)), dtype=None)
    np.testing.assert_allclose(crop / scale, ref[:, 20:100, 90:160] / scale, atol=2e-5)


def test_frames_moved_in_the_warp_threads_equal_frames_moved_serially(warped_movie):
    """A call from a warp thread moves its frames itself: the same frames, rigid and piecewise."""
    movie, _ = warped_movie
    fs = FSeq_arr(movie[:8])
    for reg in (fs.register(), fs.register(nonrigid=True, block_size=64)):
        threaded = np.asarray(reg)
        serial = {}
        worker = threading.Thread(name="imfun-warp-test", args=(serial, reg),
                                  target=lambda out, r: out.update(a=np.asarray(r)))
        worker.start()
        worker.join()
        np.testing.assert_array_equal(serial["a"], threaded)
    with pytest.raises(ZeroDivisionError):  # an error in a frame reaches the caller
        each_frame(lambda k: 1 / 0, 3)


def test_piecewise_registration_is_crisper_than_rigid_on_a_warp(warped_movie):
    movie, _ = warped_movie
    fs = FSeq_arr(movie)
    rigid = fs.register().metrics()["crispness_after"]
    piecewise = fs.register(nonrigid=True, block_size=64).metrics()["crispness_after"]
    assert piecewise > rigid


def test_shift_field_is_smooth_and_interpolates_the_block_shifts():
    g = Grid((100, 130), (40, 40))
    rng = np.random.default_rng(0)
    b = rng.uniform(-2, 2, (2, *g.n_blocks, 2))
    f = g.field(b, (0, 100), (0, 130))
    cy, cx = g.centers[:, 0, 0], g.centers[0, :, 1]
    # at the centres (integer pixels nearest to them) the field is close to the block shifts
    iy, ix = np.round(cy).astype(int), np.round(cx).astype(int)
    np.testing.assert_allclose(f[:, iy][:, :, ix], b, atol=0.2)
    # no seams: neighbouring pixels differ little
    assert np.abs(np.diff(f, axis=1)).max() < 0.5 and np.abs(np.diff(f, axis=2)).max() < 0.5
    # a constant block field is the same constant everywhere
    const = g.field(np.full((1, *g.n_blocks, 2), 1.25), (10, 20), (0, 130))
    np.testing.assert_allclose(const, 1.25, rtol=1e-6)


def test_low_contrast_blocks_follow_their_neighbours():
    """A featureless quarter of the frame: its blocks take their neighbours' shift."""
    base = ndimage.gaussian_filter(np.random.default_rng(3).standard_normal((128, 128)), 1.0) * 50 + 100
    base[:64, :64] = 100.0  # no structure
    shifts = np.array([[0.0, 0.0], [1.5, -1.0], [-2.0, 0.5], [0.5, 2.0]])
    fs = FSeq_arr(np.stack([ndimage.shift(base, s, order=3, mode="nearest") for s in shifts]))
    reg = fs.register(base, nonrigid=True, block_size=48)
    want = np.broadcast_to(shifts[:, None, None], reg.block_shifts.shape)
    np.testing.assert_allclose(reg.block_shifts, want, atol=0.35)


def test_block_sizes_are_checked():
    assert block_shape(32, (64, 80)) == (32, 32) and block_shape((16, 40), (64, 80)) == (16, 40)
    for bad in [(0, 10), 8, (65, 32), "x", (1.5, 3)]:
        with pytest.raises(ValueError):
            block_shape(bad, (64, 80))
