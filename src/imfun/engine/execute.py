"""Where a computation runs: the one place that chooses the local engine or dask.

``FrameSequence`` hands every reduction, per-pixel projection and per-pixel
transform to the functions here; they run it on the local executor (blocks
read and reduced in threads of this process, combined in order, so the result
equals a sequential fold) or on the dask executor (:mod:`imfun.dist.engine`,
blocks as tasks that read inside the workers) — ``engine=None`` picks dask only
when a ``dask.distributed`` client is active, ``'local'`` / ``'dask'`` / a
``Client`` choose explicitly.  The pipeline of a sequence is applied to blocks
here too (:func:`apply_pipeline`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import config
from ..errors import ShapeMismatchError
from . import pixels
from .blocks import aligned, default_workers, ordered_map, spans
from .progress import progress


def _dask():
    """The dask executor, imported only when asked about (it imports nothing heavy itself)."""
    from ..dist import engine as dist_engine

    return dist_engine


def on_dask(engine) -> bool:
    """Whether ``engine`` (``None``, ``'local'``, ``'dask'`` or a ``Client``) means dask."""
    if engine in (None, "local") and "distributed" not in sys.modules:
        return False  # no client can be active: the local engine, without importing the dask layer
    return _dask().wants_dask(engine)


def apply_pipeline(block: np.ndarray, fn: Callable) -> np.ndarray:
    """``fn`` applied to every frame of a block ``(n, rows, cols[, c])``; all results must
    have one shape."""
    first = np.asarray(fn(block[0]))
    out = np.empty((len(block), *first.shape), first.dtype)
    out[0] = first
    for i in range(1, len(block)):
        frame = np.asarray(fn(block[i]))
        if frame.shape != first.shape:
            raise ShapeMismatchError(
                f"the pipeline returned frames of different shapes: {first.shape} and "
                f"{frame.shape}; functions in fns must map every frame to the same shape")
        out[i] = frame
    return out


SPLIT_BYTES = 16 * 1024**2  # data below this is reduced in one block, by the calling thread


def local_fold(seq, reduction, fslice, crop, budget, desc: str) -> Any:
    """A reduction on the local executor: blocks read and mapped in threads (numpy releases
    the GIL), partials combined in order."""
    workers = default_workers()
    # blocks that are views of a memory map or an array cost no memory of their own: a reduction
    # that needs no working copy then takes larger blocks; computed blocks leave room for the work
    views = seq.reader.cheap_crop and not seq.fns
    values_per_frame = reduction.values_per_frame(seq, crop)
    positions, crop, per_block = seq.plan(fslice, crop, budget, in_flight=workers + 1,
                                          values_per_frame=values_per_frame,
                                          work_itemsize=reduction.work_itemsize if views else 8)
    values = values_per_frame or int(np.prod(seq.shape(crop)))
    if len(positions) >= 64 * workers and len(positions) * values * seq.dtype.itemsize >= SPLIT_BYTES:
        # every thread gets work, even when one block would do (not for small work: starting
        # threads would cost more than they save)
        share, chunk = -(-len(positions) // workers), seq.reader.natural_block
        per_block = min(per_block, share if share < chunk else share - share % chunk)

    def task(start, stop):
        return reduction.map(start, reduction.read(seq, positions[start:stop], crop))

    acc = None
    with progress(len(positions), desc, enable=None) as bar:
        runs = aligned(spans(len(positions), per_block), reduction.frames_multiple)
        for (start, stop), part in ordered_map(task, runs, workers):
            acc = part if acc is None else reduction.combine(acc, part)
            bar.update(stop - start)
    return reduction.finalize(acc)


def run_reduction(seq, reduction, fslice, crop, budget, desc: str, engine=None) -> Any:
    """Run a :class:`~imfun.engine.reduce.Reduction` over the selected frames of ``seq``."""
    if on_dask(engine):
        return _dask().run(seq, reduction, fslice, crop, budget, engine)
    return local_fold(seq, reduction, fslice, crop, budget, desc)


def time_project(seq, fslice, fn: Callable, crop, budget, engine=None) -> np.ndarray:
    """``fn`` over time for every pixel, in time-contiguous tiles (tasks on dask)."""
    if on_dask(engine):
        return _dask().time_project(seq, fslice, fn, crop, budget, engine)
    return pixels.time_project(seq, fslice, fn, crop, config.resolve_budget(budget))


def pw_transform(seq, pwfn: Callable, verbose: bool, vectorized: bool, *, pmask, fslice, crop, dtype,
                 budget, engine=None) -> np.ndarray:
    """A per-pixel transform's result array (tiles as tasks on dask)."""
    kwargs = {"pmask": pmask, "fslice": fslice, "crop": crop, "dtype": dtype,
              "budget": config.resolve_budget(budget)}
    if on_dask(engine):
        return _dask().pw_transform(seq, pwfn, verbose, vectorized, engine=engine, **kwargs)
    return pixels.pw_transform(seq, pwfn, verbose, vectorized, **kwargs)


__all__ = ["apply_pipeline", "local_fold", "on_dask", "pw_transform", "run_reduction", "time_project"]
