"""The Zarr reader: conformance on stores written with zarr-python (formats 2 and 3, OME-Zarr
0.4 and 0.5), array choice, axes and scales, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

from imfun.errors import (  # noqa: E402
    ChannelError,
    DatasetError,
    EmptySequenceError,
    InvalidArgumentError,
    MetadataWarning,
    UnsupportedFormatError,
)
from imfun.fseq import (  # noqa: E402
    FSeq_arr,
    FSeq_zarr,
    open_seq,
)
from imfun.readers import registry  # noqa: E402
from imfun.testing import ReaderConformance  # noqa: E402

V2_KEYS = {"name": "v2", "separator": "/"}  # the layout of NGFF 0.4 stores


def ngff_axes(letters: str, units: dict[str, str]) -> list[dict]:
    kinds = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
    out = []
    for a in letters:
        entry = {"name": a, "type": kinds[a]}
        if a in units:
            entry["unit"] = units[a]
        out.append(entry)
    return out


def write_ome_zarr(path, data: np.ndarray, letters: str, scale: list[float], units: dict[str, str],
                   version: str = "0.4", chunks=None, levels: int = 2, channel_labels=()):
    """An OME-Zarr image written with plain zarr: level k is downsampled 2**k in y and x."""
    fmt = 2 if version == "0.4" else 3
    group = zarr.open_group(str(path), mode="w", zarr_format=fmt)
    datasets = []
    yx = [letters.index("y"), letters.index("x")]
    for k in range(levels):
        key = [slice(None)] * data.ndim
        for i in yx:
            key[i] = slice(None, None, 2 ** k)
        level = data[tuple(key)]
        level_scale = [s * (2 ** k if i in yx else 1) for i, s in enumerate(scale)]
        kwargs = {"chunk_key_encoding": V2_KEYS} if fmt == 2 else {"dimension_names": list(letters)}
        arr = group.create_array(str(k), shape=level.shape, dtype=level.dtype,
                                 chunks=chunks or level.shape, **kwargs)
        arr[:] = level
        datasets.append({"path": str(k),
                         "coordinateTransformations": [{"type": "scale", "scale": level_scale}]})
    multiscales = [{"version": version, "name": "image", "axes": ngff_axes(letters, units),
                    "datasets": datasets}] if fmt == 2 else \
        [{"name": "image", "axes": ngff_axes(letters, units), "datasets": datasets}]
    omero = {"channels": [{"label": lab} for lab in channel_labels]} if channel_labels else None
    if fmt == 2:
        group.attrs["multiscales"] = multiscales
        if omero:
            group.attrs["omero"] = omero
    else:
        ome = {"version": version, "multiscales": multiscales}
        if omero:
            ome["omero"] = omero
        group.attrs["ome"] = ome
    return path


class TestZarrV2(ReaderConformance):
    """A format-2 array at the root of the store, chunked along time."""

    seq_class = FSeq_zarr

    def write(self, tmp_path, frames):
        path = tmp_path / "v2.zarr"
        arr = zarr.create_array(str(path), shape=frames.shape, chunks=(5, 8, 10), dtype=frames.dtype,
                                zarr_format=2)
        arr[:] = frames
        return path

    def test_meta(self, frames_fs):
        _, fs = frames_fs
        assert fs.reader.natural_block == 5 and fs.reader.cheap_crop and fs.reader.thread_safe
        assert fs.meta["zarr_format"] == 2 and fs.meta["dims"] == "tyx"


class TestZarrV3(ReaderConformance):
    """A format-3 array in a group, sharded, with dimension names in (y, x, t) order."""

    seq_class = FSeq_zarr

    def write(self, tmp_path, frames):
        path = tmp_path / "v3.zarr"
        group = zarr.open_group(str(path), mode="w", zarr_format=3)
        data = np.moveaxis(frames, 0, -1)
        arr = group.create_array("movie", shape=data.shape, chunks=(8, 10, 3), shards=(16, 20, 6),
                                 dtype=data.dtype, dimension_names=["y", "x", "t"])
        arr[:] = data
        group.create_array("notes", shape=(4,), dtype="f8")  # 1-D: not a candidate
        return path

    def test_meta(self, frames_fs):
        _, fs = frames_fs
        assert fs.meta["zarr_format"] == 3 and fs.meta["dims"] == "yxt"
        assert fs.reader.natural_block == 3 and fs.meta["array"] == "movie"


class TestOmeZarr04(ReaderConformance):
    """NGFF 0.4 (as imfun's writer makes it): t, c=1, y, x with scales in ms and µm."""

    seq_class = FSeq_zarr

    def write(self, tmp_path, frames):
        return write_ome_zarr(tmp_path / "img.ome.zarr", frames[:, None], "tcyx", [50.0, 1.0, 0.5, 0.25],
                              {"t": "millisecond", "y": "micrometer", "x": "micrometer"},
                              chunks=(4, 1, 16, 20))

    def test_axes(self, frames_fs):
        _, fs = frames_fs
        (dt, tu), (dy, yu), (dx, xu) = fs.meta["axes"]
        assert (tu, yu, xu) == ("s", "µm", "µm")
        assert (dt, dy, dx) == pytest.approx((0.05, 0.5, 0.25))
        assert fs.meta["ngff_version"] == "0.4" and fs.meta["levels"] == ["0", "1"]
        assert fs.reader.natural_block == 4

    def test_level_1(self, conformance_source):
        src, expected = conformance_source
        with open_seq(src, level=1) as fs:
            np.testing.assert_array_equal(np.asarray(fs), expected[:, ::2, ::2])
            assert fs.meta["axes"][1] == (1.0, "µm") and fs.meta["axes"][2] == (0.5, "µm")
        with open_seq(src, array="1") as fs:  # one level named directly keeps the NGFF scales
            assert fs.meta["axes"][2] == (0.5, "µm") and fs.meta["level"] == 1
        with open_seq(src / "1") as fs:  # the level's folder itself: scales from the image group
            assert isinstance(fs, FSeq_zarr) and fs.meta["axes"][1] == (1.0, "µm")
            np.testing.assert_array_equal(fs[3], expected[3, ::2, ::2])
        with pytest.raises(DatasetError, match=r"level=2.*2 resolution levels"):
            open_seq(src, level=2)


class TestOmeZarr05Colour(ReaderConformance):
    """NGFF 0.5 in a format-3 store: (t, c, y, x) with 3 channels, read as colour frames."""

    seq_class = FSeq_zarr
    colour = True

    def write(self, tmp_path, frames):
        return write_ome_zarr(tmp_path / "colour.ome.zarr", np.moveaxis(frames, -1, 1), "tcyx",
                              [2.0, 1.0, 0.3, 0.3], {"t": "second", "y": "micrometer", "x": "nanometer"},
                              version="0.5", chunks=(3, 1, 16, 20), channel_labels=("DAPI", "GFP", "RFP"))

    def test_axes_and_channels(self, conformance_source, frames_fs):
        src, expected = conformance_source
        _, fs = frames_fs
        assert fs.meta["ngff_version"] == "0.5" and fs.meta["channel_names"] == ["DAPI", "GFP", "RFP"]
        assert fs.meta["axes"][0] == (2.0, "s")
        assert fs.meta["axes"][2].scale == pytest.approx(3e-4) and fs.meta["axes"][2].unit == "µm"
        with open_seq(src, ch="GFP") as one:
            np.testing.assert_array_equal(np.asarray(one), expected[..., 1])
        with open_seq(src, ch=2) as one:
            np.testing.assert_array_equal(one[4], expected[4, ..., 2])
        with pytest.raises(ChannelError, match="CFP"):
            open_seq(src, ch="CFP")


# -- layouts, metadata -------------------------------------------------------------------------
@pytest.fixture()
def data():
    return np.random.default_rng(3).integers(0, 4000, (10, 6, 8), dtype=np.uint16)


def test_tczyx_picks_z(tmp_path):
    arr = np.random.default_rng(2).random((4, 2, 3, 6, 7)).astype(np.float32)
    path = write_ome_zarr(tmp_path / "5d.zarr", arr, "tczyx", [0.1, 1, 2.0, 0.5, 0.5],
                          {"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"},
                          levels=1)
    with pytest.raises(InvalidArgumentError, match="3 z-planes"):
        open_seq(path)
    with open_seq(path, z=0) as fs:
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(arr[:, :, 0], 1, -1))
    with open_seq(path, z="mean", ch=0) as fs:
        np.testing.assert_allclose(np.asarray(fs), arr[:, 0].mean(axis=1), rtol=1e-6)
        assert fs.meta["axes"][0] == (0.1, "s")
    with open_seq(path, z=2, ch=1) as fs:
        np.testing.assert_array_equal(np.asarray(fs[1:3]), arr[1:3, 1, 2])


