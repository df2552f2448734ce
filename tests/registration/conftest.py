"""Fixtures of the registration tests: small moving movies with known motion."""

from __future__ import annotations

import pytest

from imfun.synthdata import moving_two_photon_movie


@pytest.fixture(scope="session")
def rigid_movie():
    """``(movie uint16 (80, 128, 128), motion, still)``: a rigid sub-pixel walk within 5 px."""
    sm, motion, still = moving_two_photon_movie(80, (128, 128), n_cells=14, max_shift=5.0, seed=3)
    return sm.movie, motion, still


@pytest.fixture(scope="session")
def warped_movie():
    """``(movie, motion)``: a rigid walk within 3 px plus a smooth ±2 px warp, 160 x 160."""
    sm, motion, _ = moving_two_photon_movie(48, (160, 160), n_cells=30, max_shift=3.0, warp=2.0, seed=5)
    return sm.movie, motion


