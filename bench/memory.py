"""Anonymous resident memory of a process, read from ``/proc`` (Linux).

Anonymous memory excludes the file-backed pages that a memory map of the data
brings into the resident set, so it measures what a method allocates.
"""

from __future__ import annotations

import sys
from pathlib import Path


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
