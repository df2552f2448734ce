"""FSeq_tiff on files written by tifffile, and on real files from ../shared/data."""

import pickle
import warnings

import numpy as np
import pytest
import tifffile

from imfun.errors import (
    ChannelError,
    CorruptFileError,
    DatasetError,
    InvalidArgumentError,
    MetadataWarning,
    TruncatedFileWarning,
)
from imfun.fseq import FSeq_tiff, open_seq
from imfun.testing import ReaderConformance


class TiffConformance(ReaderConformance):
    seq_class = FSeq_tiff
    write_kwargs: dict = {}  # noqa: RUF012

    def write(self, tmp_path, frames):
        path = tmp_path / "movie.tif"
        tifffile.imwrite(path, frames, **self.write_kwargs)
        return path


class TestPlain(TiffConformance):
    def test_memory_mapped(self, frames_fs):
        _, fs = frames_fs
        assert fs.reader.cheap_crop and fs.reader.thread_safe
        assert fs.source_paths()[0].name == "movie.tif"
        block = fs.reader.read(slice(2, 5), (slice(1, 4), slice(2, 6)))
        assert not block.flags.writeable  # a read-only view of the map, not a copy


class TestBigTiff(TiffConformance):
    write_kwargs = {"bigtiff": True}  # noqa: RUF012

    def test_is_bigtiff(self, conformance_source):
        with tifffile.TiffFile(conformance_source[0]) as tif:
            assert tif.is_bigtiff


class TestBigEndian(TiffConformance):
    write_kwargs = {"byteorder": ">"}  # noqa: RUF012

    def test_native_dtype(self, frames_fs):
        _, fs = frames_fs
        assert fs.reader.cheap_crop
        assert fs.dtype == np.dtype("uint16") and fs[0].dtype.isnative


class TestZlib(TiffConformance):
    write_kwargs = {"compression": "zlib", "predictor": True}  # noqa: RUF012

    def test_not_memory_mapped(self, frames_fs):
        _, fs = frames_fs
        assert not fs.reader.cheap_crop


class TestLzma(TiffConformance):
    write_kwargs = {"compression": "lzma"}  # noqa: RUF012


class TestLzw(TiffConformance):
    write_kwargs = {"compression": "lzw"}  # noqa: RUF012


class TestJpegCompressed(TiffConformance):
    """Lossy JPEG pages (imagecodecs), as some microscopes and slide scanners write."""

    write_kwargs = {"compression": "jpeg"}  # noqa: RUF012
    atol = 40

    def make_frames(self):
        return super().make_frames().astype(np.uint8)


class TestSeparatePages(TiffConformance):
    """Pages written one by one without a shape description (a plain camera file)."""

    def write(self, tmp_path, frames):
        path = tmp_path / "pages.tiff"
        with tifffile.TiffWriter(path) as tw:
            for frame in frames:
                tw.write(frame, contiguous=False, metadata=None)
        return path

    def test_page_path(self, frames_fs):
        _, fs = frames_fs
        assert not fs.reader.cheap_crop and not fs.reader.thread_safe


class TestAppended(TiffConformance):
    """Frames appended one by one with tifffile.imwrite(append=True): one series per page."""

    def write(self, tmp_path, frames):
        path = tmp_path / "appended.tif"
        for frame in frames:
            tifffile.imwrite(path, frame, append=True)
        return path


class TestRGB(TiffConformance):
    colour = True
    write_kwargs = {"photometric": "rgb"}  # noqa: RUF012

    def test_channel(self, conformance_source):
        src, expected = conformance_source
        with open_seq(src, ch=1) as fs:
            assert fs.frame_shape == expected.shape[1:3]
            np.testing.assert_array_equal(np.asarray(fs), expected[..., 1])
        with open_seq(src, ch="b") as fs:
            np.testing.assert_array_equal(fs[4], expected[4, ..., 2])
        with pytest.raises(ChannelError, match="3 channels"):
            open_seq(src, ch=3)


