"""Progress bars on long work: shown on a terminal, quiet otherwise."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress(total: int | None = None, desc: str = "", enable: bool | None = None, unit: str = "frame",
             delay: float = 1.0):
    """A tqdm bar that shows only when stderr is a terminal (or when ``enable=True``),
    and only once the work has lasted ``delay`` seconds."""
    if enable is None:
        enable = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=not enable, unit=unit, leave=False,
                dynamic_ncols=True, delay=delay)
