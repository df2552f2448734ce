"""Scaling of the dask engine on this machine: local engine vs 1, 2 ... dask worker processes.

Run ``python -m imfun.dist.bench`` (``--help`` for the options).  It writes a
uint16 TIFF (about 500 MB by default) in a temporary folder, times each call
on the local engine, on dask's threaded scheduler and on ``LocalCluster``\\ s
of 1, 2 ... single-threaded worker processes (best of ``--repeat`` runs, the
file in the page cache), checks that the results agree and prints a Markdown
table.  The file is removed afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

CALLS = {
    "mean_frame": lambda fs, engine: fs.mean_frame(engine=engine),
    "std (axis=0)": lambda fs, engine: fs.std(axis=0, engine=engine),
    "data_percentile(99)": lambda fs, engine: fs.data_percentile(99, engine=engine),
    "time_project(np.median)": lambda fs, engine: fs.time_project(fn=np.median, engine=engine),
}


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def write_movie(path: Path, frames: int, size: int) -> None:
    """A uint16 TIFF of noisy frames, written block by block."""
    import tifffile

    rng = np.random.default_rng(0)

    def blocks():
        for _ in range(frames):
            yield rng.integers(0, 4096, (size, size), dtype=np.uint16)

    tifffile.imwrite(path, blocks(), shape=(frames, size, size), dtype=np.uint16)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--size", type=int, default=512, help="frame side in pixels")
    parser.add_argument("--workers", default="1,2", help="worker processes to try, e.g. 1,2,4")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from ..fseq import FSeq_tiff

    with tempfile.TemporaryDirectory(prefix="imfun-bench-") as folder:
        path = Path(folder) / "movie.tif"
        write_movie(path, args.frames, args.size)
        nbytes = args.frames * args.size * args.size * 2
        rows: dict[str, dict[str, float]] = {name: {} for name in CALLS}
        reference = {}
        with FSeq_tiff(path) as fs:
            fs.mean_frame()  # the file in the page cache for every case
            for name, call in CALLS.items():
                rows[name]["local"], reference[name] = _best(lambda c=call: c(fs, "local"), args.repeat)
                rows[name]["dask threads"], out = _best(lambda c=call: c(fs, "dask"), args.repeat)
                np.testing.assert_allclose(out, reference[name], rtol=1e-10)
            for n in [int(w) for w in args.workers.split(",")]:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1",
                                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
                    client = Client(cluster, set_as_default=False)
                    try:
                        fs.mean_frame(engine=client)  # workers import imfun and open the file once
                        for name, call in CALLS.items():
                            key = f"{n} worker{'s' if n > 1 else ''}"
                            rows[name][key], out = _best(lambda c=call, cl=client: c(fs, cl), args.repeat)
                            np.testing.assert_allclose(out, reference[name], rtol=1e-10)
                    finally:
                        client.close()
                        cluster.close()
    cols = list(next(iter(rows.values())))
    print(f"{args.frames} frames of {args.size}x{args.size} uint16 ({nbytes / 1e6:.0f} MB), "
          f"best of {args.repeat}, seconds (speed-up over local):\n")
    print("| call | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for name, times in rows.items():
        cells = [f"{times[c]:.2f} ({times['local'] / times[c]:.1f}x)" for c in cols]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
