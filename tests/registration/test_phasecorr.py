"""Sub-pixel phase correlation and the line-scan phase, against known shifts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from imfun.registration.phasecorr import Reference, bidi_offset, taper_window
from imfun.synthdata import two_photon_movie


@pytest.fixture(scope="module")
def scene():
    sm = two_photon_movie(n_frames=1, shape=(256, 256), n_cells=28, seed=1, noise=False)
    return sm.movie[0].astype(float)


def test_known_subpixel_shifts_are_recovered(scene):
    rng = np.random.default_rng(0)
    truth = rng.uniform(-6, 6, (40, 2))
    moved = np.stack([ndimage.shift(scene, s, order=3, mode="nearest") for s in truth])
    est = Reference(scene, max_shift=12).estimate(moved).shifts
    rmse = np.sqrt(((est - truth) ** 2).mean())
    assert rmse <= 0.02, rmse
    noisy = rng.poisson(np.clip(moved, 0, None)).astype(float)
    rmse_noisy = np.sqrt(((Reference(scene, 12).estimate(noisy).shifts - truth) ** 2).mean())
    assert rmse_noisy <= 0.05, rmse_noisy


@settings(max_examples=15, deadline=None)
@given(dy=st.floats(-7.5, 7.5), dx=st.floats(-7.5, 7.5))
def test_any_shift_within_max_shift_is_found(dy, dx):
    base = ndimage.gaussian_filter(np.random.default_rng(7).standard_normal((96, 96)), 1.0)
    moved = ndimage.shift(base, (dy, dx), order=3, mode="nearest")
    est = Reference(base, max_shift=8).estimate(moved[None])
    np.testing.assert_allclose(est.shifts[0], [dy, dx], atol=0.1)


def test_shifts_beyond_max_shift_are_flagged(scene):
    moved = ndimage.shift(scene, (0, 4.8), order=1, mode="nearest")
    est = Reference(scene, max_shift=4).estimate(moved[None])
    assert est.at_max[0] and est.shifts[0, 1] == 4
    assert not Reference(scene, max_shift=6).estimate(moved[None]).at_max[0]


def test_taper_window_is_one_inside_and_zero_at_the_border():
    w = taper_window((64, 80))
    assert w[32, 40] == 1 and w[0].max() == 0 and w[:, 0].max() == 0 and w.min() >= 0


@pytest.mark.parametrize("offset", [1.0, -2.0, 3.0])
def test_integer_bidi_offsets_are_exact(scene, offset):
    img = scene.copy()
    img[1::2] = np.roll(scene[1::2], int(offset), axis=1)
    img[1::2, :4], img[1::2, -4:] = scene[1::2, :4], scene[1::2, -4:]  # no wrapped columns
    assert bidi_offset(img) == offset


@pytest.mark.parametrize("offset", [0.3, -0.75, 1.6, 2.4])
def test_subpixel_bidi_offsets_within_a_tenth(scene, offset):
    img = scene.copy()
    img[1::2] = ndimage.shift(scene[1::2], (0, offset), order=3, mode="nearest")
    assert abs(bidi_offset(img) - offset) <= 0.1


def test_no_bidi_offset_gives_zero(scene):
    assert bidi_offset(scene) == 0.0
