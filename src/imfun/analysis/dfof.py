"""ΔF/F and z-scores as lazy sequences, computed out of core with a running baseline.

The baseline ``F0`` of frame ``t`` is a statistic of the frames of a window
centred on ``t`` (``w`` frames, ``w`` odd): see :mod:`imfun.analysis.baseline`
for the methods (``'fast'``, ``'exact'``, ``'maximin'``, ``'mean'``) and the edge
modes (``'inside'``: the first and last frames use the first and last full
window).  A span of frames ``[a, b)`` is computed from the parent frames
``[a - halo, b + halo)`` (clipped to the sequence, and at least a full window
plus its context at an edge), so every span gives exactly what the whole movie
held in memory gives (:func:`dfof_array`), whatever the memory budget.  The
baseline is computed in float64, ``(F - F0) / F0`` in float32 when that is the
output type (the default for integer and float32 data), else in float64.

Memory: a computed span (the frames the engine reads next) takes at most a
quarter of the budget, the parent frames it is computed from an eighth (else
they are read strip by strip), and the filtering works on strips of rows within
another eighth; one span is computed at a time.  When the parent reads whole
frames whatever the crop (files without cheap crops, pipelines), the span is
made small enough for its parent frames to fit in that eighth (or, for a span
of a quarter window, in up to half the budget; for a span as long as its halo, in
up to a quarter), so that they are read (decoded) once, not once per strip:
consecutive spans share their overlap.  Only when even a
span of one grid step does not fit are they read strip by strip, which is slow
for videos.  With the engine's own blocks a ΔF/F sequence stays within its
budget (plus interpreter and library overhead).
"""

from __future__ import annotations

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from ..selection import compose_crops, crop_shape
from . import baseline
from .baseline import divide, relative_baseline, running_baseline
from .transforms import DerivedReader, derived, runs, sub_runs, work_dtype

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

# working memory while filtering, per pixel: per computed frame (float64 baseline, ΔF/F, output)
# and per parent frame of the chunk, per byte of its items (the pixel-major series and the window
# copies of 'fast', the series and rank filter of 'exact') plus, for the float64 stages of
# 'maximin' and the running means, bytes per parent frame
_WORK_PER_FRAME = 40
_WORK_PER_ITEM_BYTE = 4
_WORK_FLOAT_STAGES = 40
_WORKERS = max(1, min(8, os.cpu_count() or 1))  # strips filtered at once (numpy and scipy release the GIL)


def window_frames(fs: FrameSequence, seconds: float | None, frames: int | None, what: str) -> int:
    """The odd window length in frames for ``fs``, from seconds or frames, at most ``len(fs)``."""
    dt, unit = fs.meta["axes"][0]
    return baseline.window_length(seconds, frames, dt, unit, len(fs), what)


def _check(method: str | None, mode: str, percentile: float | None = None) -> None:
    baseline.check_options(method, mode, percentile)


def dfof_array(x: np.ndarray, w: int, method: str = "fast", percentile: float = 10.0,
               mode: str = "inside") -> np.ndarray:
    """ΔF/F of an in-memory stack along axis 0: ``(x - F0) / F0``, 0 where ``F0 == 0``.

    This is the reference the lazy :class:`DfofReader` equals block by block.

    >>> x = np.array([1.0, 1, 2, 1, 1])[:, None, None]
    >>> dfof_array(x, 3, "exact", 0)[:, 0, 0]
    array([0., 0., 1., 0., 0.])
    """
    return relative_baseline(x, w, method, percentile, mode)


def zscore_array(x: np.ndarray, w: int | None, mode: str = "inside") -> np.ndarray:
    """Z-score along axis 0: running (window ``w``) or global (``w=None``); 0 where the SD is 0."""
    x = np.asarray(x, np.float64)
    if w is None:
        return divide(x - x.mean(axis=0), x.std(axis=0))
    return _zscore(x, w, mode, 0, len(x), (0, len(x)))


