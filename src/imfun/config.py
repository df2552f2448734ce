"""Global settings: the memory budget of the block engine.

>>> import imfun
>>> imfun.config.get_budget()  # bytes
268435456
>>> with imfun.config.budget("64 MiB"):
...     pass
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

from .errors import InvalidArgumentError

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}

DEFAULT_BUDGET = 256 * 1024**2
_budget = DEFAULT_BUDGET  # the process-wide setting (set_budget)
# a ``with budget(...)`` block's setting: its own thread (or task) only, never another's
_scoped_budget: contextvars.ContextVar[int | None] = contextvars.ContextVar("imfun_budget", default=None)


def parse_bytes(value: int | float | str) -> int:
    """Turn ``"256 MiB"``, ``"1GB"`` or a number of bytes into an int of bytes."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", value)
        if not m or m.group(2).lower() not in _UNITS:
            raise InvalidArgumentError(
                f"cannot read {value!r} as a size; write e.g. '256 MiB', '1 GB' or a number of bytes")
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not value == value or value <= 0:  # also rejects NaN
        raise InvalidArgumentError(f"a memory budget must be a positive size, got {value!r}")
    return int(value)


def get_budget() -> int:
    """Return the engine's memory budget in bytes (default 256 MiB): the innermost
    ``with budget(...)`` of this thread, else the process-wide setting."""
    scoped = _scoped_budget.get()
    return _budget if scoped is None else scoped


def set_budget(value: int | float | str) -> None:
    """Set the engine's memory budget for all later calls (bytes or a string such as ``"1 GiB"``)."""
    global _budget
    _budget = parse_bytes(value)


def resolve_budget(value: int | float | str | None) -> int:
    """The per-call budget if given, else the global one."""
    return get_budget() if value is None else parse_bytes(value)


@contextlib.contextmanager
def budget(value: int | float | str) -> Iterator[None]:
    """Set the memory budget inside a ``with`` block, for this thread (or asyncio task) only.

    Threads that the engine starts for the work inside the block see it too (they are
    given the caller's context); other threads keep their own setting.
    """
    token = _scoped_budget.set(parse_bytes(value))
    try:
        yield
    finally:
        _scoped_budget.reset(token)


# Progress bars of long work (imfun.engine.progress): "auto" shows tqdm's notebook bar under a
# Jupyter (IPython) kernel and the terminal bar when stderr is a terminal, and nothing otherwise;
# True shows bars also when stderr is not a terminal (logs); False never shows one.
progress: str | bool = "auto"
