"""One owner for every open file: readers ask a :class:`FileManager` for their handle.

A manager knows how to open its file (an opener and its arguments) and opens it
on first use.  All managers of the process share one least-recently-used list
of open handles: past :data:`MAX_OPEN` open files, the handle used longest ago
is closed (and reopened when it is needed again), so a sequence of thousands of
files, or thousands of sequences, never runs out of file descriptors.  A handle
being read (inside :meth:`FileManager.acquire`) is never closed under its
reader.  A manager pickles as its opener and arguments, never as a handle.

>>> import io
>>> fm = FileManager(io.BytesIO, b"imfun")
>>> with fm.acquire() as fh:
...     fh.read(2)
b'im'
>>> fm.close(); fm.is_open
False
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

MAX_OPEN = 128  # open handles in the process, across every reader

_LOCK = threading.RLock()
_OPEN: OrderedDict[int, FileManager] = OrderedDict()  # id(manager) -> manager, least recent first


class FileManager:
    """Opens ``opener(*args, **kwargs)`` when first needed; closes it with ``closer``
    (default: the handle's ``close()``) on :meth:`close` or when evicted."""

    def __init__(self, opener: Callable, *args, closer: Callable | None = None, **kwargs):
        self.opener, self.args, self.kwargs, self.closer = opener, args, kwargs, closer
        self._handle: Any = None
        self._in_use = 0

    @property
    def is_open(self) -> bool:
        return self._handle is not None

    def adopt(self, handle) -> None:
        """Take an already open handle (e.g. the one a reader parsed its header with)."""
        with _LOCK:
            self._handle = handle
            _OPEN.pop(id(self), None)
            _OPEN[id(self)] = self
            _evict()

    @contextlib.contextmanager
    def acquire(self) -> Iterator[Any]:
        """The open handle, for the duration of the ``with`` block (it is not evicted then)."""
        with _LOCK:
            if self._handle is None:
                self._handle = self.opener(*self.args, **self.kwargs)
            _OPEN.pop(id(self), None)
            _OPEN[id(self)] = self
            self._in_use += 1
            _evict()
        try:
            yield self._handle
        finally:
            with _LOCK:
                self._in_use -= 1

    def close(self) -> None:
        """Close the handle (a later :meth:`acquire` reopens it)."""
        with _LOCK:
            _OPEN.pop(id(self), None)
            handle, self._handle = self._handle, None
        if handle is not None:
            (self.closer or type(handle).close)(handle)

    def __getstate__(self):
        return {"opener": self.opener, "args": self.args, "kwargs": self.kwargs, "closer": self.closer}

    def __setstate__(self, state):
        self.__init__(state["opener"], *state["args"], closer=state["closer"], **state["kwargs"])

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()


def _evict() -> None:
    """Close the least recently used handles that are not being read, down to MAX_OPEN."""
    if len(_OPEN) <= MAX_OPEN:
        return
    for key, manager in list(_OPEN.items()):
        if len(_OPEN) <= MAX_OPEN:
            break
        if manager._in_use == 0:
            _OPEN.pop(key)
            handle, manager._handle = manager._handle, None
            if handle is not None:
                with contextlib.suppress(Exception):  # a handle that fails to close is gone anyway
                    (manager.closer or type(handle).close)(handle)


def open_count() -> int:
    """How many handles the managers hold open now."""
    with _LOCK:
        return len(_OPEN)


__all__ = ["MAX_OPEN", "FileManager", "open_count"]
