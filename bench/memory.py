"""Anonymous resident memory of a process, read from ``/proc`` (Linux).

Anonymous memory excludes the file-backed pages that a memory map of the data
brings into the resident set, so it measures what a method allocates.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_anon(pid: int | str = "self") -> int | None:
    """``RssAnon`` of a process in bytes, or None where ``/proc`` does not tell it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    return None


def available() -> bool:
    return rss_anon() is not None


def run_sampled(cmd: list[str]) -> dict:
    """Run a bench child (it prints ``READY``, waits for a line, works, and prints lines whose
    last is a JSON object) with the project on its path, sampling its anonymous memory every
    5 ms; the child's JSON with ``peak_mib`` (above its level at ``READY``), or ``{'error': ...}``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    # the with block closes the pipes whatever happens (ResourceWarning otherwise)
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as proc:
        first = proc.stdout.readline().strip()
        if first != "READY":
            proc.wait()
            if first.startswith("{"):
                return json.loads(first)
            return {"error": first or f"exit {proc.returncode}"}
        base = rss_anon(proc.pid) or 0
        peak, done = [base], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_anon(proc.pid) or 0)
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        out = proc.stdout.read().strip().splitlines()
        proc.wait()
        done.set()
        sampler.join()
    if proc.returncode != 0 or not out:
        return {"error": f"exit {proc.returncode}"}
    info = json.loads(out[-1])
    info["peak_mib"] = (peak[0] - base) / 1024**2
    return info
