"""The conformance kit run on in-memory arrays (``FSeq_arr``): checks the kit and the engine."""

import numpy as np

from imfun.fseq import FSeq_arr
from imfun.testing import ReaderConformance


class TestArrayGrey(ReaderConformance):
    seq_class = FSeq_arr

    def write(self, tmp_path, frames):
        return frames


class TestArrayColour(ReaderConformance):
    seq_class = FSeq_arr
    colour = True

    def write(self, tmp_path, frames):
        return frames


class TestArrayFloatLossy(ReaderConformance):
    """A float stack compared with a tolerance, as for lossy formats."""

    seq_class = FSeq_arr
    atol = 1e-3

    def write(self, tmp_path, frames):
        noise = np.random.default_rng(5).uniform(-1e-4, 1e-4, frames.shape)
        return frames.astype(np.float64) + noise

    def expected(self, frames):
        return frames.astype(np.float64)


class TestArrayOnAMemoryMap(ReaderConformance):
    """FSeq_arr over a memory-mapped file: pickles (and enters a dask graph) as its file, not its pixels."""

    seq_class = FSeq_arr

    def write(self, tmp_path, frames):
        np.save(tmp_path / "frames.npy", frames)
        return np.load(tmp_path / "frames.npy", mmap_mode="r")


def test_a_memory_mapped_array_pickles_without_its_pixels(tmp_path):
    import pickle

    data = np.arange(50 * 16 * 16, dtype=np.uint16).reshape(50, 16, 16)
    data.tofile(tmp_path / "raw.dat")
    mm = np.memmap(tmp_path / "raw.dat", dtype=np.uint16, mode="r", shape=(50, 16, 16))
    for arr in (mm, mm[10:30]):
        blob = pickle.dumps(FSeq_arr(arr))
        assert len(blob) < 1000
        np.testing.assert_array_equal(np.asarray(pickle.loads(blob)), np.asarray(arr))
