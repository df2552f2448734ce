"""Ctrl-C during a conversion to HDF5 stops it: exit status 130, nothing left behind.

h5py frees its objects through weakref callbacks; a ``KeyboardInterrupt`` raised
inside one is printed ("Exception ignored in ... WeakValueDictionary") and
dropped, and the conversion ran on and exited 0.  The HDF5 writer defers SIGINT
to the next block (:func:`imfun.export.atomic.interrupts_deferred`).
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
import tifffile

from imfun.export.atomic import interrupts_deferred

# the command line in a child process, with a small budget: many blocks, each an h5py write
CONVERT = textwrap.dedent("""
    import sys
    from imfun import config
    from imfun.cli import main

    config.set_budget("1 MiB")
    sys.exit(main(["convert", sys.argv[1], sys.argv[2], "--compression", "gzip"]))
""")


def partials(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".partial")]


def convert_and_interrupt(tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    src = tmp_path / "big.tif"
    rng = np.random.default_rng(0)
    tifffile.imwrite(src, rng.integers(0, 4096, (300, 128, 256), dtype=np.uint16))
    out = tmp_path / "out.h5"
    proc = subprocess.Popen([sys.executable, "-c", CONVERT, str(src), str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not partials(tmp_path, out.name) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the conversion ended before it could be interrupted"
        time.sleep(0.15)  # blocks are being written now
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out


def test_sigint_stops_a_conversion_to_hdf5_and_removes_the_partial(tmp_path):
    done, _ = convert_and_interrupt(tmp_path)
    assert done.returncode == 130, (done.returncode, done.stdout, done.stderr[-2000:])
    assert "Exception ignored" not in done.stderr, done.stderr[-2000:]
    assert "interrupted" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif"]


def test_deferred_interrupt_is_raised_at_the_check():
    with pytest.raises(KeyboardInterrupt), interrupts_deferred() as interrupts:
        signal.raise_signal(signal.SIGINT)  # noted, not raised here
        noted = interrupts.pending
        interrupts.check()
    assert noted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_deferred_interrupt_still_pending_is_raised_at_the_end():
    reached = False
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        reached = True
    assert reached
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
