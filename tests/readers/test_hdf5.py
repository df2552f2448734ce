"""The HDF5 reader: conformance on files written with h5py, axis layouts, metadata, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from imfun.errors import (  # noqa: E402
    ChannelError,
    DatasetError,
    EmptySequenceError,
    InvalidArgumentError,
    ShapeMismatchError,
)
from imfun.fseq import (  # noqa: E402
    FSeq_arr,
    FSeq_hdf5,
    open_seq,
)
from imfun.testing import ReaderConformance  # noqa: E402


class TestHDF5Plain(ReaderConformance):
    seq_class = FSeq_hdf5

    def write(self, tmp_path, frames):
        path = tmp_path / "plain.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("data", data=frames)
        return path


class TestHDF5ChunkedGzip(ReaderConformance):
    """Chunked, compressed, in a group, beside a 1-D data set that is not a candidate."""

    seq_class = FSeq_hdf5

    def write(self, tmp_path, frames):
        path = tmp_path / "chunked.hdf5"
        with h5py.File(path, "w") as f:
            f.create_dataset("rec/frames", data=frames, chunks=(4, 8, 10), compression="gzip")
            f.create_dataset("rec/times", data=np.arange(len(frames)) * 0.1)
        return path

    def test_natural_block_is_time_chunk(self, frames_fs):
        _, fs = frames_fs
        assert fs.reader.natural_block == 4
        assert fs.reader.cheap_crop
        assert fs.meta["dataset"] == "/rec/frames" and fs.meta["compression"] == "gzip"


class TestHDF5TimeLast(ReaderConformance):
    """Stored (rows, cols, time), chunked along time: the reader transposes."""

    seq_class = FSeq_hdf5
    open_kwargs = {"axes": "yxt"}  # noqa: RUF012

    def write(self, tmp_path, frames):
        path = tmp_path / "timelast.h5"
        with h5py.File(path, "w") as f:
            f.create_dataset("data", data=np.moveaxis(frames, 0, -1), chunks=(8, 10, 3))
        return path

    def test_layout(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["dims"] == "yxt"
        assert fs.reader.natural_block == 3


class TestHDF5Colour(ReaderConformance):
    """(t, rows, cols, channels): the default order of a 4-D set with at most 4 channels."""

    seq_class = FSeq_hdf5
    colour = True

    def write(self, tmp_path, frames):
        path = tmp_path / "colour.he5"
        with h5py.File(path, "w") as f:
            f.create_dataset("rgb", data=frames, chunks=(2, 16, 20, 3))
        return path

    def test_channel_selection(self, conformance_source):
        src, expected = conformance_source
        for ch in (1, "b", -1):
            with open_seq(src, ch=ch) as fs:
                want = expected[..., {1: 1, "b": 2, -1: 2}[ch]]
                np.testing.assert_array_equal(np.asarray(fs), want)
        with pytest.raises(ChannelError, match="3 channel"):
            open_seq(src, ch=3)


class TestHDF5DimensionScales(ReaderConformance):
    """Stored (x, y, t) with HDF5 dimension labels and scales carrying units."""

    seq_class = FSeq_hdf5

    def write(self, tmp_path, frames):
        path = tmp_path / "scales.h5"
        n, rows, cols = frames.shape
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("movie", data=np.transpose(frames, (2, 1, 0)))
            for i, (label, step, unit, size) in enumerate(
                    [("x", 0.25, "um", cols), ("y", 0.5, "micrometer", rows), ("time", 50.0, "ms", n)]):
                ds.dims[i].label = label
                sc = f.create_dataset(f"{label}_scale", data=np.arange(size) * step + 3 * step)
                sc.attrs["units"] = unit
                sc.make_scale(label)
                ds.dims[i].attach_scale(sc)
        return path

    def test_axes_from_scales(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["dims"] == "xyt"
        (dt, tu), (dy, yu), (dx, xu) = fs.meta["axes"]
        assert (tu, yu, xu) == ("s", "µm", "µm")
        assert dt == pytest.approx(0.05) and dy == pytest.approx(0.5) and dx == pytest.approx(0.25)
        # the time scale starts at 150 ms: frame times start there
        np.testing.assert_allclose(fs.frame_idx(), 0.15 + 0.05 * np.arange(len(fs)))
        np.testing.assert_allclose(fs[2:6].frame_idx(), 0.15 + 0.05 * np.arange(2, 6))
        assert "DIMENSION_LIST" not in fs.meta["attrs"]


class TestHDF5ElementSize(ReaderConformance):
    """A Fiji/ilastik z-stack: (z, y, x) with element_size_um; z planes are the frames."""

    seq_class = FSeq_hdf5

    def write(self, tmp_path, frames):
        path = tmp_path / "fiji.h5"
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("t0/channel0", data=frames)
            ds.attrs["element_size_um"] = np.array([2.0, 0.4, 0.3], np.float32)
        return path

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        axes = fs.meta["axes"]
        assert [u for _, u in axes] == ["µm", "µm", "µm"]
        np.testing.assert_allclose([s for s, _ in axes], [2.0, 0.4, 0.3], rtol=1e-6)
        np.testing.assert_allclose(fs.frame_idx(), 2.0 * np.arange(len(fs)))  # z positions in µm


class TestHDF5OwnAttributes(ReaderConformance):
    """The attributes imfun's writer puts on a data set: imfun_axes/_scales/_units."""

    seq_class = FSeq_hdf5

    def write(self, tmp_path, frames):
        path = tmp_path / "own.h5"
        with h5py.File(path, "w") as f:
            ds = f.create_dataset("frames", data=np.moveaxis(frames, 0, 2), chunks=(16, 20, 1))
            ds.attrs["imfun_axes"] = "yxt"
            ds.attrs["imfun_scales"] = [0.7, 0.6, 0.125]
            ds.attrs["imfun_units"] = ["µm", "um", "s"]
        return path

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        assert list(fs.meta["axes"]) == [(0.125, "s"), (0.7, "µm"), (0.6, "µm")]
        assert fs.meta["attrs"]["imfun_units"] == ["µm", "um", "s"]


