"""FSeq_scanimage: ScanImage 3.x, 4/5, 2015 and 2016+ TIFFs written by the test writer
(``scanimage_writer``), checked against numpy reshapes of the pages in file order."""

import os
import pickle
import shutil
import tempfile
import warnings

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scanimage_writer import Recording, header_text, write_recording, write_tiff, write_uniform_bigtiff

from imfun.errors import ChannelError, DatasetError, InvalidArgumentError, TruncatedFileWarning
from imfun.fseq import FSeq_scanimage, FSeq_tiff, open_seq
from imfun.readers import scanimage
from imfun.readers.scanimage import is_scanimage_file, list_scanimage_rois, page_index
from imfun.testing import ReaderConformance


def volumes_view(rec: Recording, pages: np.ndarray) -> np.ndarray:
    """Pages as (volumes, slices, frames per slice, channels, rows, cols)."""
    return pages.reshape(-1, rec.slices, rec.frames_per_slice, len(rec.channels), *pages.shape[1:])


def expected_frames(rec: Recording, pages: np.ndarray, ch=None, z=None) -> np.ndarray:
    v = volumes_view(rec, pages)[:, (0 if z is None else z)]  # (vol, fps, ch, r, c)
    v = v.reshape(-1, *v.shape[2:])
    if ch is not None:
        return v[:, ch]
    return np.moveaxis(v, 1, -1) if len(rec.channels) > 1 else v[:, 0]


# -- the conformance kit on every generation ------------------------------------------------------
class _Conformance(ReaderConformance):
    seq_class = FSeq_scanimage
    version = "2016"

    def recording(self, frames) -> Recording:
        return Recording(version=self.version, volumes=len(frames), rows=frames.shape[1],
                         cols=frames.shape[2], dtype=str(frames.dtype))

    def write(self, tmp_path, frames):
        paths, _ = write_recording(tmp_path, self.recording(frames), pages=frames)
        return paths[0]


class TestSI3(_Conformance):
    version = "3"


class TestSI5(_Conformance):
    version = "5"


class TestSI2015(_Conformance):
    version = "2015"


class TestSI2016(_Conformance):
    version = "2016"

    def test_static_header(self, frames_fs):
        _, fs = frames_fs
        assert "static header v3" in fs.meta["scanimage"]["version"]
        assert fs.meta["axes"][0] == (1 / 30.0, "s")
        # 15 µm/deg x 1.6 deg / 20 columns, 15 x 1.28 / 16 rows
        assert fs.meta["axes"][1].scale == pytest.approx(1.2)
        assert fs.meta["axes"][2].scale == pytest.approx(1.2)
        np.testing.assert_allclose(fs.frame_idx(), np.arange(12) / 30.0, atol=1e-6)