class TestPlanarRGB(TiffConformance):
    """RGB stored as separate planes (PlanarConfiguration 2)."""

    colour = True

    def write(self, tmp_path, frames):
        path = tmp_path / "planar.tif"
        tifffile.imwrite(path, np.moveaxis(frames, -1, 1), photometric="rgb", planarconfig="separate")
        return path


class TestImageJ(TiffConformance):
    write_kwargs = {"imagej": True, "resolution": (1 / 0.65, 1 / 0.65),  # noqa: RUF012
                    "metadata": {"axes": "TYX", "finterval": 0.25, "unit": "um"}}

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        assert [u for _, u in fs.meta["axes"]] == ["s", "µm", "µm"]
        assert [v for v, _ in fs.meta["axes"]] == pytest.approx([0.25, 0.65, 0.65])
        np.testing.assert_allclose(fs.frame_idx()[:3], [0, 0.25, 0.5])
        assert fs.meta["imagej"]["finterval"] == 0.25


class TestImageJHyperstack(TiffConformance):
    """T x Z x C x Y x X; the test frames are slice z=1, channel 0."""

    open_kwargs = {"z": 1, "ch": 0}  # noqa: RUF012
    expected_meta = {"axes": [(0.5, "s"), (0.0005, "µm"), (0.0005, "µm")]}  # noqa: RUF012

    def write(self, tmp_path, frames):
        rng = np.random.default_rng(7)
        data = rng.integers(0, 60000, (len(frames), 3, 2, *frames.shape[1:]), dtype=np.uint16)
        data[:, 1, 0] = frames
        path = tmp_path / "hyper.tif"
        tifffile.imwrite(path, data, imagej=True, resolution=(2.0, 2.0),
                         metadata={"axes": "TZCYX", "finterval": 0.5, "spacing": 3.0, "unit": "nm"})
        return path

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["axes"] == [(0.5, "s"), (0.0005, "µm"), (0.0005, "µm")]

    def test_all_channels_of_one_slice(self, conformance_source):
        src, _ = conformance_source
        data = tifffile.imread(src)
        with open_seq(src, z=2) as fs:
            assert fs.frame_shape == (16, 20, 2)
            np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(data[:, 2], 1, -1))

    def test_time_and_slices_need_a_plane_or_a_projection(self, conformance_source):
        src, _ = conformance_source
        data = tifffile.imread(src)
        with pytest.raises(InvalidArgumentError, match=r"3 z-planes.*z=0\.\.2.*'max'"):
            open_seq(src, ch=1)
        with open_seq(src, ch=1, z="max") as fs:
            assert len(fs) == data.shape[0] and fs.dtype == data.dtype
            np.testing.assert_array_equal(np.asarray(fs), data[:, :, 1].max(axis=1))
            assert fs.meta["axes"][0] == (0.5, "s")  # the frame interval is kept
        with open_seq(src, ch=1, z="mean") as fs:
            assert fs.dtype == np.float32
            np.testing.assert_allclose(np.asarray(fs), data[:, :, 1].mean(axis=1), rtol=1e-6)
            np.testing.assert_allclose(fs.mean_frame(), data[:, :, 1].mean(axis=(0, 1)), rtol=1e-6)

    def test_bad_selection(self, conformance_source):
        src, _ = conformance_source
        with pytest.raises(InvalidArgumentError, match="z=5"):
            open_seq(src, z=5)
        with pytest.raises(ChannelError, match="ch=2"):
            open_seq(src, ch=2, z=0)


class TestImageJColourHyperstack(TiffConformance):
    """Colour frames from the channel axis of an ImageJ hyperstack (slice z=2)."""

    colour = True
    open_kwargs = {"z": 2}  # noqa: RUF012

    def write(self, tmp_path, frames):
        data = np.zeros((len(frames), 3, 3, *frames.shape[1:3]), np.uint8)
        data[:, 2] = np.moveaxis(frames, -1, 1)
        path = tmp_path / "colour.tif"
        tifffile.imwrite(path, data, imagej=True, metadata={"axes": "TZCYX"})
        return path