def test_zyx_stack_is_frames(tmp_path, data):
    path = write_ome_zarr(tmp_path / "stack.zarr", data, "zyx", [2.0, 0.5, 0.5],
                          {"z": "micrometer", "y": "micrometer", "x": "micrometer"}, levels=1)
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
        assert fs.meta["axes"][0] == (2.0, "µm")


def test_global_transform_and_bioformats2raw(tmp_path, data):
    path = tmp_path / "b2r.zarr"
    root = zarr.open_group(str(path), mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    root.create_group("OME")
    write_ome_zarr(path / "0", data, "tyx", [1.0, 0.5, 0.5],
                   {"t": "second", "y": "micrometer", "x": "micrometer"}, levels=1)
    img = zarr.open_group(str(path / "0"), mode="a", zarr_format=2)
    ms = img.attrs["multiscales"]
    ms[0]["coordinateTransformations"] = [{"type": "scale", "scale": [0.1, 2.0, 2.0]}]
    img.attrs["multiscales"] = ms
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
        assert list(fs.meta["axes"]) == [(0.1, "s"), (1.0, "µm"), (1.0, "µm")]
        assert fs.meta["array"] == "0/0"


def test_own_attributes_and_xarray_dims(tmp_path, data):
    path = tmp_path / "own.zarr"
    arr = zarr.create_array(str(path), shape=(6, 8, 10), dtype=data.dtype, zarr_format=2)
    arr[:] = np.moveaxis(data, 0, -1)
    arr.attrs.update({"imfun_axes": "yxt", "imfun_scales": [0.4, 0.3, 0.02],
                      "imfun_units": ["um", "µm", "s"]})
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
        assert list(fs.meta["axes"]) == [(0.02, "s"), (0.4, "µm"), (0.3, "µm")]
    path = tmp_path / "xr.zarr"
    arr = zarr.create_array(str(path), shape=(6, 10, 8), dtype=data.dtype, zarr_format=2)
    arr[:] = np.transpose(data, (1, 0, 2))
    arr.attrs["_ARRAY_DIMENSIONS"] = ["y", "time", "x"]
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
        np.testing.assert_array_equal(np.asarray(fs[[9, 0, 4]]), data[[9, 0, 4]])


def test_bad_ngff_axes_warn(tmp_path, data):
    path = write_ome_zarr(tmp_path / "bad.zarr", data, "tyx", [1, 1, 1], {}, levels=1)
    group = zarr.open_group(str(path), mode="a", zarr_format=2)
    ms = group.attrs["multiscales"]
    ms[0]["axes"] = ms[0]["axes"][:2]
    group.attrs["multiscales"] = ms
    with pytest.warns(MetadataWarning, match="do not match"), open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)