class TestSI2016Channels(_Conformance):
    """Three saved channels interleaved channel-fastest make colour frames."""

    colour = True

    def write(self, tmp_path, frames):
        rec = Recording(version="2016", channels=(1, 2, 4), volumes=len(frames), rows=16, cols=20,
                        dtype="uint8")
        paths, _ = write_recording(tmp_path, rec, pages=np.moveaxis(frames, -1, 1).reshape(-1, 16, 20))
        return paths[0]

    def test_channel_names(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["channel_names"] == ["Channel 1", "Channel 2", "Channel 4"]


class TestSI2016Plane(_Conformance):
    """Plane 1 of a volume recording of 3 planes and a flyback frame."""

    open_kwargs = {"z": 1}  # noqa: RUF012

    def write(self, tmp_path, frames):
        rec = Recording(version="2016", planes=3, flyback=1, volumes=len(frames), rows=16, cols=20,
                        dtype="uint16")
        pages = rec.pages()
        volumes_view(rec, pages)[:, 1, 0, 0] = frames
        return write_recording(tmp_path, rec, pages=pages)[0][0]


class TestSI2016Field(_Conformance):
    """The second of three multi-ROI fields."""

    open_kwargs = {"roi": "ROI 2"}  # noqa: RUF012

    def write(self, tmp_path, frames):
        rec = Recording(version="2016", fields=((7, 20), (16, 20), (5, 12)), flyto=4, volumes=len(frames),
                        dtype="uint16")
        pages = rec.pages()
        pages[:, 11:27] = frames
        return write_recording(tmp_path, rec, pages=pages)[0][0]


class TestSI2016Split(_Conformance):
    """One acquisition split over files of 5 frames (glob)."""

    def write(self, tmp_path, frames):
        write_recording(tmp_path, self.recording(frames), split=5, pages=frames)
        return str(tmp_path / "file_*.tif")

    def test_parts(self, frames_fs):
        _, fs = frames_fs
        assert len(fs.source_paths()) == 3
        np.testing.assert_array_equal(fs.meta["frame_numbers"], np.arange(1, 13))


# -- what the writer writes, tifffile reads ---------------------------------------------------------
@pytest.mark.parametrize("version", ["3", "5", "2015", "2016"])
def test_tifffile_reads_the_writer(tmp_path, version):
    rec = Recording(version=version, channels=(1, 2), volumes=4)
    path, pages = write_recording(tmp_path, rec)
    with tifffile.TiffFile(path[0]) as tif:
        assert tif.is_scanimage
        data = tif.asarray(key=range(len(tif.pages)))
        # tifffile's virtual frames of classic ScanImage files leave out a last page that ends the file
        assert len(data) >= len(pages) - 1
        np.testing.assert_array_equal(data, pages[:len(data)])
        if version == "2016":
            meta = tif.scanimage_metadata
            assert meta["version"] == 3
            assert meta["FrameData"]["SI.hRoiManager.scanFrameRate"] == 30.0
            assert meta["RoiGroups"]["imagingRoiGroup"]["rois"]["scanfields"]["pixelResolutionXY"] == [20, 16]


def test_scanimage_tiff_reader_reads_the_writer(tmp_path):
    """Vidrio's own reader (bench extra) finds the pages, the static header and descriptions."""
    sitr = pytest.importorskip("ScanImageTiffReader")
    rec = Recording(version="2016", channels=(1, 2), planes=2, volumes=3)
    path, pages = write_recording(tmp_path, rec)
    with sitr.ScanImageTiffReader(str(path[0])) as r:
        np.testing.assert_array_equal(r.data(), pages)
        assert r.metadata().startswith(header_text(rec.header())[:200])
        assert r.description(5) == rec.descriptions()[5].ljust(len(r.description(5)))
    with open_seq(str(path[0]), z=1, ch=1) as fs:
        np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages, 1, 1))


def test_pixel_size_from_the_imaging_fov(tmp_path):
    rec = Recording(version="2015", rows=10, cols=20)
    header = {**rec.header(), "SI.hRoiManager.imagingFovUm": [[-50, -25], [50, -25], [50, 25], [-50, 25]]}
    path = write_tiff(tmp_path / "fov.tif", rec.pages(), rec.descriptions(), software=header_text(header))
    with open_seq(str(path)) as fs:  # no ROI group: the field of view in µm gives the pixel size
        assert fs.meta["axes"][1:] == [(5.0, "µm"), (5.0, "µm")]


def test_only_scanimage_files_are_claimed(tmp_path):
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, np.zeros((3, 4, 4), np.uint16))
    assert not is_scanimage_file(plain)
    assert type(open_seq(str(plain))) is FSeq_tiff
    path = write_recording(tmp_path, Recording(version="3"))[0][0]
    assert is_scanimage_file(path)
    assert not is_scanimage_file(tmp_path / "missing.tif")


# -- channels x planes x flyback x frames per slice --------------------------------------------------
MATRIX = [  # version, channels, planes, flyback, frames per slice, volumes
    ("2016", (1,), 1, 0, 1, 5), ("2016", (2, 3), 1, 0, 1, 3), ("2016", (1, 2, 3, 4), 2, 1, 1, 3),
    ("2016", (1, 2), 8, 2, 1, 2), ("2016", (1, 4), 3, 0, 4, 1), ("2016", (1, 2, 3), 4, 0, 2, 2),
    ("2015", (1, 2), 3, 1, 1, 2), ("5", (1, 3), 4, 2, 1, 2), ("5", (2,), 3, 0, 3, 1),
    ("4", (1, 2), 2, 0, 1, 3), ("3", (1, 2), 3, 0, 3, 1), ("3", (1, 2, 3, 4), 1, 0, 1, 4),
]