# -- axis layouts ---------------------------------------------------------------------------
@pytest.fixture()
def data():
    return np.random.default_rng(7).integers(0, 4000, (10, 6, 8), dtype=np.uint16)


def _write(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, arr in datasets.items():
            f.create_dataset(name, data=arr)
    return path


def test_cyxt_keeps_channels_last(tmp_path, data):
    colour = np.stack([data, data + 1, data + 2], axis=-1)  # (t, y, x, c)
    path = _write(tmp_path / "c.h5", d=np.transpose(colour, (3, 1, 2, 0)))
    with open_seq(path, axes="cyxt") as fs:
        np.testing.assert_array_equal(np.asarray(fs), colour)
        np.testing.assert_array_equal(np.asarray(fs[[1, 4, 9]]), colour[[1, 4, 9]])
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(1, 5), slice(2, 8, 3)), dtype=None),
                                      colour[:, 1:5, 2:8:3])
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(5, 0, -2), slice(7, 0, -1)),
                                                   dtype=None), colour[:, 5:0:-2, 7:0:-1])
    with open_seq(path, axes="CYXT", ch=2) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data + 2)


def test_tzcyx_picks_z_and_channel(tmp_path):
    arr = np.random.default_rng(1).random((5, 3, 2, 6, 7)).astype(np.float32)
    path = _write(tmp_path / "5d.h5", img=arr)
    with pytest.raises(ShapeMismatchError, match="axes="):
        open_seq(path)
    with pytest.raises(InvalidArgumentError, match=r"5 time points of 3 z-planes.*z=0\.\.2"):
        open_seq(path, axes="tzcyx")  # which plane? one rule for every reader
    with open_seq(path, axes="tzcyx", z=0) as fs:
        assert fs.frame_shape == (6, 7, 2)
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(arr[:, 0], 1, -1))
    with open_seq(path, axes="tzcyx", z="max", ch=1) as fs:
        np.testing.assert_array_equal(np.asarray(fs), arr[:, :, 1].max(axis=1))
    with open_seq(path, axes="tzcyx", z=2, ch=1) as fs:
        np.testing.assert_array_equal(np.asarray(fs), arr[:, 2, 1])
    with pytest.raises(InvalidArgumentError, match="z=3"):
        open_seq(path, axes="tzcyx", z=3)


def test_zyx_without_t_reads_planes(tmp_path, data):
    path = _write(tmp_path / "z.h5", stack=data)
    with open_seq(path, axes="zyx") as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
    with open_seq(path, axes="zyx", z=1) as fs:  # z= picks one plane, as for every reader
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], data[1])
    with pytest.raises(InvalidArgumentError, match="z=99"):
        open_seq(path, axes="zyx", z=99)


def test_bad_axes_strings(tmp_path, data):
    path = _write(tmp_path / "b.h5", d=data)
    for bad, msg in [("ty", "one letter per axis"), ("tyy", "repeats"), ("tcx", "'y'"),
                     ("cyx", "no frame axis")]:
        with pytest.raises(InvalidArgumentError, match=msg):
            open_seq(path, axes=bad)


def test_dimension_labels_without_scales(tmp_path, data):
    path = tmp_path / "labels.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("d", data=np.moveaxis(data, 0, 1))  # (y, t, x)
        for i, label in enumerate(["row", "Time", "column"]):
            ds.dims[i].label = label
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
        assert fs.meta["dims"] == "ytx"


