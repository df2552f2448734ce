"""FSeq_npy and FSeq_txt on files written by numpy."""

import warnings

import numpy as np
import pytest

from imfun.errors import (
    CorruptFileError,
    ImfunWarning,
    InvalidArgumentError,
    ShapeMismatchError,
    UnsupportedFormatError,
)
from imfun.fseq import FSeq_npy, FSeq_txt, open_seq
from imfun.fseq.sequence import FrameSequence
from imfun.readers.npy import NpyReader
from imfun.testing import ReaderConformance


# -- .npy -------------------------------------------------------------------------------------
class TestNpyStack(ReaderConformance):
    seq_class = FSeq_npy

    def write(self, tmp_path, frames):
        path = tmp_path / "stack.npy"
        np.save(path, frames)
        return path

    def test_memory_mapped(self, frames_fs):
        _, fs = frames_fs
        assert fs.reader.cheap_crop
        assert not fs.reader.read(slice(0, 3)).flags.writeable  # a view of the map


class TestNpyFortranFloat(ReaderConformance):
    seq_class = FSeq_npy

    def write(self, tmp_path, frames):
        path = tmp_path / "fortran.npy"
        np.save(path, np.asfortranarray(frames.astype(np.float32)))
        return path

    def expected(self, frames):
        return frames.astype(np.float32)


class TestNpyColourStack(ReaderConformance):
    seq_class = FSeq_npy
    colour = True

    def write(self, tmp_path, frames):
        path = tmp_path / "rgb.npy"
        np.save(path, frames)
        return path


class TestNpyGlob(ReaderConformance):
    """One frame per file, opened by a glob (natural order: f2 before f10)."""

    seq_class = FSeq_npy

    def write(self, tmp_path, frames):
        for i, frame in enumerate(frames):
            np.save(tmp_path / f"f{i}.npy", frame)
        return str(tmp_path / "f*.npy")


class TestNpyListColour(ReaderConformance):
    seq_class = FSeq_npy
    colour = True

    def write(self, tmp_path, frames):
        paths = []
        for i, frame in enumerate(frames):
            paths.append(tmp_path / f"frame_{i:03d}.npy")
            np.save(paths[-1], frame)
        return paths


def test_npy_2d_is_one_frame(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, np.arange(12.0).reshape(3, 4))
    with open_seq(path) as fs:
        assert type(fs) is FSeq_npy and len(fs) == 1
        np.testing.assert_array_equal(fs[0], np.arange(12.0).reshape(3, 4))


def test_npy_folder(tmp_path):
    for i in range(5):
        np.save(tmp_path / f"t{i}.npy", np.full((4, 6), i, np.int16))
    with open_seq(tmp_path) as fs:
        assert type(fs) is FSeq_npy and len(fs) == 5
        np.testing.assert_array_equal(fs.mean_frame(), np.full((4, 6), 2.0))


def test_npy_shape_mismatch_names_the_file(tmp_path):
    for i in range(4):
        np.save(tmp_path / f"f{i}.npy", np.zeros((8, 8) if i != 2 else (8, 9), np.uint8))
    with pytest.raises(ShapeMismatchError, match=r"f2\.npy"):
        FSeq_npy(str(tmp_path / "f*.npy"))


def test_npy_dtype_mismatch(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((4, 4), np.uint8))
    np.save(tmp_path / "b.npy", np.zeros((4, 4), np.float32))
    with pytest.raises(ShapeMismatchError, match=r"b\.npy"):
        FSeq_npy([tmp_path / "a.npy", tmp_path / "b.npy"])


def test_npy_object_array_is_refused(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([[{"a": 1}, None]] * 2, dtype=object), allow_pickle=True)
    with pytest.raises(UnsupportedFormatError, match="never unpickles"):
        open_seq(path)


def test_npy_bad_dimensions(tmp_path):
    path = tmp_path / "vec.npy"
    np.save(path, np.arange(5))
    with pytest.raises(ShapeMismatchError, match=r"\(5,\)"):
        FSeq_npy(path)