@pytest.mark.parametrize(("version", "channels", "planes", "flyback", "fps", "volumes"), MATRIX)
def test_channels_planes_flyback(tmp_path, version, channels, planes, flyback, fps, volumes):
    rec = Recording(version=version, channels=channels, planes=planes, flyback=flyback,
                    frames_per_slice=fps, volumes=volumes, rows=6, cols=5)
    path = write_recording(tmp_path, rec)[0][0]
    pages = rec.pages()
    for z in range(planes) if planes > 1 else [None]:
        with open_seq(str(path), z=z) as fs:
            np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages, None, z))
            assert len(fs) == volumes * fps
            dt = fs.meta["axes"][0]
            want = 1 / 30.0 if planes == 1 or fps > 1 else (planes + flyback) / 30.0
            assert dt.unit == "s" and dt.scale == pytest.approx(want)
        for c in range(len(channels)):
            with open_seq(str(path), z=z, ch=c) as fs:
                np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages, c, z))
                assert fs.meta["channel_names"] == [f"Channel {channels[c]}"]
                if version != "3":  # per-frame time stamps of that plane and channel
                    v = volumes_view(rec, np.arange(len(pages)))[:, z or 0, :, c].ravel()
                    want = rec.frame_numbers()[v // len(channels)] / 30.0
                    np.testing.assert_allclose(fs.meta["frame_times"], want, atol=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_ch=st.integers(1, 4), planes=st.integers(1, 8), flyback=st.integers(0, 2),
       fps=st.integers(1, 3), volumes=st.integers(1, 3), z=st.integers(0, 7), ch=st.integers(0, 3))
def test_any_layout(n_ch, planes, flyback, fps, volumes, z, ch):
    flyback = flyback if planes > 1 and fps == 1 else 0
    rec = Recording(channels=tuple(range(1, n_ch + 1)), planes=planes, flyback=flyback,
                    frames_per_slice=fps, volumes=volumes, rows=3, cols=4)
    z, ch = (z % planes if planes > 1 else None), ch % n_ch
    folder = tempfile.mkdtemp()
    try:
        path = write_recording(folder, rec)[0][0]
        with open_seq(str(path), z=z, ch=ch) as fs:
            np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, rec.pages(), ch, z))
    finally:
        shutil.rmtree(folder)


def test_channel_by_name_and_errors(tmp_path):
    rec = Recording(channels=(1, 3), planes=3, volumes=2)
    path = str(write_recording(tmp_path, rec)[0][0])
    pages = rec.pages()
    with open_seq(path, ch="Channel 3", z=0) as fs:
        np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages, 1, 0))
    with pytest.raises(ChannelError, match=r"0 'Channel 1', 1 'Channel 3'"):
        open_seq(path, ch="Channel 2", z=0)
    with pytest.raises(ChannelError, match="Channel 3"):
        open_seq(path, ch=2, z=0)
    with pytest.raises(InvalidArgumentError, match=r"3 planes \(0..2\)"):
        open_seq(path)
    with pytest.raises(InvalidArgumentError, match=r"3 planes \(0..2\)"):
        open_seq(path, z=3)
    with pytest.raises(DatasetError, match="no multi-ROI fields"):
        open_seq(path, z=0, roi=0)
    one_plane = str(write_recording(tmp_path, Recording(), name="flat")[0][0])
    with pytest.raises(InvalidArgumentError, match="one plane"):
        open_seq(one_plane, z=1)


# -- multi-ROI fields --------------------------------------------------------------------------------
@pytest.mark.parametrize("fields", [((8, 10), (8, 10)), ((5, 12), (9, 12), (4, 7)),
                                    ((3, 6), (6, 6), (2, 6), (7, 5))])