class TestZStack(TiffConformance):
    """An ImageJ z-stack: the frames are slices, the frame axis is the spacing."""

    def write(self, tmp_path, frames):
        path = tmp_path / "zstack.tif"
        tifffile.imwrite(path, frames, imagej=True, resolution=(4.0, 4.0),
                         metadata={"axes": "ZYX", "spacing": 1.5, "unit": "micron"})
        return path

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["axes"] == [(1.5, "µm"), (0.25, "µm"), (0.25, "µm")]


class TestOME(TiffConformance):
    def write(self, tmp_path, frames):
        path = tmp_path / "movie.ome.tif"
        tifffile.imwrite(path, frames, metadata={
            "axes": "TYX", "PhysicalSizeX": 350.0, "PhysicalSizeXUnit": "nm",
            "PhysicalSizeY": 0.4, "PhysicalSizeYUnit": "µm",
            "TimeIncrement": 40.0, "TimeIncrementUnit": "ms"})
        return path

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        (dt, tu), (dy, yu), (dx, xu) = fs.meta["axes"]
        assert (tu, yu, xu) == ("s", "µm", "µm")
        np.testing.assert_allclose([dt, dy, dx], [0.04, 0.4, 0.35])


class TestOMEChannels(TiffConformance):
    """OME-TIFF with a channel axis, channel 1 picked; compressed pages."""

    open_kwargs = {"ch": 1}  # noqa: RUF012

    def write(self, tmp_path, frames):
        data = np.stack([frames[::-1], frames], axis=1)
        path = tmp_path / "channels.ome.tiff"
        tifffile.imwrite(path, data, compression="zlib", metadata={"axes": "TCYX"})
        return path


# -- axes from plain TIFF tags ---------------------------------------------------------------
def test_resolution_tags_in_cm(tmp_path):
    path = tmp_path / "cal.tif"
    tifffile.imwrite(path, np.zeros((5, 8, 8), np.uint8), resolution=(1e4 / 0.5, 1e4 / 0.25),
                     resolutionunit="CENTIMETER")
    with FSeq_tiff(path) as fs:
        assert fs.meta["axes"][1:] == [(0.25, "µm"), (0.5, "µm")]


def test_default_dpi_is_not_a_calibration(tmp_path):
    path = tmp_path / "dpi.tif"
    tifffile.imwrite(path, np.zeros((5, 8, 8), np.uint8), resolution=(72, 72), resolutionunit="INCH")
    with FSeq_tiff(path) as fs:
        assert fs.meta["axes"][1:] == [(1.0, ""), (1.0, "")]


# -- dispatch, series, errors ------------------------------------------------------------------
def test_sniffed_by_magic_and_endings(tmp_path):
    data = np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5)
    for name in ("a.btf", "b.tf8", "c.TIF", "d.unknownending"):
        tifffile.imwrite(tmp_path / name, data, bigtiff=name.endswith(("btf", "tf8")))
        with open_seq(tmp_path / name) as fs:
            assert type(fs) is FSeq_tiff
            np.testing.assert_array_equal(np.asarray(fs), data)


def test_series(tmp_path):
    path = tmp_path / "two.tif"
    a = np.ones((2, 4, 5), np.uint8)
    b = np.arange(3 * 6 * 7, dtype=np.float32).reshape(3, 6, 7)
    with tifffile.TiffWriter(path) as tw:
        tw.write(a)
        tw.write(b, photometric="minisblack")
    with FSeq_tiff(path, series=1) as fs:
        assert fs.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(fs), b)
        fs2 = pickle.loads(pickle.dumps(fs))
        np.testing.assert_array_equal(fs2[2], b[2])
        fs2.close()
    with pytest.raises(DatasetError, match="2 series"):
        FSeq_tiff(path, series=2)


