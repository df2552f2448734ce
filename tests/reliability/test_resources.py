"""Resources: no file descriptor outlives its sequence, and threads read the same frames.

The whole suite runs with ``ResourceWarning`` as an error (pyproject's
``filterwarnings``), so a file dropped without closing fails whichever test
drops it.  Here, for every file reader: 1000 sequences opened, read and closed
leave the process's descriptor count where it was (psutil), and 8 threads
reading one shared sequence at once get exactly the frames a sequential read
gets.
"""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import pytest
from reliability_kit import MAKERS

from imfun.fseq import open_seq

OPEN_CLOSE_ROUNDS = 1000


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """One small source of every file reader, written once for the module."""
    folder = tmp_path_factory.mktemp("sources")
    out = {}
    for name, make in MAKERS.items():
        sub = folder / name
        sub.mkdir()
        out[name] = make(sub)
    return out


def our_open_files(proc: psutil.Process, folder: Path) -> list[str]:
    return [f.path for f in proc.open_files() if f.path.startswith(str(folder))]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_open_and_close_many_times_leaves_no_descriptor(sources, name, tmp_path_factory):
    source, frames = sources[name]
    proc = psutil.Process()
    folder = Path(source).parents[1]
    with open_seq(source) as fs:  # warm up: imports, codec tables, thread pools
        np.asarray(fs[0])
    gc.collect()
    before = proc.num_fds()
    for _ in range(OPEN_CLOSE_ROUNDS):
        with open_seq(source) as fs:
            first = np.asarray(fs[0])
    np.testing.assert_array_equal(first, frames[0])
    # a frame of a memory-mapped file is a view that keeps its map (and the map's descriptor)
    # alive as long as the frame lives, by design: drop it before counting
    del first
    gc.collect()
    after = proc.num_fds()
    assert after <= before, f"{name}: {after - before} descriptors more after {OPEN_CLOSE_ROUNDS} rounds"
    assert our_open_files(proc, folder) == []


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_failed_opens_leave_no_descriptor(sources, name, tmp_path):
    """Opening with a bad argument fails after the file was opened: it must be closed again."""
    source, _ = sources[name]
    proc = psutil.Process()
    bad = {"hdf5": {"dataset": "nope"}, "zarr": {"array": "nope"}, "mes": {"record": 99},
           "tiff-memmap": {"series": 5}, "tiff-compressed": {"series": 5}, "video": {"ch": 7},
           "image-glob": {"ch": 7}, "leica": {"ch": 7}, "npy": {"meta": {"axes": "bad"}},
           "mlf": {"kind": "neither"}}[name]
    gc.collect()
    before = proc.num_fds()
    for _ in range(50):
        with pytest.raises(Exception):  # noqa: B017 - any error: the catalogue checks the kinds
            open_seq(source, **bad)
    gc.collect()
    assert proc.num_fds() <= before
    assert our_open_files(proc, Path(source).parents[1]) == []


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_eight_threads_read_what_one_reads(sources, name):
    source, frames = sources[name]
    with open_seq(source) as fs:
        n = len(fs)
        sequential = [np.asarray(fs[i]).copy() for i in range(n)]
        np.testing.assert_array_equal(np.stack(sequential), frames)
        rng = np.random.default_rng(7)
        # single frames in random order, runs, strided and reversed picks, from one shared sequence
        jobs = [("one", int(i)) for i in rng.integers(0, n, 48)]
        jobs += [("run", (int(a), int(a) + 3)) for a in rng.integers(0, n - 3, 16)]
        jobs += [("pick", (1, n, 3)), ("pick", (n - 1, None, -2))] * 8

        def read(job):
            kind, arg = job
            if kind == "one":
                return job, np.asarray(fs[arg])
            return job, np.asarray(fs[slice(*arg)])

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(read, jobs))
    reference = np.stack(sequential)
    for (kind, arg), got in results:
        want = reference[arg] if kind == "one" else reference[slice(*arg)]
        np.testing.assert_array_equal(got, want, err_msg=f"{name}: {kind} {arg}")