def test_mroi_fields(tmp_path, fields):
    flyto = 5
    rec = Recording(fields=fields, flyto=flyto, channels=(1, 2), volumes=3)
    path = write_recording(tmp_path, rec)[0][0]
    pages = rec.pages()
    listed = list_scanimage_rois(path)
    assert [(f["rows"], f["cols"]) for f in listed] == list(fields)
    y0 = 0
    for i, (rows, cols) in enumerate(fields):
        assert listed[i]["y0"] == y0 and listed[i]["flyto_rows"] == flyto
        want = pages[:, y0:y0 + rows, :cols]
        for roi in (i, f"ROI {i + 1}"):
            with open_seq(str(path), roi=roi, ch=1) as fs:
                np.testing.assert_array_equal(np.asarray(fs), want[1::2])
                assert fs.meta["axes"][1].scale == pytest.approx(15 * 1.28 / rows)
                assert fs.meta["axes"][2].scale == pytest.approx(15 * 1.6 / cols)
        y0 += rows + flyto
    with pytest.warns(UserWarning, match="pass roi="):
        fs = open_seq(str(path))
    assert fs.frame_shape == (rec.page_rows, rec.page_cols, 2)
    with pytest.raises(DatasetError, match="'ROI 1'"):
        open_seq(str(path), roi="nope")


# -- split files ---------------------------------------------------------------------------------------
def test_split_files_in_acquisition_order(tmp_path):
    rec = Recording(channels=(1, 2), planes=3, flyback=1, volumes=5)
    paths, pages = write_recording(tmp_path, rec, split=3)  # volumes straddle the files
    assert len(paths) == 7
    # names that sort wrongly: the frame numbers give the order
    shuffled = [p.with_name(f"x{(i * 3) % 7}.tif") for i, p in enumerate(paths)]
    for p, q in zip(paths, shuffled, strict=True):
        p.rename(q)
    for src in (str(tmp_path / "x*.tif"), str(tmp_path), [str(p) for p in shuffled[::-1]]):
        with open_seq(src, z=2, ch=1) as fs:
            assert type(fs) is FSeq_scanimage
            np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages, 1, 2))
            assert [os.path.basename(p) for p in fs.reader.paths] == [q.name for q in shuffled]


def test_split_files_keep_few_open(tmp_path):
    rec = Recording(volumes=30)
    paths, pages = write_recording(tmp_path, rec, split=2)
    with open_seq(str(tmp_path / "file_*.tif")) as fs:
        np.testing.assert_array_equal(np.asarray(fs[::-1]), pages[::-1])
        assert len(fs.reader._mms) <= fs.reader.MAX_OPEN < len(paths)


# -- time stamps ---------------------------------------------------------------------------------------
def test_dropped_frames_give_frame_times(tmp_path):
    rec = Recording(channels=(1, 2), volumes=10, drop=(3, 4, 8), frame_rate=10.0)
    path = write_recording(tmp_path, rec)[0][0]
    with open_seq(str(path), ch=0) as fs:
        want = np.array([0, 1, 2, 5, 6, 7, 9]) / 10.0
        np.testing.assert_allclose(fs.meta["frame_times"], want, atol=1e-6)
        np.testing.assert_allclose(fs.frame_idx(), want, atol=1e-6)
        np.testing.assert_allclose(fs[2:5].frame_idx(), want[2:5], atol=1e-6)
        assert fs.meta["dropped_frames"] == 3
        assert fs.meta["axes"][0].scale == pytest.approx(0.1)


def test_planes_frame_times(tmp_path):
    rec = Recording(planes=4, flyback=1, volumes=3, frame_rate=50.0)
    path = write_recording(tmp_path, rec)[0][0]
    with open_seq(str(path), z=2) as fs:
        np.testing.assert_allclose(fs.meta["frame_times"], (np.arange(3) * 5 + 2) / 50.0, atol=1e-6)
        assert fs.meta["axes"][0].scale == pytest.approx(0.1)