def test_single_page_is_one_frame(tmp_path):
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, np.eye(5, dtype=np.uint8))
    with open_seq(path) as fs:
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], np.eye(5))


def test_no_z_axis(tmp_path):
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, np.zeros((6, 4, 5), np.uint8))
    with pytest.raises(InvalidArgumentError, match="no z-planes"):
        FSeq_tiff(path, z=1)
    with FSeq_tiff(path, z=0) as fs:  # plane 0 of a file without planes is the file (as for every reader)
        assert len(fs) == 6
    with pytest.raises(ChannelError, match="one channel"):
        FSeq_tiff(path, ch=1)


def test_imagej_header_claims_more_frames(tmp_path):
    """An ImageJ header with images=3500 in a one-page file: open the page that exists."""
    path = tmp_path / "claims.tif"
    frame = np.arange(16 * 20, dtype=np.uint16).reshape(16, 20)
    tifffile.imwrite(path, frame, description="ImageJ=1.52a\nimages=3500\nframes=3500\nloop=false\n",
                     metadata=None)
    with pytest.warns(TruncatedFileWarning, match="3500"), open_seq(path) as fs:
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], frame)


def test_cut_short_contiguous_file(tmp_path):
    """Data cut in the middle: the complete frames open with a warning."""
    data = np.random.default_rng(0).integers(0, 1000, (10, 16, 20), dtype=np.uint16)
    path = tmp_path / "cut.tif"
    tifffile.imwrite(path, data)
    with tifffile.TiffFile(path) as tif:
        offset = tif.series[0].dataoffset
    path.write_bytes(path.read_bytes()[:offset + 6 * data[0].nbytes + 100])
    with pytest.warns(TruncatedFileWarning, match="announces 10"), open_seq(path) as fs:
        assert len(fs) == 6
        np.testing.assert_array_equal(np.asarray(fs), data[:6])


def test_truncated_file_is_corrupt(tmp_path):
    path = tmp_path / "trunc.tif"
    tifffile.imwrite(path, np.zeros((10, 16, 20), np.uint16), compression="zlib")
    raw = path.read_bytes()
    path.write_bytes(raw[:100])
    with pytest.raises(CorruptFileError, match=r"trunc\.tif"):
        open_seq(path)


