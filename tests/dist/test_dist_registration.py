"""Shifts estimated in block tasks on a real dask cluster equal the local engine's."""

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

from imfun.fseq import FSeq_arr  # noqa: E402


@pytest.fixture(scope="module")
def rigid_movie():
    """``(movie uint16 (80, 128, 128), motion, still)``: a rigid sub-pixel walk within 5 px."""
    from imfun.synthdata import moving_two_photon_movie

    sm, motion, still = moving_two_photon_movie(80, (128, 128), n_cells=14, max_shift=5.0, seed=3)
    return sm.movie, motion, still


def test_dask_cluster_equals_local(client, rigid_movie):
    movie, _, _ = rigid_movie
    fs = FSeq_arr(movie[:40])  # the array travels to the workers with the sequence
    local = fs.register(budget="1 MiB", engine="local")
    on_dask = fs.register(local.template, budget="1 MiB", engine=client)
    np.testing.assert_allclose(on_dask.shifts, local.shifts, rtol=0, atol=1e-6)
    nonrigid_local = fs.register(local.template, nonrigid=True, block_size=64, budget="1 MiB")
    nonrigid_dask = fs.register(local.template, nonrigid=True, block_size=64, budget="1 MiB", engine=client)
    np.testing.assert_allclose(nonrigid_dask.block_shifts, nonrigid_local.block_shifts, rtol=0, atol=1e-6)
    # the registered sequence itself travels to the workers
    np.testing.assert_allclose(local.mean_frame(engine=client), np.asarray(local).mean(axis=0), rtol=1e-5)


def test_dask_threads_equal_local(rigid_movie):
    movie, _, _ = rigid_movie
    fs = FSeq_arr(movie[:30])
    local = fs.register(budget="2 MiB")
    threads = fs.register(local.template, budget="2 MiB", engine="dask")
    np.testing.assert_allclose(threads.shifts, local.shifts, rtol=0, atol=1e-6)