def test_sparse_selection_and_crop(tmp_path):
    arr = np.arange(120 * 5 * 6, dtype=np.int32).reshape(120, 5, 6)
    path = tmp_path / "s.zarr"
    z = zarr.create_array(str(path), shape=arr.shape, chunks=(7, 5, 3), dtype=arr.dtype)
    z[:] = arr
    with open_seq(path) as fs:
        for pick in ([0, 119], [3, 5, 6, 8], list(range(0, 120, 9))):
            np.testing.assert_array_equal(np.asarray(fs[pick]), arr[pick])
        np.testing.assert_array_equal(fs.as3darray((3, 100, 13), (slice(1, 4), slice(5, 0, -2)),
                                                   dtype=None), arr[3:100:13, 1:4, 5:0:-2])


# -- recognising stores ---------------------------------------------------------------------
def test_store_without_zarr_ending(tmp_path, data):
    for fmt in (2, 3):
        path = tmp_path / f"store_v{fmt}"
        zarr.create_array(str(path), shape=data.shape, dtype=data.dtype, zarr_format=fmt)[:] = data
        with open_seq(path) as fs:
            assert isinstance(fs, FSeq_zarr)
            np.testing.assert_array_equal(np.asarray(fs), data)


def test_png_folder_is_not_a_store(tmp_path, data):
    iio = pytest.importorskip("imageio.v3")
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        iio.imwrite(folder / f"f{i}.png", data[i].astype(np.uint8))
    src = registry.resolve(folder)
    assert src.is_collection and registry.find_format(src).name != "zarr"


