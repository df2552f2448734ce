"""Plan blocks of frames under a memory budget; read (and reduce) them in threads.

A block is a run of consecutive positions of a frame selection.  Its size is
chosen so that every block alive at once (the one in use, the ones read or
reduced ahead in threads) fits in the budget with its float64 working copy; it
is aligned to the reader's natural chunk when that is possible.
"""

from __future__ import annotations

import contextvars
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import TypeVar

WORK_ITEMSIZE = 8  # reductions work in float64
T = TypeVar("T")


def default_workers() -> int:
    """Threads that reduce blocks at once: one per core (numpy releases the GIL), at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def frames_per_block(frame_nbytes: int, n_values: int, budget: int, align: int = 1,
                     in_flight: int = 2, work_itemsize: int = WORK_ITEMSIZE) -> int:
    """How many frames fit in one block.

    ``frame_nbytes`` is the size of one frame as read, ``n_values`` the number of
    values in it (for a working copy of ``work_itemsize`` bytes a value: float64 unless
    the work needs no copy); ``in_flight`` blocks are alive at once (the one in use and
    those read or reduced ahead).
    """
    per_frame = in_flight * (frame_nbytes + n_values * work_itemsize)
    n = max(1, int(budget // max(per_frame, 1)))
    if align > 1 and n >= align:
        n -= n % align
    return n


def spans(n_positions: int, per_block: int) -> list[tuple[int, int]]:
    """Split ``range(n_positions)`` into ``(start, stop)`` runs of at most ``per_block``."""
    return [(s, min(s + per_block, n_positions)) for s in range(0, n_positions, per_block)]


def aligned(runs: list[tuple[int, int]], multiple: int) -> list[tuple[int, int]]:
    """The same frames in runs that start at multiples of ``multiple`` (a reduction over runs
    of that many frames then sees the same runs whatever the budget or the executor).

    >>> aligned([(0, 7), (7, 14), (14, 20)], 5)
    [(0, 5), (5, 10), (10, 20)]
    """
    if multiple <= 1 or not runs:
        return runs
    cuts = sorted({stop - stop % multiple for _, stop in runs[:-1]} - {0})
    bounds = [runs[0][0], *cuts, runs[-1][1]]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def ordered_map(fn: Callable[..., T], items: list[tuple], workers: int = 1) -> Iterator[tuple[tuple, T]]:
    """Yield ``(item, fn(*item))`` in the order of ``items``, computing up to ``workers``
    items ahead in threads while the caller works on the current one."""
    if len(items) < 2:
        for item in items:
            yield item, fn(*item)
        return
    from concurrent.futures import ThreadPoolExecutor  # when needed: fresh processes start faster

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="imfun-block") as pool:
        def submit(item):
            # each task runs in a copy of the caller's context: it sees the caller's budget
            return pool.submit(contextvars.copy_context().run, fn, *item)

        pending: deque = deque()
        queued = iter(items)
        for item in queued:
            pending.append((item, submit(item)))
            if len(pending) >= workers:
                break
        while pending:
            item, future = pending.popleft()
            result = future.result()
            nxt = next(queued, None)
            if nxt is not None:
                pending.append((nxt, submit(nxt)))
            yield item, result


def read_ahead(read: Callable[..., T], items: list[tuple]) -> Iterator[tuple[tuple, T]]:
    """Yield ``(item, read(*item))`` for each item, reading the next one in a thread
    while the caller works on the current one."""
    return ordered_map(read, items, workers=1)
