"""T11: writing a sequence with imfun's writers against tifffile / h5py / zarr writing the array directly.

Both sides read the same ``tifffile.memmap`` of a synthetic uint16 movie
(``frames × size × size``; the default 2000 × 512 × 512 is 1 GiB) and write the
same format with the same chunks and codecs: an ImageJ TIFF, a chunked HDF5
data set, an OME-Zarr (v2) array.  Ours streams block by block through
``FrameSequence.iter_blocks`` and writes under a temporary name; theirs hands
the whole memory map to the library.  The ratio ours / direct is printed
(target ≤ 1.3).

Run ``python -m bench.export_bench --frames 500`` (256 MiB) or call :func:`t11`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
AXES = [(0.05, "s"), (0.8, "µm"), (0.8, "µm")]


def make_source(out: Path, frames: int, size: int) -> Path:
    """A synthetic uint16 movie as a contiguous TIFF (made once, reused)."""
    import tifffile

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"t11_{frames}x{size}x{size}.tif"
    if path.exists():
        with tifffile.TiffFile(path) as tf:
            if tf.series[0].shape == (frames, size, size) and tf.series[0].axes == "TYX":
                return path
        path.unlink()
    # without axes, tifffile would describe 2000 images as 2000 channels of one frame
    mm = tifffile.memmap(path, shape=(frames, size, size), dtype=np.uint16, imagej=True,
                         metadata={"axes": "TYX"})
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    base = (200 + 100 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.float32)
    for start in range(0, frames, 64):
        stop = min(frames, start + 64)
        mm[start:stop] = rng.poisson(base, (stop - start, size, size)).astype(np.uint16)
    mm.flush()
    del mm
    return path


def _time(fn: Callable[[], object]) -> float:
    # start with no dirty pages, so one run's write-back does not slow the next one
    os.sync()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _clean(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def t11(frames: int = 2000, size: int = 512, out: Path | None = None, repeats: int = 3,
        formats: tuple[str, ...] = ("tiff", "hdf5", "zarr"), quiet: bool = False) -> dict[str, dict]:
    """Time our writers against the libraries writing the same memory map directly.

    Returns ``{format: {'ours': s, 'direct': s, 'ratio': ours / direct}}``.
    """
    import h5py
    import tifffile
    import zarr

    from imfun.fseq import FSeq_arr

    out = Path(out) if out is not None else ROOT / "bench-output"
    src = make_source(out, frames, size)
    mm = tifffile.memmap(src, mode="r")
    fs = FSeq_arr(mm, meta={"axes": AXES})
    nbytes = mm.nbytes
    chunk_frames = max(1, min(frames, (4 * 1024**2) // (size * size * 2), fs.plan().frames_per_block))
    chunks = (chunk_frames, size, size)
    target = out / "t11-out"

    def ours(kind):
        path = target.with_suffix({"tiff": ".tif", "hdf5": ".h5", "zarr": ".zarr"}[kind])

        def run():
            _clean(path)
            if kind == "tiff":
                fs.to_tiff(path)
            elif kind == "hdf5":
                fs.to_hdf5(path, chunks=chunks)
            else:
                fs.to_zarr(path, chunks=chunks)
        return run, path

    def direct(kind):
        path = target.with_suffix({"tiff": ".d.tif", "hdf5": ".d.h5", "zarr": ".d.zarr"}[kind])

        def run():
            _clean(path)
            if kind == "tiff":
                tifffile.imwrite(path, mm, imagej=True, resolution=(1 / 0.8, 1 / 0.8),
                                 metadata={"axes": "TYX", "finterval": 0.05, "unit": "um"})
            elif kind == "hdf5":
                with h5py.File(path, "w") as f:
                    f.create_dataset("data", data=mm, chunks=chunks)
            else:
                group = zarr.open_group(str(path), mode="w", zarr_format=2)
                arr = group.create_array("0", shape=mm.shape, chunks=chunks, dtype=mm.dtype,
                                         chunk_key_encoding={"name": "v2", "separator": "/"})
                arr[:] = mm
        return run, path

    results: dict[str, dict] = {}
    for kind in formats:
        run_o, p_o = ours(kind)
        run_d, p_d = direct(kind)
        t_o = t_d = float("inf")
        for _ in range(repeats):  # alternate, keep the best of each
            t_d = min(t_d, _time(run_d))
            t_o = min(t_o, _time(run_o))
        _clean(p_o)
        _clean(p_d)
        results[kind] = {"ours": t_o, "direct": t_d, "ratio": t_o / t_d}
        if not quiet:
            print(f"T11 {kind:5s} {nbytes / 1024**2:7.0f} MiB  ours {t_o:7.2f} s "
                  f"({nbytes / t_o / 1024**2:6.0f} MiB/s)  direct {t_d:7.2f} s  "
                  f"ratio {t_o / t_d:5.2f}{'' if t_o / t_d <= 1.3 else '  (above 1.3)'}", flush=True)
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--formats", default="tiff,hdf5,zarr")
    args = ap.parse_args(argv)
    t11(args.frames, args.size, args.out, args.repeats, tuple(args.formats.split(",")))


if __name__ == "__main__":
    main()