def _zscore(x: np.ndarray, w: int, mode: str, start: int, total: int, rows: tuple[int, int]) -> np.ndarray:
    x = np.asarray(x, np.float64)
    m = running_baseline(x, w, "mean", 0, mode, start, total, rows)
    m2 = running_baseline(x * x, w, "mean", 0, mode, start, total, rows)
    return divide(x[rows[0]:rows[1]] - m, np.sqrt(np.maximum(m2 - m * m, 0.0)))


class _RunningReader(DerivedReader):
    """Frames computed from a centred window of parent frames, span by span with overlap."""

    window: int
    mode: str

    def _setup(self, parent: FrameSequence, window: int, method: str, mode: str, dtype) -> None:
        self.window, self.mode = window, mode
        self.shape = (len(parent), *parent.frame_shape)
        self.dtype = work_dtype(parent.dtype, dtype)
        self.halo = baseline.halo(method, window)  # parent frames each side of a span
        self.edge = min(len(parent), baseline.edge_frames(method, window))  # frames of an edge span
        self.step = baseline.grid_step(window) if method == "fast" else 1
        self.float_stages = method in ("maximin", "mean")  # filters working on float64 copies
        self._chunk_cache = None
        self._prev = None  # (first, frames, crop): the parent frames of the last span

    def _compute(self, chunk: np.ndarray, start: int, rows: tuple[int, int]) -> np.ndarray:
        """The frames ``rows`` of ``chunk`` (parent frames from ``start``)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _read(self, frames, crop):
        out = np.empty((len(frames), *crop_shape(crop, self.shape[1:])), self.dtype)
        groups = runs(frames, self.window)
        pos = 0
        for i, run in enumerate(groups):
            # compute ahead (the engine asks for the next frames next) only after the last run
            cap = None if i == len(groups) - 1 else int(run[-1]) + 1
            j = 0
            while j < len(run):
                first, res = self._span(int(run[j]), cap, crop)
                stop = j + int(np.searchsorted(run[j:], first + len(res)))
                a, b = int(run[j]) - first, int(run[stop - 1]) - first + 1
                # consecutive frames are copied from a view, others through a (small) fancy index
                out[pos + j:pos + stop] = res[a:b] if b - a == stop - j else res[run[j:stop] - first]
                j = stop
            pos += len(run)
        return out

    def _span(self, first: int, cap: int | None, crop) -> tuple[int, np.ndarray]:
        """The cached span holding frame ``first``, else a new one from ``first``.

        One span at a time: threads asking for the next frames wait and then find them here.
        """
        with self._cache_lock:
            c = self._chunk_cache
            if c is not None and c[2] == crop and c[0] <= first < c[0] + len(c[1]):
                return c[0], c[1]
            self._chunk_cache = None  # the old span goes before the new one is made
            last = self._span_end(first, first + self._span_frames(crop))
            res = self._compute_span(first, last if cap is None else min(last, cap), crop)
            self._chunk_cache = (first, res, crop)
            return first, res

    def _cheap_strips(self) -> bool:
        """Whether the parent reads strips of rows without reading whole frames."""
        return bool(self.parent.reader.cheap_crop and not self.parent.fns)

    def _chunk_budget(self, crop) -> int:
        """Bytes for the parent frames of a span, read at once: an eighth of the budget.  When
        the parent reads whole frames for every strip: up to a quarter of it for a span as long
        as its halo (each parent frame is then filtered about 3 times, not once per frame of a
        span of one frame), and up to half of it if a span of one grid step needs that."""
        budget, frame = self._budget(), self._parent_frame_nbytes(crop)
        if self._cheap_strips():
            return budget // 8
        need = max(2 * self.halo + self.step, self.edge) * frame
        if need > budget // 2:
            return budget // 8
        return max(budget // 8, need, min((3 * self.halo + self.step) * frame, budget // 4))

    def _parent_frame_nbytes(self, crop) -> int:
        return int(np.prod(crop_shape(crop, self.shape[1:]))) * np.dtype(self.parent.dtype).itemsize

    def _span_frames(self, crop) -> int:
        """Frames computed at once: a quarter of the budget, and few enough that the parent
        frames fit in :meth:`_chunk_budget` when the parent cannot crop cheaply."""
        from ..engine.blocks import frames_per_block

        values = int(np.prod(crop_shape(crop, self.shape[1:])))
        # a quarter of the budget, sized by the engine's planner like every block
        out = frames_per_block(values * np.dtype(self.dtype).itemsize, 0, self._budget(), in_flight=4,
                               work_itemsize=0)
        if not self._cheap_strips():
            fit = self._chunk_budget(crop) // self._parent_frame_nbytes(crop) - 2 * self.halo
            if fit >= 1:
                return int(max(1, min(out, fit)))
        return int(max(1, out))

    def _span_end(self, first: int, last: int) -> int:
        """``last`` clipped to the sequence and moved back so that a span ends on the grid of
        ``'fast'`` (its frames then need one grid point less)."""
        if last >= len(self.parent):
            return len(self.parent)
        aligned = last - (last - self.window // 2) % self.step
        return aligned if aligned > first else last

    def _chunk_range(self, first: int, last: int) -> tuple[int, int]:
        """The parent frames ``[lo, hi)`` that frames ``first..last`` are computed from."""
        n = len(self.parent)
        lo, hi = max(0, first - self.halo), min(n, last + self.halo)
        if lo == 0:
            hi = max(hi, self.edge)
        if hi == n:
            lo = min(lo, n - self.edge)
        return lo, hi

    def _read_chunk(self, lo: int, hi: int, crop, keep: bool) -> np.ndarray:
        """Parent frames ``lo..hi``; those the previous span's chunk holds are copied from it, not
        read again (a video is then decoded about once).  ``keep``: for the next span."""
        prev, self._prev = self._prev, None
        a = b = lo
        if prev is not None and prev[2] == crop:
            a, b = max(lo, prev[0]), min(hi, prev[0] + len(prev[1]))
        if b <= a:
            chunk = self.parent._read_positions(np.arange(lo, hi), crop)
        else:
            chunk = np.empty((hi - lo, *prev[1].shape[1:]), prev[1].dtype)
            chunk[a - lo:b - lo] = prev[1][a - prev[0]:b - prev[0]]
            if lo < a:
                chunk[:a - lo] = self.parent._read_positions(np.arange(lo, a), crop)
            if b < hi:
                chunk[b - lo:] = self.parent._read_positions(np.arange(b, hi), crop)
        del prev
        if keep:
            self._prev = (lo, chunk, crop)
        return chunk

    def _compute_span(self, first: int, last: int, crop) -> np.ndarray:
        """Frames ``first..last``, filtered in strips of rows in threads; the parent frames are
        read once when they fit in :meth:`_chunk_budget`, else strip by strip."""
        lo, hi = self._chunk_range(first, last)
        shape = crop_shape(crop, self.shape[1:])
        itemsize = np.dtype(self.parent.dtype).itemsize
        row_values = int(np.prod(shape[1:])) * (hi - lo)
        budget = self._budget()
        per_frame = _WORK_PER_ITEM_BYTE * itemsize + (_WORK_FLOAT_STAGES if self.float_stages else 0)
        per_row = int(np.prod(shape[1:])) * (per_frame * (hi - lo) + _WORK_PER_FRAME * (last - first))
        strip_rows = max(1, int(budget // 8 // _WORKERS // per_row))
        positions = np.arange(lo, hi)
        chunk = None
        if row_values * shape[0] * itemsize <= self._chunk_budget(crop):
            chunk = self._read_chunk(lo, hi, crop, keep=last < len(self.parent))
        whole = crop or (slice(0, self.shape[1], 1), slice(0, self.shape[2], 1))
        whole_cols = slice(0, shape[1], 1)
        res = np.empty((last - first, *shape), self.dtype)

        def strip(r0: int) -> None:
            rows = slice(r0, min(r0 + strip_rows, shape[0]), 1)
            if chunk is not None:
                part = chunk[:, rows]
            else:
                part = self.parent._read_positions(positions, compose_crops(whole, (rows, whole_cols)))
            res[:, rows] = self._compute(part, lo, (first - lo, last - lo))

        starts = range(0, shape[0], strip_rows)
        if len(starts) == 1:
            strip(0)
            return res
        with ThreadPoolExecutor(min(_WORKERS, len(starts)), thread_name_prefix="imfun-dfof") as pool:
            # each strip runs in a copy of the caller's context: it sees the caller's budget
            for done in [pool.submit(contextvars.copy_context().run, strip, r0) for r0 in starts]:
                done.result()
        return res


class DfofReader(_RunningReader):
    """ΔF/F with a running baseline (:mod:`imfun.analysis.baseline`)."""

    def __init__(self, parent: FrameSequence, window: int, method: str = "fast",
                 percentile: float = 10.0, mode: str = "inside", dtype=None, budget=None):
        uses_p = method in ("fast", "exact", "percentile")
        stat = f"{method} p{percentile:g}" if uses_p else method
        self._init_parent(parent, f"dfof({stat}, {window} frames)", budget)
        self._setup(parent, window, method, mode, dtype)
        self.method, self.percentile = method, percentile
        self.metadata["dfof"] = {"window_frames": window, "method": method,
                                 "percentile": percentile, "mode": mode}

    def _compute(self, chunk, start, rows):
        # float32 output is computed in float32 (its rounding), anything else in float64
        work = np.float32 if self.dtype == np.float32 else np.float64
        return relative_baseline(chunk, self.window, self.method, self.percentile, self.mode, start,
                                 len(self.parent), rows, work)


class ZscoreReader(_RunningReader):
    """Z-score with a running mean and SD (``window`` frames) or the whole sequence's."""

    def __init__(self, parent: FrameSequence, window: int | None, mode: str = "inside", dtype=None,
                 budget=None):
        label = f"zscore({window} frames)" if window else "zscore(global)"
        self._init_parent(parent, label, budget)
        self._setup(parent, window or 1, "mean", mode, dtype)
        self.window = window
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    def _global_stats(self) -> tuple[np.ndarray, np.ndarray]:
        # two engine passes over the parent, once, on first use
        with self._cache_lock:
            if self._stats is None:
                kw = {"budget": self.budget}
                self._stats = (self.parent.mean_frame(**kw), self.parent.std(axis=0, **kw))
            return self._stats

    def _compute(self, chunk, start, rows):
        return _zscore(chunk, self.window, self.mode, start, len(self.parent), rows)

    def _read(self, frames, crop):
        if self.window is not None:
            return super()._read(frames, crop)
        m, sd = self._global_stats()
        if crop is not None:
            m, sd = m[crop], sd[crop]
        out = np.empty((len(frames), *m.shape), self.dtype)
        frame_nbytes = m.size * 8 * 2
        for a, b in sub_runs(len(frames), frame_nbytes, self._budget()):
            out[a:b] = divide(self._read_parent(frames[a:b], crop) - m, sd)
        return out


def dfof(fs: FrameSequence, baseline_seconds=None, percentile=10.0, method="fast",
         baseline_frames=None, mode="inside", dtype=None, budget=None) -> FrameSequence:
    _check(method, mode, percentile)
    w = window_frames(fs, baseline_seconds, baseline_frames, "baseline")
    return derived(DfofReader(fs, w, method, float(percentile), mode, dtype=dtype, budget=budget))


def zscore(fs: FrameSequence, window_seconds=None, window_frames_=None, mode="inside", dtype=None,
           budget=None) -> FrameSequence:
    _check(None, mode)
    w = None
    if window_seconds is not None or window_frames_ is not None:
        w = window_frames(fs, window_seconds, window_frames_, "window")
    return derived(ZscoreReader(fs, w, mode, dtype=dtype, budget=budget))
