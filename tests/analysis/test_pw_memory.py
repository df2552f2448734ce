"""pw_transform keeps its memory promise: a result larger than the budget goes to a
temporary memory-mapped file, removed when the result is garbage-collected.

Peak anonymous memory (``RssAnon``, sampled in a thread of a fresh process) stays
within budget + 100 MiB; the result's pages are file pages of an unlinked
temporary file (the page cache writes them back), never anonymous memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from imfun import config
from imfun.engine import pixels
from imfun.fseq import FSeq_arr, open_seq
from imfun.lib import DFoF

MiB = 1024**2

MEASURE = textwrap.dedent("""
    import gc, json, os, sys, threading, time
    import numpy as np
    from imfun import config
    from imfun.fseq import open_seq
    from imfun.lib import DFoF

    def rss_anon():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024

    def deleted_maps():  # files of IMFUN_TMPDIR mapped without a name (O_TMPFILE) or unlinked
        folder = os.environ["IMFUN_TMPDIR"]
        with open("/proc/self/maps") as fh:
            return sum(folder in line and "(deleted)" in line for line in fh)

    path, budget, pipeline = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    fs = open_seq(path)
    if pipeline:
        fs.fns = [lambda f: f.astype(np.float32)]  # as in the README tour
    peak, done = [0], [False]

    def sample():
        while not done[0]:
            peak[0] = max(peak[0], rss_anon())
            time.sleep(0.002)

    gc.collect()
    base = rss_anon()
    sampler = threading.Thread(target=sample)
    sampler.start()
    with config.budget(budget):
        dff = fs.pw_transform(DFoF, vectorized=True)
    done[0] = True
    sampler.join()
    probe = [float(np.asarray(dff[i])[3, 5]) for i in (0, len(dff) - 1)]
    held = deleted_maps()
    del dff
    gc.collect()
    print(json.dumps({"extra": peak[0] - base, "probe": probe, "maps_while_held": held,
                      "maps_after_gc": deleted_maps()}))
""")


@pytest.fixture(scope="module")
def movie(tmp_path_factory) -> tuple[str, np.ndarray]:
    """300 MiB of float64 ΔF/F from 150 frames of 512 x 512 uint16 (a memory-mapped .npy)."""
    rng = np.random.default_rng(0)
    data = rng.integers(100, 4000, (150, 512, 512), dtype=np.uint16)
    path = tmp_path_factory.mktemp("pw") / "movie.npy"
    np.save(path, data)
    return str(path), data


@pytest.mark.parametrize("pipeline", [False, True], ids=["reader", "pipeline"])
def test_pw_transform_above_the_budget_stays_within_budget_plus_100_mib(tmp_path, movie, pipeline):
    path, data = movie
    budget = 64 * MiB
    env = {**os.environ, "IMFUN_TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", MEASURE, path, str(budget), "1" if pipeline else "0"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    res = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"peak anonymous memory beyond the start: {res['extra'] / MiB:.0f} MiB")
    assert res["extra"] <= budget + 100 * MiB, f"peak anonymous memory {res['extra'] / MiB:.0f} MiB"
    v = data[:, 3, 5].astype(np.float64)
    ref = (v - v.mean()) / v.mean()
    np.testing.assert_allclose(res["probe"], ref[[0, -1]], rtol=1e-12)
    assert res["maps_while_held"] >= 1  # the result is a mapped, already unlinked file
    assert res["maps_after_gc"] == 0  # gone with the result: its disk space is given back
    assert list(tmp_path.iterdir()) == []  # never visible in the folder


def test_a_result_larger_than_the_budget_is_a_temporary_memory_map(tmp_path, monkeypatch):
    monkeypatch.setenv("IMFUN_TMPDIR", str(tmp_path))
    data = np.random.default_rng(1).random((40, 16, 24)) + 1
    fs = FSeq_arr(data)
    with config.budget(40 * 16 * 24 * 8 // 2):  # the float64 result is twice the budget
        dff = fs.pw_transform(DFoF, vectorized=True)
    assert isinstance(dff.reader.arr, np.memmap)
    np.testing.assert_allclose(np.asarray(dff), DFoF(data), rtol=1e-12)
    assert isinstance(pixels.result_array((40, 16, 24), np.float64, 40 * 16 * 24 * 4), np.memmap)
    assert not isinstance(pixels.result_array((40, 16, 24), np.float64, 40 * 16 * 24 * 8), np.memmap)
    assert list(tmp_path.iterdir()) == []
    with config.budget(40 * 16 * 24 * 4):  # None: the configured budget
        assert isinstance(pixels.result_array((40, 16, 24), np.float64), np.memmap)


def test_the_result_reads_back_after_the_source_is_closed(tmp_path, monkeypatch):
    monkeypatch.setenv("IMFUN_TMPDIR", str(tmp_path))
    data = np.random.default_rng(2).random((30, 8, 10)) + 1
    np.save(tmp_path / "m.npy", data)
    with open_seq(tmp_path / "m.npy") as fs, config.budget(30 * 8 * 10 * 4):
        dff = fs.pw_transform(DFoF, vectorized=True)
    np.testing.assert_allclose(np.asarray(dff), DFoF(data), rtol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy"]


@pytest.mark.parametrize("o_tmpfile", [True, False], ids=["O_TMPFILE", "mkstemp"])
def test_a_temporary_memory_map_never_leaves_a_file(tmp_path, monkeypatch, o_tmpfile):
    """Linux makes the file without a name (O_TMPFILE); elsewhere it is unlinked once mapped."""
    monkeypatch.setenv("IMFUN_TMPDIR", str(tmp_path))
    if not o_tmpfile:
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    arr = pixels.temp_memmap((5, 6, 7), np.float32)
    arr[:] = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    assert isinstance(arr, np.memmap) and arr.sum() == np.arange(5 * 6 * 7).sum()
    assert list(tmp_path.iterdir()) == []
