"""Registering a file into a file stays near the memory budget (the file is much larger than it)."""

import tracemalloc

import numpy as np
import pytest
import tifffile

from imfun.fseq import open_seq

BUDGET = 2 * 2**20
REPEAT = 2  # the moving movie, written twice over: 160 frames, 5 MiB of uint16, 10 MiB as float32


@pytest.fixture(scope="module")
def moving_tiff(tmp_path_factory, rigid_movie):
    movie, motion, _ = rigid_movie
    path = tmp_path_factory.mktemp("memory") / "moving.tif"
    mm = tifffile.memmap(path, shape=(REPEAT * len(movie), *movie.shape[1:]), dtype=movie.dtype, imagej=True)
    for k in range(REPEAT):  # a copy at a time: the whole movie is never in memory
        mm[k * len(movie):(k + 1) * len(movie)] = movie
    mm.flush()
    del mm
    return path, np.tile(motion.shifts, (REPEAT, 1)), movie


def traced_peak(fn) -> int:
    """Peak bytes allocated (traced by tracemalloc: numpy arrays in every thread) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("nonrigid", [False, True])
def test_registering_a_file_into_a_tiff_stays_near_the_budget(moving_tiff, tmp_path, nonrigid):
    path, truth, movie = moving_tiff
    out = tmp_path / "registered.tif"
    fs = open_seq(path)
    assert len(fs) == REPEAT * len(movie)
    found = {}

    def run(fslice=None, path=out):
        found["reg"] = reg = fs.register(nonrigid=nonrigid, block_size=64, max_shift=8, fslice=fslice,
                                         budget=BUDGET)
        reg.to_tiff(path, budget=BUDGET)

    run(8, tmp_path / "warm.tif")  # the modules it imports the first time are not the run's memory
    peak = traced_peak(run)
    # the budget, the warp threads' frames in flight, the template's sample and the spectra
    assert peak < 2 * BUDGET, f"peak {peak / 2**20:.1f} MiB for a {BUDGET / 2**20:.0f} MiB budget"
    reg = found["reg"]
    err = reg.shifts - truth
    err -= np.median(err, axis=0)  # the template's own offset
    assert np.sqrt((err**2).mean()) <= 0.07
    # what was written is the registered sequence: the first and the last copy of the movie
    with tifffile.TiffFile(out) as tif:
        assert len(tif.pages) == len(fs)
        for k in (0, len(fs) - 1):
            np.testing.assert_array_equal(tif.pages[k].asarray(), reg[k])
