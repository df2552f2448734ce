"""``fs.to_dask()`` and ``fs.to_xarray()``: lazy arrays read in the workers."""

from __future__ import annotations

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest

from imfun.errors import InvalidArgumentError
from imfun.fseq import FSeq_arr, FSeq_tiff

ROWS, COLS = 32, 48  # as the sources of conftest.py


def _graph_bytes(arr) -> int:
    return len(cloudpickle.dumps(dict(arr.__dask_graph__())))


def test_to_dask_equals_the_frames_on_the_cluster(client, source):
    data, fs = source
    arr = fs.to_dask(budget=data.nbytes // 2)
    assert arr.shape == data.shape and arr.dtype == data.dtype
    assert len(arr.chunks[0]) > 1 and arr.chunks[1:] == ((ROWS,), (COLS,))
    np.testing.assert_array_equal(arr.compute(scheduler=client), data)
    # time-contiguous chunks for per-pixel work: all frames, tiles of pixels
    pix = fs.to_dask("pixels", budget=data.nbytes // 3)
    assert pix.chunks[0] == (len(data),) and len(pix.chunks[1]) > 1
    np.testing.assert_array_equal(pix.compute(scheduler=client), data)
    np.testing.assert_allclose(pix.std(axis=0).compute(scheduler=client), data.std(axis=0), rtol=1e-5)
    tup = fs.to_dask((5, 16, -1))
    assert tup.chunks[0][0] == 5 and tup.chunks[1] == (16, 16) and tup.chunks[2] == (COLS,)
    np.testing.assert_array_equal(tup[2:9, 3:20, ::2].compute(scheduler=client), data[2:9, 3:20, ::2])


def test_default_chunks_follow_the_readers_chunks(sources):
    data, opener = sources["hdf5"]  # chunks of 5 frames
    with opener() as fs:
        assert fs.reader.natural_block == 5
        arr = fs.to_dask(budget=data.nbytes // 2)
        assert all(c % 5 == 0 for c in arr.chunks[0]) and sum(arr.chunks[0]) == len(data)
        assert fs.to_dask(chunks=7).chunks[0] == (7, 7, 7, 7, 7, 5)
        np.testing.assert_array_equal(fs.to_dask(chunks=7).compute(), data)


def test_graph_holds_no_pixels(tmp_path):
    import tifffile

    data = np.random.default_rng(0).integers(0, 60000, (200, 64, 80)).astype(np.uint16)  # 2 MB
    tifffile.imwrite(tmp_path / "big.tif", data)
    with FSeq_tiff(tmp_path / "big.tif") as fs:
        arr = fs.to_dask(chunks=10)
        assert len(arr.chunks[0]) == 20
        assert _graph_bytes(arr) < data.nbytes / 100
        assert _graph_bytes(fs.to_dask("pixels", budget="300 KiB")) < data.nbytes / 100
        np.testing.assert_array_equal(arr[::7].compute(), data[::7])


def test_pipeline_subsequence_and_compressed_tiles(client, sources):
    data, opener = sources["tiff_zlib"]
    with opener() as fs:
        assert not fs.reader.cheap_crop
        piped = FSeq_tiff(fs.reader.source, fns=[lambda f: f / 2.0])[3:31:2]
        want = data[3:31:2] / 2.0
        arr = piped.to_dask()
        assert arr.dtype == np.float64 and arr.shape == want.shape
        np.testing.assert_array_equal(arr.compute(scheduler=client), want)
        # whole frames are decoded once, then cut into tiles by dask
        pix = piped.to_dask("pixels", budget=want.nbytes // 3)
        assert pix.chunks[0] == (len(want),) and len(pix.chunks[1]) > 1
        np.testing.assert_array_equal(pix.compute(scheduler=client), want)
        piped.close()


def test_distributed_writing_through_to_dask(client, sources, tmp_path):
    zarr = pytest.importorskip("zarr")
    data, opener = sources["tiff"]
    with opener() as fs:
        out = str(tmp_path / "copy.zarr")
        fs.to_dask(chunks=8).to_zarr(out, compute=False).compute(scheduler=client)
        np.testing.assert_array_equal(zarr.open_array(out, mode="r")[:], data)


def test_colour_to_dask_and_chunk_errors():
    rgb = np.random.default_rng(3).integers(0, 255, (9, 6, 8, 3)).astype(np.uint8)
    fs = FSeq_arr(rgb)
    for chunks in (None, 4, "pixels", (2, 3, 4), {0: 5}):
        arr = fs.to_dask(chunks, budget=2000)
        assert arr.chunks[3] == (3,)
        np.testing.assert_array_equal(arr.compute(scheduler="threads"), rgb)
    for bad in (0, 2.5, "frames", (1, 2, 3, 4, 5, 6)):
        with pytest.raises(InvalidArgumentError, match="chunks"):
            fs.to_dask(bad)


def test_to_xarray_coordinates_and_units(sources):
    xr = pytest.importorskip("xarray")
    data, opener = sources["tiff"]  # ImageJ: 0.1 s per frame, 0.5 µm rows, 0.25 µm cols
    with opener() as fs:
        xa = fs.to_xarray()
        assert isinstance(xa, xr.DataArray) and isinstance(xa.data, da.Array)  # lazy
        assert xa.dims == ("t", "y", "x") and xa.shape == data.shape
        np.testing.assert_allclose(xa.t.values, np.arange(len(data)) * 0.1)
        np.testing.assert_allclose(xa.y.values, np.arange(ROWS) * 0.5)
        np.testing.assert_allclose(xa.x.values, np.arange(COLS) * 0.25)
        assert (xa.t.attrs["units"], xa.y.attrs["units"], xa.x.attrs["units"]) == ("s", "µm", "µm")
        assert (xa.attrs["t_units"], xa.attrs["y_units"], xa.attrs["x_units"]) == ("s", "µm", "µm")
        assert xa.attrs["x_scale"] == 0.25
        # physical selection, computed lazily
        sel = xa.sel(t=slice(1.0, 1.5), x=slice(0, 2.0))
        np.testing.assert_array_equal(sel.compute().values, data[10:16, :, :9])
        sub = fs[4::3].to_xarray()
        np.testing.assert_allclose(sub.t.values, (4 + 3 * np.arange(len(sub.t))) * 0.1)


def test_to_xarray_colour_channels_and_plain_frames():
    pytest.importorskip("xarray")
    rgb = np.zeros((5, 4, 6, 3), np.uint8)
    xa = FSeq_arr(rgb, meta={"channel_names": ["red", "green", "blue"]}).to_xarray()
    assert xa.dims == ("t", "y", "x", "c") and list(xa.c.values) == ["red", "green", "blue"]
    plain = FSeq_arr(np.zeros((5, 4, 6))).to_xarray()
    assert list(plain.t.values) == [0, 1, 2, 3, 4] and "units" not in plain.t.attrs
    assert plain.attrs["t_units"] == ""
    with dask.config.set(scheduler="threads"):
        assert float(plain.mean()) == 0.0
