"""Plan blocks of frames under a memory budget and read them ahead in a thread.

A block is a run of consecutive positions of a frame selection.  Its size is
chosen so that the raw block, its float64 working copy and the block read
ahead all fit in the budget; it is aligned to the reader's natural chunk when
that is possible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

WORK_ITEMSIZE = 8  # reductions work in float64
T = TypeVar("T")


def frames_per_block(frame_nbytes: int, n_values: int, budget: int, align: int = 1) -> int:
    """How many frames fit in one block.

    ``frame_nbytes`` is the size of one frame as read, ``n_values`` the number of
    values in it (for the float64 working copy).  Two blocks are alive at once
    (the one being reduced and the one read ahead).
    """
    per_frame = 2 * frame_nbytes + 2 * n_values * WORK_ITEMSIZE
    n = max(1, int(budget // max(per_frame, 1)))
    if align > 1 and n >= align:
        n -= n % align
    return n


def spans(n_positions: int, per_block: int) -> list[tuple[int, int]]:
    """Split ``range(n_positions)`` into ``(start, stop)`` runs of at most ``per_block``."""
    return [(s, min(s + per_block, n_positions)) for s in range(0, n_positions, per_block)]


def read_ahead(read: Callable[..., T], items: list[tuple]) -> Iterator[tuple[tuple, T]]:
    """Yield ``(item, read(*item))`` for each item, reading the next one in a thread
    while the caller works on the current one."""
    if len(items) < 2:
        for item in items:
            yield item, read(*item)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imfun-read") as pool:
        future = pool.submit(read, *items[0])
        for i, item in enumerate(items):
            result = future.result()
            if i + 1 < len(items):
                future = pool.submit(read, *items[i + 1])
            yield item, result