def test_irregular_time_scale_gives_frame_times(tmp_path, data):
    path = tmp_path / "irregular.h5"
    times = np.cumsum(np.r_[0, np.arange(1, len(data))]) * 1.5  # seconds, growing steps
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("d", data=data)
        sc = f.create_dataset("t", data=times)
        sc.attrs["unit"] = b"s"
        sc.make_scale("t")
        ds.dims[0].attach_scale(sc)
    with open_seq(path) as fs:
        np.testing.assert_allclose(fs.frame_idx(), times)
        np.testing.assert_allclose(fs[[1, 4, 5]].frame_idx(), times[[1, 4, 5]])


def test_irregular_times_regular_pick(tmp_path, data):
    path = tmp_path / "irregular.h5"
    times = np.cumsum(np.arange(len(data))) * 1.5
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("d", data=data)
        sc = f.create_dataset("t", data=times)
        sc.attrs["unit"] = "s"
        sc.make_scale("t")
        ds.dims[0].attach_scale(sc)
    with open_seq(path) as fs:
        np.testing.assert_allclose(fs[1:6:2].frame_idx(), times[1:6:2])


def test_ilastik_axistags(tmp_path, data):
    path = tmp_path / "ilastik.h5"
    tags = ('{"axes": [{"key": "y", "typeFlags": 2}, {"key": "x", "typeFlags": 2}, '
            '{"key": "t", "typeFlags": 8}]}')
    with h5py.File(path, "w") as f:
        f.create_dataset("exported_data", data=np.moveaxis(data, 0, -1)).attrs["axistags"] = tags
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)


def test_nwb_image_series(tmp_path, data):
    """An NWB TwoPhotonSeries stores (frame, x, y) with a rate in starting_time."""
    path = tmp_path / "session.nwb"
    with h5py.File(path, "w") as f:
        f.attrs["neurodata_type"] = "NWBFile"
        grp = f.create_group("acquisition/TwoPhotonSeries")
        grp.attrs["neurodata_type"] = "TwoPhotonSeries"
        grp.create_dataset("data", data=np.swapaxes(data, 1, 2))
        st = grp.create_dataset("starting_time", data=2.0)
        st.attrs["rate"] = 20.0
        f.create_dataset("processing/ophys/mask", data=np.ones((6, 8)))
    with open_seq(path) as fs:
        assert isinstance(fs, FSeq_hdf5)
        np.testing.assert_array_equal(np.asarray(fs), data)
        assert fs.meta["axes"][0] == (0.05, "s")
        np.testing.assert_allclose(fs.frame_idx()[:3], [2.0, 2.05, 2.1])


# -- choosing the data set, errors --------------------------------------------------------------
def test_several_candidates_need_a_name(tmp_path, data):
    path = _write(tmp_path / "two.h5", a=data, **{"grp/b": data[:5]})
    with pytest.raises(DatasetError) as info:
        open_seq(path)
    assert "/a" in str(info.value) and "/grp/b" in str(info.value) and "dataset=" in str(info.value)
    with open_seq(path, dataset="grp/b") as fs:
        np.testing.assert_array_equal(np.asarray(fs), data[:5])
    with open_seq(path, dataset="/a") as fs:
        assert len(fs) == 10


def test_missing_dataset_lists_contents(tmp_path, data):
    path = _write(tmp_path / "m.h5", a=data, **{"grp/meta": np.arange(3)})
    with pytest.raises(DatasetError, match=r"'nope' does not exist.*/a.*/grp/meta"):
        open_seq(path, dataset="nope")
    with pytest.raises(DatasetError, match="is a group"):
        open_seq(path, dataset="grp")
    with pytest.raises(KeyError):  # DatasetError is also a KeyError
        open_seq(path, dataset="nope")


def test_no_candidate(tmp_path):
    path = _write(tmp_path / "flat.h5", image=np.zeros((4, 5)), names=np.array([b"a", b"b"]))
    with pytest.raises(DatasetError, match="3 or more dimensions"):
        open_seq(path)
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(DatasetError, match=r"\(none\)"):
        open_seq(tmp_path / "empty.h5")


def test_named_text_dataset(tmp_path):
    path = _write(tmp_path / "txt.h5", words=np.array([[[b"a"]]] * 3))
    with pytest.raises(DatasetError, match="not pixel numbers"):
        open_seq(path, dataset="words")


def test_zero_length(tmp_path):
    path = _write(tmp_path / "zero.h5", d=np.zeros((0, 4, 5), np.uint8))
    with pytest.raises(EmptySequenceError, match="no frames"):
        open_seq(path)
    path = _write(tmp_path / "zero_last.h5", d=np.zeros((4, 5, 0), np.uint8))
    with pytest.raises(EmptySequenceError):
        open_seq(path, axes="yxt")