def test_damaged_compressed_page(tmp_path):
    path = tmp_path / "damaged.tif"
    data = np.random.default_rng(1).integers(0, 1000, (6, 16, 20), dtype=np.uint16)
    tifffile.imwrite(path, data, compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[2].dataoffsets[0]
    raw = bytearray(path.read_bytes())
    raw[offset:offset + 40] = b"\xff" * 40
    path.write_bytes(bytes(raw))
    with open_seq(path) as fs:
        np.testing.assert_array_equal(fs[1], data[1])
        with pytest.raises(CorruptFileError, match=r"damaged\.tif"):
            fs[2]


def test_not_a_tiff(tmp_path):
    path = tmp_path / "fake.tif"
    path.write_bytes(b"this is not a TIFF file at all" * 10)
    with pytest.raises(CorruptFileError, match=r"fake\.tif"):
        FSeq_tiff(path)


def test_open_does_not_read_pages(tmp_path):
    """Opening a file of many separately written pages reads headers, not pixels."""
    path = tmp_path / "many.tif"
    frame = np.zeros((64, 64), np.uint16)
    with tifffile.TiffWriter(path) as tw:
        for i in range(300):
            frame[0, 0] = i
            tw.write(frame, contiguous=False, compression="zlib")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs = FSeq_tiff(path)
    with fs:
        assert len(fs) == 300
        assert fs[-1][0, 0] == 299
        assert fs[137][0, 0] == 137


# -- real files --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["stuck.tif", "tiff_stack.tif"])
def test_real_pims_files(shared_data, name):
    folder = shared_data / "pims"
    with open_seq(folder / name) as fs:
        assert type(fs) is FSeq_tiff
        assert len(fs) == 5 and fs.frame_shape == (512, 512) and fs.dtype == np.uint16
        np.testing.assert_array_equal(fs[0], np.load(folder / "stuck_frame0.npy"))
        np.testing.assert_array_equal(fs[1], np.load(folder / "stuck_frame1.npy"))
        np.testing.assert_array_equal(np.asarray(fs[:2]), np.stack(
            [np.load(folder / "stuck_frame0.npy"), np.load(folder / "stuck_frame1.npy")]))
        assert fs.mean_frame().shape == (512, 512)


def test_real_foam_tiffs_single_file(shared_data):
    folder = shared_data / "trackpy" / "foam"
    files = sorted(folder.glob("*.tif"))
    if not files:
        pytest.skip("no foam TIFFs")
    with FSeq_tiff(files[0]) as fs:
        assert len(fs) == 1 and fs.frame_shape == (768, 768)
        np.testing.assert_array_equal(fs[0], tifffile.imread(files[0]))


def test_ome_positions_stay_separate_series(tmp_path):
    path = tmp_path / "positions.ome.tif"
    a, b = np.zeros((6, 7), np.uint16), np.ones((6, 7), np.uint16)
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(a, metadata={"axes": "YX", "PhysicalSizeX": 0.5})
        tw.write(b, metadata={"axes": "YX", "PhysicalSizeX": 0.7})
    with FSeq_tiff(path) as fs:
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], a)
    with FSeq_tiff(path, series=1) as fs:
        np.testing.assert_array_equal(fs[0], b)
        assert fs.meta["axes"][2] == (0.7, "µm")


# -- ImageJ and shaped files cut short -----------------------------------------------------------
def _write_cut_source(tmp_path, shape, axes, imagej=True):
    """Write ``shape`` (axes ``axes``) with tifffile; return path, data, data offset, plane bytes."""
    rgb = axes.endswith("S")  # ImageJ RGB is 8-bit
    data = np.random.default_rng(3).integers(0, 250, shape, dtype=np.uint8 if rgb else np.uint16)
    path = tmp_path / "cut.tif"
    photometric = "rgb" if rgb else "minisblack"
    if imagej:
        tifffile.imwrite(path, data, imagej=True, photometric=photometric,
                         metadata={"axes": axes, "finterval": 0.5})
    else:
        tifffile.imwrite(path, data, photometric=photometric, metadata={"axes": axes})
    with tifffile.TiffFile(path) as tif:
        offset = tif.series[0].dataoffset
    return path, data, offset, data[(0,) * (data.ndim - (3 if rgb else 2))].nbytes


# (axes, shape, open kwargs, planes per frame, how to pick the expected frames from the data)
CUT_CASES = {
    "T": ("TYX", (8, 6, 7), {}, 1, lambda d: d),
    "TC": ("TCYX", (6, 3, 6, 7), {}, 3, lambda d: np.moveaxis(d, 1, -1)),
    "TC-ch1": ("TCYX", (6, 3, 6, 7), {"ch": 1}, 3, lambda d: d[:, 1]),
    "TZ-z1": ("TZYX", (5, 3, 6, 7), {"z": 1}, 3, lambda d: d[:, 1]),
    "Z": ("ZYX", (8, 6, 7), {}, 1, lambda d: d),
    "RGB": ("TYXS", (6, 6, 7, 3), {}, 1, lambda d: d),
}


