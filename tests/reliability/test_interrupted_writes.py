"""Interrupted writes leave nothing behind.

Every writer streams blocks into ``.<name>.<random>.partial`` beside its target
and renames it into place only at the end (:mod:`imfun.export.atomic`).  An
error raised inside the block loop (here: by a pipeline function at frame k),
a ``KeyboardInterrupt`` or a real SIGINT removes the partial; the target never
appears.  SIGKILL cannot be cleaned up after: the partial may stay, but the
target's name never holds a half-written file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from imfun import config
from imfun.fseq import FSeq_arr, open_seq

N, ROWS, COLS, FAIL_AT = 40, 32, 48, 25


class Boom(Exception):
    """The failure injected into the block loop."""


def failing_at(k: int, error: type[BaseException]):
    """A pipeline function that raises when it meets frame k (frame i holds the value i)."""

    def fn(frame):
        if frame.flat[0] == k:
            raise error(f"injected failure at frame {k}")
        return frame

    return fn


def sequence(error=Boom) -> FSeq_arr:
    data = np.broadcast_to(np.arange(N, dtype=np.float32)[:, None, None], (N, ROWS, COLS)).copy()
    return FSeq_arr(data, fns=[failing_at(FAIL_AT, error)], meta={"axes": [(0.1, "s")]})


# writer name -> (target name, call)
WRITERS = {
    "to_tiff": ("out.tif", lambda fs, p: fs.to_tiff(p)),
    "to_tiff-compressed": ("out.tif", lambda fs, p: fs.to_tiff(p, compression="zlib")),
    "to_tiff-ome": ("out.ome.tif", lambda fs, p: fs.to_tiff(p, ome=True)),
    "to_hdf5": ("out.h5", lambda fs, p: fs.to_hdf5(p)),
    "to_zarr": ("out.zarr", lambda fs, p: fs.to_zarr(p)),
    "to_npy": ("out.npy", lambda fs, p: fs.to_npy(p)),
    "export_movie_anim": ("out.mp4", lambda fs, p: fs.export_movie_anim(p, fps=10, vmin=0, vmax=N)),
    "export_movie_anim-matplotlib": ("out.mp4", lambda fs, p: fs.export_movie_anim(
        p, fps=10, vmin=0, vmax=N, frame_on=True)),
    "export_img": ("frames", lambda fs, p: fs.export_img(p, vmin=0, vmax=N, format="png")),
}


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_failure_inside_the_block_loop_leaves_nothing(tmp_path, writer, error):
    name, write = WRITERS[writer]
    out = tmp_path / "out"
    out.mkdir()
    with config.budget(8 * ROWS * COLS * 4), pytest.raises(error, match="injected failure at frame 25"):
        write(sequence(error), out / name)  # several blocks of 8 frames: frame 25 is in the 4th
    left = sorted(p.name for p in out.rglob("*"))
    assert left in ([], [name]) if writer == "export_img" else left == [], left
    if writer == "export_img":
        assert not any((out / name).iterdir()), "no image of the frames before the failure remains"


@pytest.mark.parametrize("writer", ["to_tiff", "to_npy", "to_hdf5", "to_zarr"])
def test_failed_overwrite_keeps_the_old_target(tmp_path, writer):
    name, write = WRITERS[writer]
    target = tmp_path / name
    old = FSeq_arr(np.full((3, ROWS, COLS), 7, np.float32))
    write(old, target)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(Boom):
        sequence().__getattribute__(writer)(target, overwrite=True)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    with open_seq(target) as fs:
        np.testing.assert_array_equal(np.asarray(fs), 7)


# -- a writing process killed or interrupted ----------------------------------------------
SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from imfun import config
    from imfun.fseq import FSeq_arr

    target, writer = sys.argv[1], sys.argv[2]
    seen = []

    def slow(frame):
        seen.append(1)
        if len(seen) == 12:
            print("writing", flush=True)  # a few blocks are in the file: now interrupt
        time.sleep(0.01)
        return frame

    data = np.zeros((300, 128, 128), np.uint16)
    fs = FSeq_arr(data, fns=[slow])
    with config.budget(4 * 128 * 128 * 2):
        getattr(fs, writer)(target)
    print("finished", flush=True)
""")


def interrupted_writer(tmp_path: Path, writer: str, sig: int) -> tuple[subprocess.CompletedProcess, Path]:
    target = tmp_path / ("out.tif" if writer == "to_tiff" else "out.npy")
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(target), writer], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "writing", line + proc.stderr.read()
        time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), target


@pytest.mark.parametrize("writer", ["to_tiff", "to_npy"])
def test_sigkill_mid_write_never_leaves_a_half_file_under_the_target_name(tmp_path, writer):
    done, target = interrupted_writer(tmp_path, writer, signal.SIGKILL)
    assert done.returncode == -signal.SIGKILL
    assert "finished" not in done.stdout
    assert not target.exists()
    # nothing can clean up after SIGKILL: the partial stays, under its temporary name only
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1, left  # killed mid-write: the partial was there
    assert left[0].startswith(f".{target.name}.") and left[0].endswith(".partial"), left


@pytest.mark.parametrize("writer", ["to_tiff", "to_npy"])
def test_sigint_mid_write_removes_the_partial(tmp_path, writer):
    done, _ = interrupted_writer(tmp_path, writer, signal.SIGINT)
    assert done.returncode != 0 and "KeyboardInterrupt" in done.stderr, done.stderr[-2000:]
    assert "finished" not in done.stdout
    assert list(tmp_path.iterdir()) == []