def test_npy_truncated(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.zeros((10, 16, 16), np.uint16))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptFileError, match=r"cut\.npy"):
        open_seq(path)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(CorruptFileError, match=r"junk\.npy"):
        FSeq_npy(tmp_path / "junk.npy")


# -- text --------------------------------------------------------------------------------------
class TestTextGlob(ReaderConformance):
    seq_class = FSeq_txt

    def write(self, tmp_path, frames):
        for i, frame in enumerate(frames):
            np.savetxt(tmp_path / f"frame{i}.txt", frame, fmt="%d")
        return str(tmp_path / "frame*.txt")

    def expected(self, frames):
        return frames.astype(np.float64)


class TestTextListCommas(ReaderConformance):
    seq_class = FSeq_txt

    def make_frames(self):
        return np.random.default_rng(3).normal(size=(12, 16, 20))

    def write(self, tmp_path, frames):
        paths = []
        for i, frame in enumerate(frames):
            paths.append(tmp_path / f"f_{i}.txt")
            np.savetxt(paths[-1], frame, delimiter=",", fmt="%.17g", header="a comment")
        return paths


def test_text_single_file(tmp_path):
    path = tmp_path / "one.txt"
    np.savetxt(path, np.arange(6).reshape(2, 3))
    with open_seq(path) as fs:
        assert type(fs) is FSeq_txt and len(fs) == 1 and fs.dtype == np.float64
        np.testing.assert_array_equal(fs[0], np.arange(6).reshape(2, 3))


def test_text_shape_mismatch_names_the_file(tmp_path):
    np.savetxt(tmp_path / "a1.txt", np.zeros((3, 4)))
    np.savetxt(tmp_path / "a2.txt", np.zeros((3, 5)))
    with FSeq_txt(str(tmp_path / "a*.txt")) as fs:
        np.testing.assert_array_equal(fs[0], np.zeros((3, 4)))
        with pytest.raises(ShapeMismatchError, match=r"a2\.txt"):
            np.asarray(fs)


def test_text_not_numbers(tmp_path):
    (tmp_path / "bad.txt").write_text("hello world\n1 2\n")
    with pytest.raises(CorruptFileError, match=r"bad\.txt"):
        FSeq_txt(tmp_path / "bad.txt")


# -- a 3-D .npy that is one colour image (issue 11, item 8) ------------------------------------
def test_npy_rgb_image_is_one_colour_frame_and_says_so(tmp_path):
    image = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)  # as imageio reads a PNG
    path = tmp_path / "photo.npy"
    np.save(path, image)
    with pytest.warns(ImfunWarning, match=r"one colour frame.*colour=False"), open_seq(path) as fs:
        assert len(fs) == 1 and fs.frame_shape == (48, 64, 3)
        np.testing.assert_array_equal(fs[0], image)
        np.testing.assert_array_equal(np.asarray(fs), image[None])
        assert "one colour frame" in fs.reader.metadata["layout"]


def test_npy_colour_false_forces_frames_and_colour_true_one_frame(tmp_path):
    path = tmp_path / "photo.npy"
    image = np.arange(48 * 64 * 4, dtype=np.uint16).reshape(48, 64, 4)
    np.save(path, image)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a choice made by the caller is not warned about
        frames = FrameSequence(NpyReader(path, colour=False))
        np.testing.assert_array_equal(np.asarray(frames), image)
        assert "48 frames" in frames.reader.metadata["layout"]
        stack = np.zeros((10, 8, 5), np.int16)
        np.save(tmp_path / "five.npy", stack)
        assert FrameSequence(NpyReader(tmp_path / "five.npy", colour=True)).frame_shape == (10, 8, 5)
    np.save(tmp_path / "two.npy", np.zeros((4, 5)))
    with pytest.raises(InvalidArgumentError, match="colour="):
        NpyReader(tmp_path / "two.npy", colour=True)


@pytest.mark.parametrize("shape", [(100, 64, 64), (4, 64, 3), (30, 3, 64)])
def test_npy_stacks_stay_frames_without_a_warning(tmp_path, shape):
    path = tmp_path / "stack.npy"
    np.save(path, np.ones(shape, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_seq(path) as fs:
            assert len(fs) == shape[0] and fs.frame_shape == shape[1:]