# -- another writer rewrote the file ---------------------------------------------------------------
def test_rewritten_header(tmp_path):
    rec = Recording(channels=(1, 2), volumes=4, frame_rate=12.5)
    pages = rec.pages()
    path = tmp_path / "rewritten.tif"
    tifffile.imwrite(path, pages, bigtiff=True, software=header_text(rec.header()))
    tiff = scanimage._open_tiff(path)
    assert scanimage._static_header(tiff) is None
    tiff.fh.close()
    with open_seq(str(path), ch=1) as fs:
        assert type(fs) is FSeq_scanimage
        assert fs.meta["axes"][0] == (0.08, "s")
        np.testing.assert_array_equal(np.asarray(fs), pages[1::2])
    # a BigTIFF of ScanImage's layout without the static header: the Software text is read
    paths, _ = write_recording(tmp_path, rec, name="nostatic", static=False)
    with open_seq(str(paths[0]), ch=0) as fs:
        assert fs.meta["axes"][0] == (0.08, "s")
        assert "static" not in fs.meta["scanimage"]["version"]
        np.testing.assert_array_equal(np.asarray(fs), pages[::2])


def test_big_endian(tmp_path):
    rec = Recording(version="2015", channels=(1, 2), volumes=5)
    pages = rec.pages()
    path = tmp_path / "be.tif"
    tifffile.imwrite(path, pages, byteorder=">", software=header_text(rec.header()))
    with open_seq(str(path), ch=0) as fs:
        assert fs.dtype == np.dtype("int16")
        np.testing.assert_array_equal(np.asarray(fs), pages[::2])
        np.testing.assert_array_equal(fs[3], pages[6])


def test_varying_pages_are_walked(tmp_path):
    rec = Recording(channels=(1, 2), volumes=12)
    pages, descs = rec.pages(), rec.descriptions()
    descs = [d + "x" * (k % 3) for k, d in enumerate(descs)]
    path = write_tiff(tmp_path / "vary.tif", pages, descs, software=header_text(rec.header()),
                      bigtiff=True, pad=False)
    index = page_index(path)
    assert index.walked and index.stride is None
    with open_seq(str(path)) as fs:
        np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages))
        np.testing.assert_allclose(fs.meta["frame_times"], np.arange(12) / 30.0, atol=1e-6)


def test_header_on_the_first_page_only(tmp_path):
    rec = Recording(channels=(1, 2), volumes=7)
    path = write_recording(tmp_path, rec, header_every_page=False)[0][0]
    index = page_index(path)
    # the first page's extra texts lie before its pixels: the pixels are still evenly spaced
    assert not index.walked and index.uniform_from == 0 and set(np.diff(index.data)) == {index.stride}
    with open_seq(str(path)) as fs:
        np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, rec.pages()))
        np.testing.assert_array_equal(fs[[0, 3]], expected_frames(rec, rec.pages())[[0, 3]])


# -- bad input ---------------------------------------------------------------------------------------
def test_header_claims_more_than_the_file_holds(tmp_path):
    rec = Recording(channels=(1, 2), planes=2, volumes=3, claimed_volumes=10)
    path = write_recording(tmp_path, rec)[0][0]
    with pytest.warns(TruncatedFileWarning, match="claims 40 pages"):
        fs = open_seq(str(path), z=1)
    np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, rec.pages(), None, 1))


