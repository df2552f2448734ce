"""FSeq_tiffs: one acquisition split over several multi-page TIFF files."""

import numpy as np
import psutil
import pytest
import tifffile

from imfun.errors import ShapeMismatchError
from imfun.fseq import FSeq_glob, FSeq_tiffs, open_seq
from imfun.readers import files
from imfun.testing import ReaderConformance


def split_write(folder, frames, sizes, **kwargs):
    """Write frames over files of the given numbers of frames; return the glob."""
    if not kwargs.get("imagej"):
        kwargs.setdefault("photometric", "minisblack")  # (3 or 4, h, w) is not one RGB page
    start = 0
    for i, n in enumerate(sizes, 1):
        tifffile.imwrite(folder / f"acq_{i:05d}.tif", frames[start:start + n], **kwargs)
        start += n
    return str(folder / "acq_*.tif")


class TestSplitImageJ(ReaderConformance):
    seq_class = FSeq_tiffs

    def write(self, tmp_path, frames):
        return split_write(tmp_path, frames, [5, 5, 2], imagej=True,
                           metadata={"axes": "TYX", "finterval": 0.25})

    def test_axes_from_the_first_file(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["axes"][0] == (0.25, "s")
        assert len(fs.source_paths()) == 3


class TestSplitCompressed(ReaderConformance):
    seq_class = FSeq_tiffs

    def write(self, tmp_path, frames):
        return split_write(tmp_path, frames, [4, 8], compression="zlib")


def test_single_page_files_stay_an_image_glob(tmp_path):
    frames = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    pattern = split_write(tmp_path, frames, [1, 1, 1])
    fs = open_seq(pattern)
    assert type(fs) is FSeq_glob
    np.testing.assert_array_equal(np.asarray(fs), frames)


def test_files_of_other_shapes_are_named(tmp_path):
    tifffile.imwrite(tmp_path / "a_1.tif", np.zeros((3, 4, 5), np.uint16), photometric="minisblack")
    tifffile.imwrite(tmp_path / "a_2.tif", np.zeros((3, 4, 6), np.uint16), photometric="minisblack")
    with pytest.raises(ShapeMismatchError, match=r"a_2\.tif"):
        open_seq(str(tmp_path / "a_*.tif"))


def test_many_files_keep_few_open(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "MAX_OPEN", 4)  # the process' file manager
    frames = np.random.default_rng(0).integers(0, 99, (120, 6, 7)).astype(np.uint16)
    pattern = split_write(tmp_path, frames, [3] * 40, compression="zlib")
    before = psutil.Process().num_fds()
    with open_seq(pattern) as fs:
        np.testing.assert_array_equal(np.asarray(fs), frames)
        assert psutil.Process().num_fds() - before <= 4
        np.testing.assert_allclose(fs.mean_frame(), frames.mean(0))
    assert psutil.Process().num_fds() == before