def test_not_hdf5(tmp_path):
    path = tmp_path / "fake.h5"
    path.write_bytes(b"this is not HDF5" * 10)
    with pytest.raises(Exception, match="HDF5") as info:
        open_seq(path)
    assert isinstance(info.value, ValueError)


def test_sniffed_without_ending(tmp_path, data):
    path = _write(tmp_path / "recording.dat", d=data)
    with open_seq(path) as fs:
        assert isinstance(fs, FSeq_hdf5)
        np.testing.assert_array_equal(fs[3], data[3])


def test_unknown_keyword(tmp_path, data):
    path = _write(tmp_path / "k.h5", d=data)
    with pytest.raises(TypeError, match="datset"):
        open_seq(path, datset="d")


# -- handles ------------------------------------------------------------------------------------
def test_file_kept_open_and_closed(tmp_path, data):
    path = _write(tmp_path / "h.h5", d=data)
    fs = open_seq(path)
    assert not fs.reader._files.is_open  # opened lazily
    fs[0]
    handle = fs.reader._files._handle
    fs[1:4].as3darray()
    assert fs.reader._files._handle is handle  # kept between reads
    fs.close()
    assert not fs.reader._files.is_open and not handle.id.valid
    with h5py.File(path, "a") as f:  # no handle left that would lock the file
        f["d"][0] = 0
    np.testing.assert_array_equal(fs[0], 0)  # reopened
    fs.close()


def test_pickle_reopens(tmp_path, data):
    path = _write(tmp_path / "p.h5", d=data)
    with open_seq(path, axes="tyx") as fs:
        fs[0]
        fs2 = pickle.loads(pickle.dumps(fs))
        with fs2:
            assert not fs2.reader._files.is_open
            np.testing.assert_array_equal(np.asarray(fs2), data)


def test_sparse_and_dense_selections(tmp_path):
    arr = np.arange(200 * 3 * 4, dtype=np.int32).reshape(200, 3, 4)
    path = _write(tmp_path / "s.h5", d=arr)
    with open_seq(path) as fs:
        for pick in ([0, 199], [3, 5, 6, 8], [10, 11, 12, 150, 151], list(range(0, 200, 7))):
            np.testing.assert_array_equal(np.asarray(fs[pick]), arr[pick])
        np.testing.assert_array_equal(fs.as3darray((3, 100, 13), (slice(2, 0, -1), slice(3, 0, -2)),
                                                   dtype=None), arr[3:100:13, 2:0:-1, 3:0:-2])
        # a resolved reversed crop down to row 0, given to the reader directly
        np.testing.assert_array_equal(fs.reader.read([4, 9], (slice(2, -1, -1), slice(0, 4, 1))),
                                      arr[[4, 9], 2::-1, 0:4])


def test_chunked_selections_read_in_pieces(tmp_path):
    """Picks with gaps up to a chunk are read as chunk-aligned ranges; the rest as selections."""
    arr = np.arange(200 * 3 * 4, dtype=np.int32).reshape(200, 3, 4)
    path = tmp_path / "c.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=np.moveaxis(arr, 0, -1), chunks=(3, 4, 8), compression="gzip")
    rng = np.random.default_rng(0)
    picks = [np.arange(0, 200, 3), np.arange(5, 190, 8), np.arange(1, 200, 9), [7], [0, 199],
             np.sort(rng.choice(200, 60, replace=False)), np.cumsum(rng.integers(1, 9, 30))]
    with open_seq(path, axes="yxt") as fs:
        assert fs.reader.natural_block == 8
        for pick in picks:
            np.testing.assert_array_equal(fs.reader.read(pick), arr[pick])
            np.testing.assert_array_equal(fs.reader.read(pick, (slice(2, 0, -1), slice(1, 4, 2))),
                                          arr[pick][:, 2:0:-1, 1:4:2])


# -- h5py data sets through FSeq_arr -------------------------------------------------------------
def test_h5py_dataset_through_array_reader(tmp_path, data):
    path = tmp_path / "arr.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("plain", data=data)
        f.create_dataset("chunked", data=data, chunks=(3, 6, 8), compression="gzip")
    with h5py.File(path, "r") as f:
        for name, block in (("plain", 1), ("chunked", 3)):
            fs = open_seq(f[name])
            assert isinstance(fs, FSeq_arr) and fs.reader.natural_block == block
            np.testing.assert_array_equal(np.asarray(fs), data)
            np.testing.assert_array_equal(np.asarray(fs[[7, 2, 2, 9]]), data[[7, 2, 2, 9]])
            np.testing.assert_array_equal(fs.as3darray((1, 9, 3), (slice(1, 5), slice(0, 8, 2)),
                                                       dtype=None), data[1:9:3, 1:5, 0:8:2])
