"""Fixtures of the dask tests: one real LocalCluster per session and sources written here."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

# frames of every source: small, several blocks under the tests' budgets
N, ROWS, COLS = 40, 32, 48
AXES = [(0.1, "s"), (0.5, "µm"), (0.25, "µm")]


def _data(dtype, seed, n=N) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal((n, ROWS, COLS)) * 100 + 20).astype(dtype)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -3000), min(info.max, 3000)
    return rng.integers(lo, hi, (n, ROWS, COLS), endpoint=True).astype(dtype)


@pytest.fixture(scope="session")
def client():
    """A real cluster: 2 worker processes of one thread each, loopback only."""
    import cloudpickle

    # functions defined in the test modules travel by value (workers cannot import tests/)
    for name, mod in list(sys.modules.items()):
        if name.split(".")[-1].startswith("test_dist") or name.endswith("dist.conftest"):
            cloudpickle.register_pickle_by_value(mod)
    # the scheduler's HTTP routes listen on 8787 unless told otherwise: a free loopback port, so
    # clusters started at once (pytest-xdist) do not collide
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None, host="127.0.0.1",
                                       scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    # not the default client: other tests in this process must keep the local engine
    cl = distributed.Client(cluster, set_as_default=False)
    try:
        yield cl
    finally:
        with warnings.catch_warnings():
            # distributed may warn about its own sockets while shutting down
            warnings.simplefilter("ignore", ResourceWarning)
            cl.close()
            cluster.close()


def _write_sources(folder: Path) -> dict[str, tuple[np.ndarray, callable]]:
    """Files written with the real libraries; ``name -> (data, opener)``."""
    import h5py
    import imageio.v3 as iio
    import tifffile
    import zarr

    from imfun.fseq import FSeq_glob, FSeq_hdf5, FSeq_npy, FSeq_tiff, FSeq_zarr

    out = {}
    tif = _data(np.uint16, 1)
    tifffile.imwrite(folder / "movie.tif", tif, imagej=True, resolution=(4.0, 2.0),
                     metadata={"axes": "TYX", "finterval": 0.1, "unit": "um"})
    out["tiff"] = tif, lambda: FSeq_tiff(folder / "movie.tif")

    ztif = _data(np.uint16, 2)
    tifffile.imwrite(folder / "zlib.tif", ztif, compression="zlib")  # decoding needed: no cheap crop
    out["tiff_zlib"] = ztif, lambda: FSeq_tiff(folder / "zlib.tif")

    h5 = _data(np.float32, 3)
    with h5py.File(folder / "movie.h5", "w") as fh:
        fh.create_dataset("data", data=h5, chunks=(5, 16, COLS))
    out["hdf5"] = h5, lambda: FSeq_hdf5(folder / "movie.h5", dataset="data")

    zr = _data(np.int16, 4)
    arr = zarr.create_array(str(folder / "movie.zarr"), shape=zr.shape, dtype=zr.dtype, chunks=(8, 16, 24))
    arr[:] = zr
    out["zarr"] = zr, lambda: FSeq_zarr(folder / "movie.zarr")

    png = _data(np.uint8, 5, n=12)
    (folder / "png").mkdir()
    for i, frame in enumerate(png):
        iio.imwrite(folder / "png" / f"frame{i}.png", frame)
    out["glob"] = png, lambda: FSeq_glob(str(folder / "png" / "frame*.png"))

    npy = _data(np.float64, 6)
    np.save(folder / "movie.npy", npy)
    out["npy"] = npy, lambda: FSeq_npy(folder / "movie.npy")
    return out


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    return _write_sources(tmp_path_factory.mktemp("dist-sources"))


SOURCE_NAMES = ["tiff", "tiff_zlib", "hdf5", "zarr", "glob", "npy"]


@pytest.fixture(params=SOURCE_NAMES)
def source(request, sources):
    """``(data, fs)`` for each source; the sequence is closed afterwards."""
    data, opener = sources[request.param]
    fs = opener()
    try:
        yield data, fs
    finally:
        fs.close()