def test_array_reader_takes_zarr_arrays(tmp_path, data):
    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=data.shape, chunks=(4, 6, 8),
                          dtype=data.dtype)
    z[:] = data
    fs = open_seq(z)
    assert isinstance(fs, FSeq_arr) and fs.reader.natural_block == 4
    np.testing.assert_array_equal(np.asarray(fs), data)
    np.testing.assert_array_equal(np.asarray(fs[[7, 2, 2, 9]]), data[[7, 2, 2, 9]])
    np.testing.assert_array_equal(fs.as3darray((1, 9, 3), (slice(1, 5), slice(0, 8, 2)), dtype=None),
                                  data[1:9:3, 1:5, 0:8:2])


# -- errors ------------------------------------------------------------------------------------------
def test_several_arrays_need_a_name(tmp_path, data):
    path = tmp_path / "two.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_array("raw", shape=data.shape, dtype=data.dtype)[:] = data
    group.create_group("proc").create_array("dff", shape=data.shape, dtype="f4")[:] = data / 2
    with pytest.raises(DatasetError) as info:
        open_seq(path)
    assert "raw" in str(info.value) and "proc/dff" in str(info.value) and "array=" in str(info.value)
    with open_seq(path, array="proc/dff") as fs:
        np.testing.assert_allclose(np.asarray(fs), data / 2)
    with pytest.raises(DatasetError, match=r"'nope' does not exist.*proc/dff"):
        open_seq(path, array="nope")


def test_group_without_arrays(tmp_path):
    path = tmp_path / "empty.zarr"
    group = zarr.open_group(str(path), mode="w")
    group.create_group("sub")
    with pytest.raises(DatasetError, match=r"no array of 3 or more dimensions.*\(none\)"):
        open_seq(path)
    group.create_array("flat", shape=(4, 5), dtype="u1")
    with pytest.raises(DatasetError, match=r"flat \(4, 5\)"):
        open_seq(path)


def test_zero_length(tmp_path):
    path = tmp_path / "zero.zarr"
    zarr.create_array(str(path), shape=(0, 4, 5), dtype="u1")
    with pytest.raises(EmptySequenceError, match="no frames"):
        open_seq(path)


def test_not_a_store(tmp_path):
    path = tmp_path / "nothing.zarr"
    path.mkdir()
    with pytest.raises(ValueError, match="no Zarr array or group"):
        open_seq(path)
    (tmp_path / "file.zarr").write_bytes(b"x")
    with pytest.raises(UnsupportedFormatError):
        open_seq(tmp_path / "file.zarr")


def test_pickle_and_close(tmp_path, data):
    path = tmp_path / "p.zarr"
    zarr.create_array(str(path), shape=data.shape, dtype=data.dtype)[:] = data
    with open_seq(path) as fs:
        fs[0]
        fs2 = pickle.loads(pickle.dumps(fs[2:8]))
    assert fs.reader._arr is None
    with fs2:
        np.testing.assert_array_equal(np.asarray(fs2), data[2:8])
    np.testing.assert_array_equal(fs[5], data[5])  # reopens after close
