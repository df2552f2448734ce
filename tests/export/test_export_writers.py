"""Writers: TIFF (ImageJ, OME, BigTIFF), HDF5, OME-Zarr, NPY — data, axes, streaming, safety."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
import tifffile
import zarr

from imfun.errors import (
    InvalidArgumentError,
    TargetExistsError,
    UnsupportedFormatError,
    WriteError,
)
from imfun.export import writers
from imfun.fseq import FSeq_arr, open_seq

AXES = [(0.25, "s"), (0.5, "µm"), (0.75, "µm")]


def make_seq(n=23, shape=(32, 48), dtype=np.uint16, fns=None, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 1000, (n, *shape)).astype(dtype)
    return FSeq_arr(data, fns=fns, meta={"axes": AXES}), data


def read_direct(kind: str, path: Path) -> np.ndarray:
    if kind.startswith("tiff"):
        return tifffile.imread(path)
    if kind == "hdf5":
        with h5py.File(path, "r") as f:
            return f["data"][...]
    if kind == "zarr":
        return zarr.open_group(str(path), mode="r")["0"][...]
    return np.load(path, allow_pickle=False)


WRITERS = {
    "tiff": ("a.tif", lambda fs, p, **kw: fs.to_tiff(p, **kw)),
    "tiff-ome": ("a.ome.tif", lambda fs, p, **kw: fs.to_tiff(p, ome=True, **kw)),
    "hdf5": ("a.h5", lambda fs, p, **kw: fs.to_hdf5(p, **kw)),
    "zarr": ("a.zarr", lambda fs, p, **kw: fs.to_zarr(p, **kw)),
    "npy": ("a.npy", lambda fs, p, **kw: fs.to_npy(p, **kw)),
}


def open_back(path: Path):
    try:
        return open_seq(str(path))
    except UnsupportedFormatError:
        pytest.skip(f"no reader for {path.suffix} yet")


@pytest.mark.parametrize("kind", list(WRITERS))
def test_writes_pipelined_frames_in_blocks(kind, tmp_path):
    # a budget of a few frames forces many blocks, none aligned with the chunks
    fs, data = make_seq(fns=[lambda f: f * 2 + 1])
    name, write = WRITERS[kind]
    out = write(fs, tmp_path / name, budget=4 * 32 * 48 * 20)
    assert out == tmp_path / name
    np.testing.assert_array_equal(read_direct(kind, out), data * 2 + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_round_trip_through_open_seq(kind, tmp_path):
    fs, data = make_seq()
    name, write = WRITERS[kind]
    out = write(fs, tmp_path / name)
    with open_back(out) as back:
        np.testing.assert_array_equal(np.asarray(back), data)
        if kind != "npy":  # NPY has no place for axes
            assert list(back.meta["axes"]) == [tuple(a) for a in fs.meta["axes"]]


@pytest.mark.parametrize("kind", ["tiff", "tiff-ome", "hdf5", "zarr", "npy"])
def test_colour_round_trip(kind, tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 255, (6, 16, 20, 3)).astype(np.uint8)
    fs = FSeq_arr(data, meta={"axes": AXES})
    name, write = WRITERS[kind]
    out = write(fs, tmp_path / name)
    with open_back(out) as back:
        assert back.frame_shape == (16, 20, 3)
        np.testing.assert_array_equal(np.asarray(back), data)


def test_two_channel_tiff_is_a_tcyx_hyperstack(tmp_path):
    data = np.arange(5 * 8 * 10 * 2, dtype=np.uint16).reshape(5, 8, 10, 2)
    out = FSeq_arr(data).to_tiff(tmp_path / "c2.tif")
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].axes == "TCYX"
        np.testing.assert_array_equal(tif.series[0].asarray(), data.transpose(0, 3, 1, 2))
    with open_back(out) as back:
        np.testing.assert_array_equal(np.asarray(back), data)


def test_fslice_crop_dtype_and_frame_step(tmp_path):
    fs, data = make_seq()
    out = fs.to_hdf5(tmp_path / "s.h5", fslice=(2, 20, 3), crop=(slice(4, 20), slice(0, 30)),
                     dtype=np.float32)
    with h5py.File(out, "r") as f:
        ds = f["data"]
        assert ds.dtype == np.float32
        np.testing.assert_array_equal(ds[...], data[2:20:3, 4:20, :30].astype(np.float32))
        # every third frame: the frame interval is three times as long
        np.testing.assert_allclose(ds.attrs["imfun_scales"], [0.75, 0.5, 0.75])


def test_imagej_metadata(tmp_path):
    fs, _ = make_seq()
    out = fs.to_tiff(tmp_path / "ij.tif")
    with tifffile.TiffFile(out) as tif:
        assert tif.is_imagej and not tif.is_bigtiff
        ij = tif.imagej_metadata
        assert ij["finterval"] == pytest.approx(0.25)
        assert ij["unit"] == "um"
        assert ij["images"] == 23
        page = tif.pages[0]
        xres = page.tags["XResolution"].value
        yres = page.tags["YResolution"].value
        assert xres[0] / xres[1] == pytest.approx(1 / 0.75)
        assert yres[0] / yres[1] == pytest.approx(1 / 0.5)


def test_imagej_z_stack_uses_spacing(tmp_path):
    fs = FSeq_arr(np.zeros((4, 8, 8), np.uint8), meta={"axes": [(2.0, "µm"), (0.5, "µm"), (0.5, "µm")]})
    out = fs.to_tiff(tmp_path / "z.tif")
    with tifffile.TiffFile(out) as tif:
        assert tif.imagej_metadata["spacing"] == pytest.approx(2.0)
        assert tif.series[0].axes == "ZYX"


def test_ome_metadata(tmp_path):
    fs, _ = make_seq()
    out = fs.to_tiff(tmp_path / "o.ome.tif", ome=True, compression="zlib")
    with tifffile.TiffFile(out) as tif:
        assert tif.is_ome
        xml = tif.ome_metadata
    for text in ('PhysicalSizeX="0.75"', 'PhysicalSizeY="0.5"', 'TimeIncrement="0.25"',
                 'TimeIncrementUnit="s"'):
        assert text in xml


def test_imagej_refuses_float64_and_dtype_converts(tmp_path):
    fs = FSeq_arr(np.linspace(0, 1, 4 * 8 * 8).reshape(4, 8, 8))
    with pytest.raises(InvalidArgumentError, match="float32"):
        fs.to_tiff(tmp_path / "f.tif")
    assert not any(tmp_path.iterdir())
    out = fs.to_tiff(tmp_path / "f.tif", dtype="float32")
    assert tifffile.imread(out).dtype == np.float32
    out = fs.to_tiff(tmp_path / "g.tif", imagej=False)
    np.testing.assert_array_equal(tifffile.imread(out), np.asarray(fs))


def test_bigtiff_above_threshold(tmp_path, monkeypatch):
    fs, data = make_seq(n=5)
    monkeypatch.setattr(writers, "BIGTIFF_THRESHOLD", data.nbytes - 1)
    for name, kw in (("b.tif", {}), ("b.ome.tif", {"ome": True})):
        out = fs.to_tiff(tmp_path / name, **kw)
        with tifffile.TiffFile(out) as tif:
            assert tif.is_bigtiff
            np.testing.assert_array_equal(tif.asarray(), data)


def test_hdf5_attributes_and_compression(tmp_path):
    fs, data = make_seq()
    out = fs.to_hdf5(tmp_path / "c.h5", dataset="movie", compression="gzip", compression_opts=4)
    with h5py.File(out, "r") as f:
        ds = f["movie"]
        assert ds.compression == "gzip" and ds.chunks is not None
        assert ds.attrs["imfun_axes"] == "tyx"
        np.testing.assert_allclose(ds.attrs["imfun_scales"], [0.25, 0.5, 0.75])
        assert list(ds.attrs["imfun_units"]) == ["s", "µm", "µm"]
        np.testing.assert_allclose(ds.attrs["element_size_um"], [1.0, 0.5, 0.75])
        np.testing.assert_array_equal(ds[...], data)
    out = fs.to_hdf5(tmp_path / "l.h5", compression="lzf", chunks=(5, 16, 16))
    with h5py.File(out, "r") as f:
        assert f["data"].compression == "lzf" and f["data"].chunks == (5, 16, 16)
        np.testing.assert_array_equal(f["data"][...], data)
    with pytest.raises(InvalidArgumentError):
        fs.to_hdf5(tmp_path / "x.h5", compression="brotli")


def test_zarr_is_ngff(tmp_path):
    fs, data = make_seq()
    out = fs.to_zarr(tmp_path / "n.ome.zarr", chunks=(7, 32, 48))
    group = zarr.open_group(str(out), mode="r")
    ms = group.attrs["multiscales"][0]
    assert ms["version"] == "0.4"
    assert [(a["name"], a["type"], a.get("unit")) for a in ms["axes"]] == [
        ("t", "time", "second"), ("y", "space", "micrometer"), ("x", "space", "micrometer")]
    assert ms["datasets"][0]["path"] == "0"
    assert ms["datasets"][0]["coordinateTransformations"][0]["scale"] == [0.25, 0.5, 0.75]
    assert group["0"].chunks == (7, 32, 48)
    np.testing.assert_array_equal(group["0"][...], data)


def test_zarr_colour_is_tcyx(tmp_path):
    data = np.arange(4 * 6 * 5 * 3, dtype=np.uint8).reshape(4, 6, 5, 3)
    out = FSeq_arr(data).to_zarr(tmp_path / "c.zarr")
    group = zarr.open_group(str(out), mode="r")
    assert [a["name"] for a in group.attrs["multiscales"][0]["axes"]] == ["t", "c", "y", "x"]
    np.testing.assert_array_equal(group["0"][...], data.transpose(0, 3, 1, 2))


def test_rechunk_aligns_blocks():
    blocks = [(0, np.arange(5)), (5, np.arange(5, 12)), (12, np.arange(12, 13))]
    out = list(writers.rechunk(iter(blocks), 4))
    assert [s for s, _ in out] == [0, 4, 8, 12]
    np.testing.assert_array_equal(np.concatenate([b for _, b in out]), np.arange(13))
    assert all(len(b) % 4 == 0 for _, b in out[:-1])


# -- safety ------------------------------------------------------------------------
class Boom(Exception):
    pass


def exploding(after: int, exc=Boom):
    count = {"n": 0}

    def fn(frame):
        count["n"] += 1
        if count["n"] > after:
            raise exc("stop in the middle")
        return frame
    return fn


@pytest.mark.parametrize("kind", list(WRITERS))
@pytest.mark.parametrize("exc", [Boom, KeyboardInterrupt])
def test_interrupt_leaves_nothing(kind, exc, tmp_path):
    fs, _ = make_seq(fns=[exploding(12, exc)])
    name, write = WRITERS[kind]
    with pytest.raises(exc):
        write(fs, tmp_path / name, budget=4 * 32 * 48 * 20)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", list(WRITERS))
def test_existing_target_needs_overwrite(kind, tmp_path):
    fs, data = make_seq()
    name, write = WRITERS[kind]
    write(fs, tmp_path / name)
    fs2 = FSeq_arr(data[:5] + 1, meta={"axes": AXES})
    with pytest.raises(TargetExistsError, match="overwrite=True"):
        write(fs2, tmp_path / name)
    np.testing.assert_array_equal(read_direct(kind, tmp_path / name), data)
    write(fs2, tmp_path / name, overwrite=True)
    np.testing.assert_array_equal(read_direct(kind, tmp_path / name), data[:5] + 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_refuses_own_source(tmp_path):
    data = np.arange(6 * 8 * 8, dtype=np.uint16).reshape(6, 8, 8)
    src = tmp_path / "src.tif"
    tifffile.imwrite(src, data)
    with open_seq(str(src)) as fs:
        with pytest.raises(WriteError, match="read from"):
            fs.to_tiff(src, overwrite=True)
        with pytest.raises(WriteError):
            fs.to_npy(tmp_path / "." / "src.tif", overwrite=True)
    np.testing.assert_array_equal(tifffile.imread(src), data)
    # a folder store is refused when the source lies inside it
    store = tmp_path / "s.zarr"
    FSeq_arr(data).to_zarr(store)
    with open_seq(str(store)) as fs, pytest.raises(WriteError):
        fs.to_zarr(store, overwrite=True)
    assert zarr.open_group(str(store), mode="r")["0"].shape == (6, 8, 8)


def test_missing_folder_is_created(tmp_path):
    fs, data = make_seq(n=3)
    out = fs.to_npy(tmp_path / "new" / "deeper" / "a.npy")
    np.testing.assert_array_equal(np.load(out), data)


@pytest.mark.parametrize("kind", ["tiff", "hdf5", "zarr", "npy"])
def test_memory_stays_near_budget(kind, tmp_path):
    # 40 frames of 128x128 float32 = 2.6 MB read from a memory map, budget 0.5 MB
    data = np.random.default_rng(3).random((40, 128, 128), dtype=np.float32)
    np.save(tmp_path / "src.npy", data)
    mm = np.load(tmp_path / "src.npy", mmap_mode="r")
    fs = FSeq_arr(mm, meta={"axes": AXES})
    name, write = WRITERS[kind]
    (tmp_path / "out").mkdir()
    tracemalloc.start()
    try:
        write(fs, tmp_path / "out" / name, budget=512 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.6 * 1024**2, f"peak {peak / 1e6:.1f} MB for {data.nbytes / 1e6:.1f} MB of data"
    np.testing.assert_array_equal(read_direct(kind, tmp_path / "out" / name), data)
    del mm
