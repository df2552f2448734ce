"""Tests of the image-collection reader (FSeq_img / FSeq_glob)."""

from __future__ import annotations

import pickle

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from imfun.errors import ChannelError, CorruptFileError, ShapeMismatchError, SourceNotFoundError
from imfun.fseq import FSeq_glob, FSeq_img, open_seq
from imfun.readers.images import ImageFilesReader
from imfun.testing import ReaderConformance


def write_files(folder, frames, ext, writer=iio.imwrite, name="frame", **kwargs):
    """Write one file per frame; return the glob pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        writer(folder / f"{name}{i}{ext}", frame, **kwargs)
    return str(folder / f"{name}*{ext}")


def grey8(self):
    return np.random.default_rng(7).integers(0, 256, (12, 16, 20), dtype=np.uint8)


def smooth8(self):
    """Smooth frames with a little noise: lossy codecs keep them within a few levels."""
    t, y, x = np.mgrid[:12, :16, :20]
    rng = np.random.default_rng(3)
    frames = 100 + 60 * np.sin(x / 4 + t / 3) * np.cos(y / 5) + rng.normal(0, 2, t.shape)
    return np.clip(frames, 0, 255).astype(np.uint8)


# -- conformance on formats written by their own libraries ---------------------------------
class GlobConformance(ReaderConformance):
    """One file per frame, written with ``writer`` and ``write_kwargs``, ending in ``ending``."""

    seq_class = FSeq_glob
    ending = ".png"
    writer = staticmethod(iio.imwrite)
    write_kwargs: dict = {}  # noqa: RUF012

    def write(self, tmp_path, frames):
        return write_files(tmp_path, frames, self.ending, writer=self.writer, **self.write_kwargs)


class TestPngGrey8(GlobConformance):
    make_frames = grey8


class TestPngGrey16(GlobConformance):
    pass


class TestPngColour(GlobConformance):
    colour = True


class TestBmp(GlobConformance):
    make_frames = grey8
    ending = ".bmp"


class TestTiffPerFrame(GlobConformance):
    ending = ".tif"
    writer = staticmethod(tifffile.imwrite)


class TestJpeg(GlobConformance):
    atol = 12
    make_frames = smooth8
    ending = ".jpg"
    write_kwargs = {"quality": 95}  # noqa: RUF012


class TestPgm16(GlobConformance):
    ending = ".pgm"


class TestGif(GlobConformance):
    """GIF is a palette format: imageio (and so the reader) gives RGB frames."""

    colour = True
    make_frames = grey8
    ending = ".gif"

    def expected(self, frames):
        return np.repeat(frames[..., None], 3, axis=-1)


class TestListOfNames(ReaderConformance):
    """A list of file names is taken in its own order."""

    seq_class = FSeq_glob
    make_frames = grey8

    def write(self, tmp_path, frames):
        names = [tmp_path / f"img_{chr(ord('z') - i)}.png" for i in range(len(frames))]
        for name, frame in zip(names, frames, strict=True):
            iio.imwrite(name, frame)
        return [str(n) for n in names]


class TestDirectory(ReaderConformance):
    seq_class = FSeq_glob
    colour = True

    def write(self, tmp_path, frames):
        write_files(tmp_path / "frames", frames, ".png")
        (tmp_path / "frames" / "notes.txt.bak").write_text("not a frame")
        return tmp_path / "frames"


# -- behaviour ------------------------------------------------------------------------------
def test_natural_sort(tmp_path):
    for i in (10, 2, 1, 21, 3):
        iio.imwrite(tmp_path / f"f{i}.png", np.full((4, 6), i, np.uint8))
    with open_seq(str(tmp_path / "f*.png")) as fs:
        assert [int(f[0, 0]) for f in fs] == [1, 2, 3, 10, 21]
        assert fs.source_paths()[-1].name == "f21.png"


def test_class_names_and_path_object(tmp_path):
    pattern = write_files(tmp_path, grey8(None)[:3], ".png")
    with open_seq(pattern) as fs:
        assert type(fs) is FSeq_glob and isinstance(fs, FSeq_img)
    with FSeq_img(tmp_path / "frame*.png", meta={"axes": [(0.5, "s")]}) as fs:
        assert len(fs) == 3 and fs.meta["axes"][0] == (0.5, "s")
        np.testing.assert_array_equal(fs.frame_idx(), [0, 0.5, 1.0])


def test_mixed_shapes_named_at_open_when_asked(tmp_path):
    files = []
    for i in range(5):
        files.append(str(tmp_path / f"f{i}.png"))
        iio.imwrite(files[-1], np.zeros((8, 10) if i != 3 else (8, 11), np.uint8))
    with pytest.raises(ShapeMismatchError, match=r"f3\.png"):
        ImageFilesReader(files, check_headers=True)
    with open_seq(str(tmp_path / "*.png")) as fs:  # a glob opens without a pass over every header
        np.testing.assert_array_equal(fs[:3], 0)
        with pytest.raises(ShapeMismatchError, match=r"f3\.png differs from the first file"):
            np.asarray(fs)


def test_mixed_dtypes_named_at_open(tmp_path):
    iio.imwrite(tmp_path / "f0.png", np.zeros((8, 10), np.uint8))
    iio.imwrite(tmp_path / "f1.png", np.zeros((8, 10), np.uint8))
    iio.imwrite(tmp_path / "f2.png", np.zeros((8, 10), np.uint16))
    with pytest.raises(ShapeMismatchError, match=r"f2\.png"), open_seq(str(tmp_path / "*.png")) as fs:
        fs.mean_frame()


def test_mixed_shapes_named_at_read(tmp_path):
    files = []
    for i in range(6):
        files.append(str(tmp_path / f"f{i}.png"))
        iio.imwrite(files[-1], np.zeros((8, 10) if i < 4 else (9, 10), np.uint8))
    reader = ImageFilesReader(files, check_headers=False)
    np.testing.assert_array_equal(reader.read(slice(0, 4)), 0)
    with pytest.raises(ShapeMismatchError, match=r"f4\.png.*\(9, 10\)"):
        reader.read(slice(None))


def test_corrupt_file(tmp_path):
    write_files(tmp_path, grey8(None)[:3], ".png")
    (tmp_path / "frame1.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(CorruptFileError, match=r"frame1\.png"):
        np.asarray(open_seq(str(tmp_path / "*.png")))


def test_channels(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (4, 8, 10, 3), dtype=np.uint8)
    pattern = write_files(tmp_path / "rgb", rgb, ".png")
    for ch, c in ((0, 0), (1, 1), ("g", 1), ("B", 2), (-1, 2)):
        with open_seq(pattern, ch=ch) as fs:
            assert fs.frame_shape == (8, 10)
            np.testing.assert_array_equal(np.asarray(fs), rgb[..., c])
    with open_seq(pattern) as fs:
        assert fs.frame_shape == (8, 10, 3)
    for bad in (3, "x", "a"):
        with pytest.raises(ChannelError):
            open_seq(pattern, ch=bad)
    grey = write_files(tmp_path / "grey", rgb[..., 0], ".png")
    with open_seq(grey, ch=0) as fs:
        np.testing.assert_array_equal(np.asarray(fs), rgb[..., 0])
    with pytest.raises(ChannelError, match="grey"):
        open_seq(grey, ch="g")


def test_empty_glob(tmp_path):
    with pytest.raises(SourceNotFoundError):
        open_seq(str(tmp_path / "nothing*.png"))
    with pytest.raises(SourceNotFoundError):
        FSeq_img(str(tmp_path / "*.png"))


def test_parallel_read_equals_sequential(tmp_path):
    frames = np.random.default_rng(2).integers(0, 60000, (40, 32, 48), dtype=np.uint16)
    pattern = write_files(tmp_path, frames, ".png")
    with open_seq(pattern) as fs:
        np.testing.assert_array_equal(np.asarray(fs), frames)  # one block, threads
        np.testing.assert_array_equal(np.stack([fs[i] for i in range(40)]), frames)
        crop = (slice(3, 20), slice(5, 40, 3))
        np.testing.assert_array_equal(fs.reader.read(np.arange(0, 40, 3), crop),
                                      frames[::3, 3:20, 5:40:3])


def test_pickle_keeps_channel(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (3, 8, 10, 3), dtype=np.uint8)
    with open_seq(write_files(tmp_path, rgb, ".png"), ch="b") as fs:
        again = pickle.loads(pickle.dumps(fs))
        np.testing.assert_array_equal(np.asarray(again), rgb[..., 2])
        again.close()


# -- real files -------------------------------------------------------------------------------
def test_pims_image_sequence(shared_data):
    with open_seq(str(shared_data / "pims" / "image_sequence" / "*.png")) as fs:
        assert type(fs) is FSeq_glob
        assert len(fs) == 5 and fs.frame_shape == (424, 640) and fs.dtype == np.uint8
        data = np.asarray(fs)
        # files 1-3 are the same picture, and 4-5
        np.testing.assert_array_equal(data[0], data[2])
        np.testing.assert_array_equal(data[3], data[4])
        assert not np.array_equal(data[0], data[3])


def test_trackpy_bulk_water_rgba(shared_data):
    folder = shared_data / "trackpy" / "bulk_water"
    with open_seq(str(folder / "*.png")) as fs:
        assert len(fs) == 20 and fs.frame_shape == (424, 640, 4) and fs.dtype == np.uint8
        assert fs.source_paths()[0].name == "bulk_water_000.png"
        frame0 = np.load(shared_data / "pims" / "bulk-water_frame0.npy", allow_pickle=False)
        frame1 = np.load(shared_data / "pims" / "bulk-water_frame1.npy", allow_pickle=False)
        np.testing.assert_array_equal(fs[0][..., :3], frame0)
        np.testing.assert_array_equal(fs[1][..., :3], frame1)
    with open_seq(folder, ch="g") as fs:  # a folder: its PNG files
        assert len(fs) == 20
        np.testing.assert_array_equal(fs[0], frame0[..., 1])


def test_trackpy_foam_tiff_glob(shared_data):
    with open_seq(str(shared_data / "trackpy" / "foam" / "*.tif")) as fs:
        assert len(fs) == 3 and fs.frame_shape == (768, 768) and fs.dtype == np.uint8
        first = tifffile.imread(shared_data / "trackpy" / "foam" / "V1.75f3.1250001.tif")
        np.testing.assert_array_equal(fs[0], first)
    with FSeq_glob(str(shared_data / "trackpy" / "foam" / "*.tif")) as fs:
        assert fs.mean_frame().shape == (768, 768)


def test_trackpy_brightfield(shared_data):
    folder = shared_data / "trackpy" / "brightfield"
    with open_seq(str(folder / "bf_*.png")) as fs:
        assert len(fs) == 10 and fs.frame_shape == (500, 500) and fs.dtype == np.uint8
        data = np.asarray(fs)
        np.testing.assert_array_equal(data[7], iio.imread(folder / "bf_0007.png"))
        np.testing.assert_allclose(fs.mean_frame(), data.mean(axis=0))


def test_tiff_glob_read_by_template_equals_tifffile(tmp_path):
    """Files laid out as the first one are read without parsing; any other file (another
    description, big-endian, compressed, cut short, another shape) is decoded by tifffile
    or named in the error, as before."""
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 60000, (8, 12, 14), dtype=np.uint16)
    names = [tmp_path / f"f{i}.tif" for i in range(8)]
    for i, (name, frame) in enumerate(zip(names, frames, strict=True)):
        if i == 2:
            tifffile.imwrite(name, frame, description="another header")
        elif i == 3:
            tifffile.imwrite(name, frame, byteorder=">")
        elif i == 4:
            tifffile.imwrite(name, frame, compression="zlib")
        else:
            tifffile.imwrite(name, frame)
    fs = open_seq(str(tmp_path / "f*.tif"))
    assert fs.reader._template is not None
    assert fs.reader._template.read(str(names[2])) is None  # decoded by tifffile instead
    np.testing.assert_array_equal(np.asarray(fs), frames)
    np.testing.assert_array_equal(np.asarray(fs[[5, 0, 3]]), frames[[5, 0, 3]])
    names[6].write_bytes(names[6].read_bytes()[:-10])  # cut short: tifffile reports it
    with pytest.raises(CorruptFileError, match=r"f6\.tif"):
        np.asarray(open_seq(str(tmp_path / "f*.tif")))
    tifffile.imwrite(names[6], frames[6][:10])
    with pytest.raises(ShapeMismatchError, match=r"f6\.tif"):
        np.asarray(open_seq(str(tmp_path / "f*.tif")))


def test_tiff_glob_without_template(tmp_path):
    frames = np.random.default_rng(6).integers(0, 255, (4, 9, 11), dtype=np.uint8)
    pattern = write_files(tmp_path, frames, ".tif", writer=tifffile.imwrite, compression="zlib")
    fs = open_seq(pattern)
    assert fs.reader._template is None  # a compressed first file: every file is decoded
    np.testing.assert_array_equal(np.asarray(fs), frames)
