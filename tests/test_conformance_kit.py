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