@pytest.mark.parametrize("version", ["2016", "5"])
def test_cut_short(tmp_path, version):
    rec = Recording(version=version, channels=(1, 2), planes=3, volumes=4)
    path = write_recording(tmp_path, rec)[0][0]
    pages = rec.pages()
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:  # cut into the last volume's second-last page
        fh.truncate(size - rec.rows * rec.cols * 2 - 400)
    with pytest.warns(TruncatedFileWarning, match="complete frames"):
        fs = open_seq(str(path), z=0)
    assert len(fs) == 3
    assert not page_index(path).walked  # the predicted chain ends in the cut: no walk
    np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, pages[:18], None, 0))
    with pytest.raises(Exception, match="truncated"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open(path, "r+b") as fh:
            fh.truncate(3000)
        open_seq(str(path), z=0)


# -- pickling ----------------------------------------------------------------------------------------
def test_pickle_keeps_selection(tmp_path):
    rec = Recording(channels=(1, 2), planes=2, volumes=3, fields=((4, 6), (5, 6)), flyto=2)
    path = write_recording(tmp_path, rec)[0][0]
    fs = open_seq(str(path), z=1, ch=1, roi=1)
    fs2 = pickle.loads(pickle.dumps(fs))
    np.testing.assert_array_equal(np.asarray(fs2), np.asarray(fs))
    np.testing.assert_array_equal(np.asarray(fs), expected_frames(rec, rec.pages(), 1, 1)[:, 6:11, :6])
    assert fs2.meta["axes"] == fs.meta["axes"]


# -- fast open -----------------------------------------------------------------------------------------
def test_fast_open_of_a_long_file(tmp_path):
    """20 000 uniform pages: the index comes from a few IFDs, equals tifffile's, and is cached."""
    path = write_uniform_bigtiff(tmp_path / "long.tif", 20000, 4, 4)
    scanimage._INDEX_CACHE.clear()
    index = page_index(path)
    assert not index.walked and len(index.data) == 20000 and not index.truncated
    assert page_index(path) is index  # cached
    with tifffile.TiffFile(path) as tif:
        assert len(tif.pages) == 20000
        picks = [0, 1, 2, 777, 12345, 19998, 19999]
        assert [tif.pages[k].dataoffsets[0] for k in picks] == index.data[picks].tolist()
    with open_seq(str(path), ch=1) as fs:
        assert len(fs) == 10000 and len(fs.meta["frame_times"]) == 10000
        assert index._values is None  # opening read two descriptions, not 20 000
        np.testing.assert_allclose(fs.frame_idx(), np.arange(10000) / 30.0, atol=1e-6)
        np.testing.assert_array_equal(fs.meta["frame_numbers"][[0, -1]], [1, 10000])
        np.testing.assert_allclose(index.values(b"frameTimestamps_sec"), (np.arange(20000) // 2) / 30.0,
                                   atol=1e-6)
        np.testing.assert_array_equal(np.asarray(fs[::997])[:, 0, 0], (np.arange(20000)[1::2][::997]) % 32768)
    # walking the whole chain (the road of files that are not uniform) finds the same pages
    tiff = scanimage._open_tiff(path)
    try:
        first = tiff.ifd(tiff.first)
        data, descs, truncated = scanimage._walk(tiff, first, scanimage._geometry(tiff, first, path), path)
    finally:
        tiff.fh.close()
    np.testing.assert_array_equal(data, index.data)
    np.testing.assert_array_equal(np.asarray(descs), np.stack([index.desc_at, index.desc_len], axis=1))
    assert not truncated
    os.utime(path, ns=(1, 1))  # a changed file is indexed again
    assert page_index(path) is not index


def test_bench_runs(tmp_path):
    """bench/scanimage_bench.py on a tiny file: every side reads the same frames."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.scanimage_bench import t12

    res = t12(tmp_path, pages=40, size=16, repeats=1, quiet=True)
    assert res["open_speedup_vs_tifffile"] > 0 and res["read_ratio_vs_memmap"] > 0


def test_si_header_in_the_description(tmp_path):
    """2015-style ``scanimage.SI.*`` lines after the per-frame data of each description."""
    rec = Recording(version="2015", channels=(1, 2), volumes=4, frame_rate=8.0)
    header = header_text({"scanimage." + k: v for k, v in rec.header().items()})
    pages = rec.pages()
    path = write_tiff(tmp_path / "desc.tif", pages, [d + header for d in rec.descriptions()])
    with open_seq(str(path), ch="Channel 2") as fs:
        assert type(fs) is FSeq_scanimage and fs.meta["axes"][0] == (0.125, "s")
        np.testing.assert_array_equal(np.asarray(fs), pages[1::2])
