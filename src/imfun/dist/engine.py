"""The dask engine: the same reductions as the local engine, with blocks as tasks.

A reduction (:mod:`imfun.engine.reduce`) is run as a graph of tasks: one task
per block of frames reads its block *inside the worker* through the sequence
(which pickles its reader's arguments, never pixels, and reopens the file
there), maps it to a small partial result, and the partials are combined in a
tree; the last partial is finalized here.  The sequence object sits in the
graph once, so the graph stays small whatever the size of the data.

Which engine runs a call (``engine=`` of every computing method):

- ``None``: the local engine, unless a ``dask.distributed`` client is active;
- ``'local'``: the local engine;
- ``'dask'``: the active distributed client if there is one, else dask's
  threaded scheduler in this process;
- a ``distributed.Client``: that client's cluster.

Examples
--------
>>> import numpy as np
>>> from imfun.fseq import FSeq_arr
>>> fs = FSeq_arr(np.arange(24.0).reshape(6, 2, 2))
>>> fs.mean_frame(engine='dask')
array([[10., 11.],
       [12., 13.]])
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import config
from ..engine import pixels as _pixels
from ..engine.blocks import aligned, spans
from ..engine.progress import progress
from ..errors import InvalidArgumentError, ShapeMismatchError
from ..readers.base import require
from ..selection import compose_crops, crop_shape, fslice_positions, normalize_crop

FAN_IN = 8  # partials merged per combine task: a shallow tree, small tasks


# -- choosing the engine -----------------------------------------------------------

def active_client():
    """The active ``dask.distributed`` client, or None.

    Looks only when ``distributed`` was already imported (a client cannot exist
    otherwise), so the local engine never pays for importing it.
    """
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed.client import _get_global_client

        return _get_global_client()
    except ImportError:  # a distributed without the private helper
        from distributed import default_client

        try:
            return default_client()
        except ValueError:
            return None


def _is_client(obj) -> bool:
    if "distributed" not in sys.modules:
        return False
    from distributed import Client

    return isinstance(obj, Client)


def wants_dask(engine) -> bool:
    """Whether a call should run on dask: ``engine='dask'``, a distributed Client
    passed as ``engine``, or (with ``engine=None``) an active distributed client.

    >>> wants_dask('local'), wants_dask('dask')
    (False, True)
    """
    if engine is None:
        return active_client() is not None
    if isinstance(engine, str):
        if engine == "local":
            return False
        if engine == "dask":
            require("dask", "dask")
            return True
        raise InvalidArgumentError(
            f"engine={engine!r} is not known; use None (automatic), 'local', 'dask' or a "
            "dask.distributed Client")
    if _is_client(engine):
        return True
    raise InvalidArgumentError(
        f"engine must be None, 'local', 'dask' or a dask.distributed Client, got {type(engine).__name__}")


def resolve_client(engine):
    """The distributed client that runs a dask call, or None for the threaded scheduler."""
    if _is_client(engine):
        return engine
    return active_client()


def scheduler_of(client):
    """What ``dask.compute(scheduler=...)`` takes: the client, or the threaded scheduler."""
    return client if client is not None else "threads"


def n_slots(client) -> int:
    """How many tasks run at once: the cluster's worker threads, or this machine's cores."""
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # a client still connecting: assume a small cluster
            return 2
    return os.cpu_count() or 1


def _name(kind: str) -> str:
    # unique names: a file may change between two calls, so no content-based tokens
    return f"imfun-{kind}-{uuid.uuid4().hex}"


# -- blocks of frames aligned with the reader's chunks ----------------------------

def block_runs(seq, positions: np.ndarray, per_block: int, min_blocks: int = 1,
               frame_nbytes: int = 0, budget: int = 0) -> list[tuple[int, int]]:
    """Split the selected positions into ``(start, stop)`` runs for tasks.

    Runs hold at most ``per_block`` frames (the budget), at least ``min_blocks``
    runs are made when there are enough frames (so every worker has work), and
    cuts fall on the reader's chunk boundaries (``reader.natural_block`` in source
    frames) whenever a run spans several chunks, so no chunk is decoded twice.
    A run holds at least one whole chunk when one raw chunk (``natural_block x
    frame_nbytes``) takes at most half the ``budget``.
    """
    n = len(positions)
    nb = int(getattr(seq.reader, "natural_block", 1) or 1)
    if nb > 1 and per_block < nb and 0 < nb * frame_nbytes <= budget // 2:
        per_block = nb  # a storage chunk is decoded whole anyway
    if min_blocks > 1:
        split = max(1, math.ceil(n / min_blocks))
        # splitting for the workers does not cut chunks in pieces
        per_block = min(per_block, max(split, nb) if per_block >= nb else split)
    if nb <= 1 or per_block < nb:
        return spans(n, per_block)
    src = seq.source_frames(positions)
    chunk = src // nb
    # run boundaries: where the source chunk changes
    bounds = np.flatnonzero(np.diff(chunk) != 0) + 1
    runs, start = [], 0
    while start < n:
        limit = start + per_block
        if limit >= n:
            stop = n
        else:
            i = np.searchsorted(bounds, limit, side="right") - 1
            stop = int(bounds[i]) if i >= 0 and bounds[i] > start else limit
        runs.append((start, stop))
        start = stop
    return runs


# -- reductions -----------------------------------------------------------------------

def _map_block(seq, reduction, positions: np.ndarray, crop, start: int):
    # runs in the worker: the block is read there, only the partial travels back
    return reduction.map(start, reduction.read(seq, positions, crop))


def _combine(reduction, *parts):
    acc = parts[0]
    for part in parts[1:]:
        acc = reduction.combine(acc, part)
    return acc


def reduction_graph(seq, reduction, fslice, crop, budget, slots: int):
    """A ``dask.delayed`` object whose value is the combined partial of a reduction."""
    from dask import delayed

    positions, crop_r, per_block = seq.plan(fslice, crop, budget)
    frame_nbytes = int(np.prod(seq.shape(crop_r))) * seq.dtype.itemsize
    runs = aligned(block_runs(seq, positions, per_block, min_blocks=2 * slots, frame_nbytes=frame_nbytes,
                              budget=config.resolve_budget(budget)), reduction.frames_multiple)
    tag = uuid.uuid4().hex
    # the sequence and the reduction enter the graph once each; tasks refer to them by key
    seq_d = delayed(seq, name=f"imfun-seq-{tag}", traverse=False)
    red_d = delayed(reduction, name=f"imfun-reduction-{tag}", traverse=False)
    mapper, combiner = delayed(_map_block, pure=True), delayed(_combine, pure=True)
    parts = [mapper(seq_d, red_d, positions[a:b], crop_r, a, dask_key_name=f"imfun-map-{tag}-{i}")
             for i, (a, b) in enumerate(runs)]
    level = 0
    while len(parts) > 1:
        parts = [combiner(red_d, *parts[i:i + FAN_IN], dask_key_name=f"imfun-combine-{tag}-{level}-{i}")
                 for i in range(0, len(parts), FAN_IN)]
        level += 1
    return parts[0]


def run(seq, reduction, fslice, crop, budget, engine) -> Any:
    """Run a reduction on dask; the result equals the local engine's.

    Float sums are combined in a tree rather than left to right, so float
    results may differ from the local engine's in the last bits; integer
    results, extremes and exact percentiles are identical.
    """
    import dask

    client = resolve_client(engine)
    final = reduction_graph(seq, reduction, fslice, crop, budget, n_slots(client))
    (partial,) = dask.compute(final, scheduler=scheduler_of(client))
    return reduction.finalize(partial)


# -- per-pixel work: time-contiguous tiles as tasks ----------------------------------

def read_tile(seq, fslice, crop, rows: slice, cols: slice, budget: int) -> np.ndarray:
    """All selected frames of one rectangle ``(T, h, w[, c])``, read block by block
    (in the worker that runs the task)."""
    tile = (slice(rows.start, rows.stop, 1), slice(cols.start, cols.stop, 1))
    tile_crop = compose_crops(crop, tile)
    out = None
    for start, block in seq.iter_blocks(fslice, tile_crop, budget=budget):
        if out is None:
            n = len(fslice_positions(fslice, len(seq)))
            out = np.empty((n, *block.shape[1:]), block.dtype)
        out[start:start + len(block)] = block
    return out


def _tile_seq(tile: np.ndarray):
    from ..fseq.sequence import FSeq_arr

    return FSeq_arr(tile)


def _tile_budget(tile: np.ndarray, budget: int) -> int:
    # the tile is already in memory: let the local engine take it as one piece
    return max(budget, 4 * tile.size * 8 + 1)


def _time_project_on(tile, rows, cols, fn, budget):
    return _pixels.time_project(_tile_seq(tile), None, fn, None, _tile_budget(tile, budget))


def _pw_transform_on(tile, rows, cols, pwfn, vectorized, pmask, dtype, budget):
    sub = None if pmask is None else pmask[rows, cols]
    return _pixels.pw_transform(_tile_seq(tile), pwfn, False, vectorized, pmask=sub, fslice=None,
                                crop=None, dtype=dtype, budget=_tile_budget(tile, budget))


def _read_and_compute(compute, seq, fslice, crop, rows, cols, budget, args):
    # runs in the worker: the tile's pixels are read there
    return compute(read_tile(seq, fslice, crop, rows, cols, budget), rows, cols, *args)


def _compute(compute, tile, rows, cols, args):
    return compute(np.asarray(tile), rows, cols, *args)


def _rechunked_tiles(seq, fslice, crop, tiles, budget):
    """The tiles as blocks of a dask array read in whole frames once and rechunked by dask
    (for sources where a tile costs whole frames: compressed files, pipelines)."""
    positions = fslice_positions(fslice, len(seq))
    sub = seq if len(positions) == len(seq) and np.all(positions == np.arange(len(seq))) \
        else seq._subsequence(positions)
    arr = sub.to_dask(budget=budget)
    if crop is not None:
        arr = arr[(slice(None), *crop)]
    row_bounds = list(dict.fromkeys((r.start, r.stop) for r, _ in tiles))
    col_bounds = list(dict.fromkeys((c.start, c.stop) for _, c in tiles))
    arr = arr.rechunk((len(positions), tuple(b - a for a, b in row_bounds),
                       tuple(b - a for a, b in col_bounds), *arr.shape[3:]))
    blocks = arr.to_delayed()
    return [blocks[(0, row_bounds.index((r.start, r.stop)), col_bounds.index((c.start, c.stop)),
                    *([0] * (arr.ndim - 3)))] for r, c in tiles]


def _tile_results(seq, compute: Callable, plan, args: tuple, engine) -> Iterator[tuple[tuple, np.ndarray]]:
    """Run ``compute(tile, rows, cols, *args)`` for every tile as a task; yield
    ``(tile, result)`` as they finish (a distributed cluster) or in batches (the
    threaded scheduler), so only a few tile results are held here at a time."""
    import dask
    from dask import delayed

    fslice, crop, tiles, budget, cheap = plan
    client = resolve_client(engine)
    tag = uuid.uuid4().hex
    args_d = delayed(args, name=f"imfun-args-{tag}", traverse=False)
    if cheap:
        seq_d = delayed(seq, name=f"imfun-seq-{tag}", traverse=False)
        task = delayed(_read_and_compute, pure=True)
        tasks = [task(compute, seq_d, fslice, crop, rows, cols, budget, args_d,
                      dask_key_name=f"imfun-tile-{tag}-{i}") for i, (rows, cols) in enumerate(tiles)]
    else:
        task = delayed(_compute, pure=True)
        tasks = [task(compute, block, rows, cols, args_d, dask_key_name=f"imfun-tile-{tag}-{i}")
                 for i, ((rows, cols), block) in enumerate(
                     zip(tiles, _rechunked_tiles(seq, fslice, crop, tiles, budget), strict=True))]
    if client is not None:
        from distributed import as_completed

        futures = client.compute(tasks)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future, result in as_completed(futures, loop=client.loop, with_results=True):
                yield tiles[index[future.key]], result
        finally:
            client.cancel(futures)
        return
    if not cheap:  # the tiles share their input chunks: one graph
        yield from zip(tiles, dask.compute(*tasks, scheduler="threads"), strict=True)
        return
    batch = 2 * n_slots(None)
    for i in range(0, len(tasks), batch):
        results = dask.compute(*tasks[i:i + batch], scheduler="threads")
        yield from zip(tiles[i:i + batch], results, strict=True)


def _pixel_plan(seq, fslice, crop, budget, engine):
    crop_r = normalize_crop(crop, seq.frame_shape)
    n_frames = len(fslice_positions(fslice, len(seq)))
    frame_shape = crop_shape(crop_r, seq.frame_shape)
    # a tile of a file that crops cheaply reads only its pixels in the worker (one tile per
    # worker at least); otherwise frames are read whole once and dask cuts the tiles
    cheap = bool(seq.reader.cheap_crop and not seq.fns)
    tiles = _pixels.plan_tiles(n_frames, frame_shape, seq.dtype.itemsize, budget,
                               min_tiles=n_slots(resolve_client(engine)))
    return frame_shape, (fslice, crop_r, tiles, budget, cheap)


def time_project(seq, fslice, fn: Callable, crop, budget: int | None, engine) -> np.ndarray:
    """:meth:`FrameSequence.time_project` on dask: tiles of pixels as tasks.

    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> fs = FSeq_arr(np.arange(24.0).reshape(6, 2, 2))
    >>> time_project(fs, None, np.max, None, None, 'dask')
    array([[20., 21.],
           [22., 23.]])
    """
    budget = config.resolve_budget(budget)
    frame_shape, plan = _pixel_plan(seq, fslice, crop, budget, engine)
    out = None
    for (rows, cols), res in _tile_results(seq, _time_project_on, plan, (fn, budget), engine):
        if out is None:
            out = np.empty(frame_shape, res.dtype)
        out[rows, cols] = res
    return out


def _check_pmask(pmask, frame_shape):
    return _pixels._check_pmask(pmask, frame_shape)


def pw_transform(seq, pwfn: Callable, verbose: bool, vectorized: bool, pmask, fslice, crop, dtype,
                 budget: int | None, engine) -> np.ndarray:
    """:meth:`FrameSequence.pw_transform` on dask: every tile of pixels is a task that
    reads its pixels in the worker and applies ``pwfn``; the results are gathered
    here into ``(T', rows, cols[, c])`` (in memory, or a temporary memory map when
    large), as the local engine returns them."""
    budget = config.resolve_budget(budget)
    frame_shape, plan = _pixel_plan(seq, fslice, crop, budget, engine)
    mask = _check_pmask(pmask, frame_shape)
    out = None
    with progress(frame_shape[0] * frame_shape[1], "pw_transform", enable=bool(verbose), unit="px") as bar:
        for (rows, cols), res in _tile_results(
                seq, _pw_transform_on, plan, (pwfn, vectorized, mask, dtype, budget), engine):
            if out is None:
                out = _pixels.result_array((res.shape[0], *frame_shape), res.dtype)
            elif res.shape[0] != out.shape[0]:
                raise ShapeMismatchError("pw_transform: pwfn returned vectors of different lengths")
            out[:, rows, cols] = res
            bar.update(res.shape[1] * res.shape[2])
    return out


__all__ = ["active_client", "block_runs", "pw_transform", "read_tile", "run",
           "time_project", "wants_dask"]