@pytest.mark.parametrize("imagej", [True, False], ids=["imagej", "shaped"])
@pytest.mark.parametrize("case", list(CUT_CASES))
def test_cut_short_opens_complete_frames(tmp_path, case, imagej):
    """Cut mid-frame and at frame boundaries: the complete frames open, memory-mapped, with a warning."""
    axes, shape, kwargs, per_frame, pick = CUT_CASES[case]
    path, data, offset, plane = _write_cut_source(tmp_path, shape, axes, imagej)
    raw = path.read_bytes()
    expected = pick(data)
    n_planes = data.nbytes // plane
    # (bytes of data kept, planes that exist): mid-plane, frame boundary, boundary + part of a plane
    for keep in (per_frame * plane + 5, 2 * per_frame * plane, 3 * per_frame * plane + plane + 1,
                 (n_planes - 1) * plane + 3):
        path.write_bytes(raw[:offset + keep])
        planes = keep // plane
        # complete frames; one plane picked (z=1, ch=1): frame t needs only plane 3t + 1
        k = (planes - 2) // 3 + 1 if case in ("TZ-z1", "TC-ch1") else planes // per_frame
        with pytest.warns(TruncatedFileWarning, match=f"announces {n_planes} images"), \
                FSeq_tiff(path, **kwargs) as fs:
            assert len(fs) == k, keep
            assert fs.reader.cheap_crop  # the contiguous data are memory-mapped
            np.testing.assert_array_equal(np.asarray(fs), expected[:k])
            np.testing.assert_array_equal(fs[-1][1:4, 2:5], expected[k - 1][1:4, 2:5])
            if imagej:  # tifffile gave up on the ImageJ series; the reader rebuilt it
                assert fs.reader.metadata["tiff_series"] == "imagej (cut short)"
                if case != "Z":
                    assert fs.meta["axes"][0] == (0.5, "s")


@pytest.mark.parametrize("imagej", [True, False], ids=["imagej", "shaped"])
def test_cut_inside_first_frame(tmp_path, imagej):
    path, _, offset, plane = _write_cut_source(tmp_path, (6, 3, 6, 7), "TCYX", imagej)
    raw = path.read_bytes()
    for keep in (0, plane - 1, 2 * plane + 10):  # no plane, part of one, channels 0-1 of frame 0
        path.write_bytes(raw[:offset + keep])
        with pytest.raises(CorruptFileError, match=r"cut\.tif.*no complete frame.*truncated"):
            FSeq_tiff(path)
    for keep in (offset - 1, 100, 9):  # inside the header: no readable directory
        path.write_bytes(raw[:keep])
        with pytest.raises(CorruptFileError, match=r"cut\.tif"):
            FSeq_tiff(path)


def test_complete_imagej_file_has_no_warning(tmp_path):
    """Only the IFDs after the data lost (cut at the end of the data): all frames, a metadata note."""
    path, data, offset, _ = _write_cut_source(tmp_path, (6, 3, 6, 7), "TCYX")
    path.write_bytes(path.read_bytes()[:offset + data.nbytes])
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedFileWarning)
        with pytest.warns(MetadataWarning, match="invalid page offset"):
            fs = FSeq_tiff(path, ch=2)
    with fs:
        assert len(fs) == 6
        np.testing.assert_array_equal(np.asarray(fs), data[:, 2])


def test_hostile_claim_is_not_allocated(tmp_path):
    """A header claiming a billion images in a one-page file opens the one page, quickly."""
    frame = np.arange(16 * 20, dtype=np.uint16).reshape(16, 20)
    for description in ("ImageJ=1.52a\nimages=1000000000\nframes=1000000000\n",
                        '{"shape": [1000000000, 16, 20]}'):
        path = tmp_path / "hostile.tif"
        tifffile.imwrite(path, frame, description=description, metadata=None)
        with pytest.warns(TruncatedFileWarning, match="1000000000"), FSeq_tiff(path) as fs:
            assert len(fs) == 1
            np.testing.assert_array_equal(fs[0], frame)
    path = tmp_path / "slices.tif"
    tifffile.imwrite(path, frame, description='{"shape": [2, 1000000000, 16, 20]}', metadata=None)
    with pytest.raises(CorruptFileError, match="claims 2000000000 images"):
        FSeq_tiff(path)
