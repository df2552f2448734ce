"""The synthetic motion with ground truth (imfun.synthdata) that the registration tests use."""

import numpy as np
from scipy import ndimage

from imfun.synthdata import (
    Motion,
    move_movie,
    moving_two_photon_movie,
    rigid_walk,
    smooth_warp,
    two_photon_movie,
)


def test_rigid_walk_is_bounded_subpixel_and_jumps():
    s = rigid_walk(2000, max_shift=8.0, step=0.3, jump_every=100, jump_size=4, seed=2)
    assert s.shape == (2000, 2) and np.abs(s).max() <= 8.0 + 1e-9 and np.all(s[0] == 0)
    steps = np.abs(np.diff(s, axis=0)).max(axis=1)
    assert (steps > 1.5).sum() >= 5  # jumps
    assert np.mean(np.abs(s - np.round(s)) > 0.05) > 0.8  # sub-pixel
    np.testing.assert_array_equal(s, rigid_walk(2000, 8.0, 0.3, 100, 4, seed=2))


def test_move_movie_applies_the_motion_as_scipy_does():
    still = two_photon_movie(3, (40, 40), n_cells=3, noise=False, dtype=np.float64).movie
    motion = Motion(np.array([[0.0, 0.0], [1.5, -2.0], [-0.5, 3.25]]), bidi_phase=1.0)
    moved = move_movie(still, motion)
    want = ndimage.shift(still[1], (1.5, -2.0), order=3, mode="nearest")
    want[1::2] = ndimage.shift(want[1::2], (0, 1.0), order=3, mode="nearest")
    np.testing.assert_allclose(moved[1], want)


def test_smooth_warp_displacement_and_moving_movie():
    m = smooth_warp(50, amplitude=2.0, wavelength=100.0, seed=1, shifts=np.ones((50, 2)))
    yy, xx = np.mgrid[0:60, 0:60]
    d = m.displacement(np.arange(50), yy, xx)
    assert np.abs(d - 1).max() <= 2.0 + 1e-9 and np.abs(d - 1).max() > 1.0
    # smooth: neighbouring pixels move by nearly the same amount
    assert np.abs(np.diff(d, axis=1)).max() < 0.2
    sm, motion, still = moving_two_photon_movie(10, (48, 48), n_cells=3, max_shift=2.0, warp=1.0, seed=2)
    assert sm.movie.shape == still.shape == (10, 48, 48) and motion.warp.shape == (10, 2)
