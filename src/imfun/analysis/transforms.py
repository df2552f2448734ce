"""Lazy derived sequences: spatial and temporal binning, crop, resampling in time.

A derived sequence is ``FrameSequence(<Derived>Reader(parent, ...))``: its
reader reads the frames it needs from the *parent sequence* (through the
parent's own block road, so the parent's pipeline and crop apply) and
transforms them with vectorised numpy.  Nothing is computed until frames are
read, and the physical axes follow each step (``bin(2)`` doubles ``dy`` and
``dx``; ``bin_time(2)`` doubles ``dt``; resampling sets the new ``dt``).

A derived reader pickles the parent sequence it was made from (which pickles
its own reader by how it was made), so derived sequences go to other
processes like any other.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING

import numpy as np

from .. import config
from ..axes import Axes
from ..errors import InvalidArgumentError
from ..readers.base import Reader
from ..selection import as_range

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence


def work_dtype(dtype, requested=None) -> np.dtype:
    """Output type of a computed sequence: ``requested`` (a float type), else float32 for small
    integers and float32 data, float64 otherwise (computing is always in float).

    An integer ``requested`` type is refused: computed values would be truncated or wrap
    around silently; a conversion that checks the range is the writers' ``dtype=`` with
    ``rescale=`` (:mod:`imfun.dtypes`).
    """
    if requested is not None:
        requested = np.dtype(requested)
        if requested.kind != "f":
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"dtype={requested} for a computed sequence: its values are computed in floating "
                "point, and storing them as integers would truncate or wrap them. Use a float type "
                f"(float32), and convert when writing: .to_tiff(path, dtype='{requested}', rescale=True)")
        return requested
    return np.result_type(np.dtype(dtype), np.float32)


def runs(frames: np.ndarray, max_gap: int) -> list[np.ndarray]:
    """Split sorted frame indices into runs whose neighbours differ by at most ``max_gap``."""
    if len(frames) == 0:
        return []
    cuts = np.flatnonzero(np.diff(frames) > max_gap) + 1
    return np.split(frames, cuts)


def sub_runs(n: int, frame_nbytes: int, budget: int) -> list[tuple[int, int]]:
    """``(start, stop)`` runs of ``range(n)`` that each fit a quarter of the budget, as the
    engine's block planner sizes them (four blocks in flight, no working copy beyond
    ``frame_nbytes``)."""
    from ..engine.blocks import frames_per_block, spans

    per = frames_per_block(max(frame_nbytes, 1), 0, budget, in_flight=4, work_itemsize=0)
    return spans(n, per)


def crop_indices(crop, shape2: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices a resolved crop selects (all when crop is None)."""
    if crop is None:
        return np.arange(shape2[0]), np.arange(shape2[1])
    return tuple(np.array(as_range(s)) for s in crop)  # type: ignore[return-value]


class DerivedReader(Reader):
    """Base of readers whose frames are computed from a parent ``FrameSequence``.

    Subclasses set ``shape``, ``dtype``, ``axes`` and ``metadata`` in
    ``__init__`` (after calling :meth:`_init_parent`) and implement ``_read``.
    """

    cheap_crop = False
    # the parent's reader serialises its own reads when it must; computing here is thread-safe
    thread_safe = True

    def _init_parent(self, parent: FrameSequence, label: str, budget=None) -> None:
        from ..fseq.sequence import FrameSequence

        if not isinstance(parent, FrameSequence):
            raise InvalidArgumentError(
                f"a derived sequence needs a FrameSequence, got {type(parent).__name__}")
        self.parent = parent
        self.budget = budget
        self.source = f"{label} of {parent.reader.source}"
        self.paths = tuple(getattr(parent.reader, "paths", ()) or ())
        self.natural_block = 1
        self.metadata = {k: v for k, v in parent.meta.items() if k != "axes"}
        self.axes = parent.meta["axes"].copy()
        self._cache_lock = threading.Lock()

    def _budget(self) -> int:
        return config.resolve_budget(self.budget)

    def _read_parent(self, positions: np.ndarray, crop) -> np.ndarray:
        """Parent frames at ``positions`` as float64 (``(n, rows, cols[, c])``)."""
        return np.asarray(self.parent._read_positions(np.asarray(positions, np.intp), crop),
                          dtype=np.float64)

    def close(self) -> None:
        """Close the parent's files (they reopen when read again)."""
        self.parent.close()

    def __del__(self):
        # garbage collection of a derived sequence must not close the parent's files
        # under another user of the parent
        pass


def derived(reader: DerivedReader) -> FrameSequence:
    """Wrap a derived reader as a frame sequence."""
    from ..fseq.sequence import FrameSequence

    return FrameSequence(reader)


# -- spatial binning ------------------------------------------------------------------------------
class BinReader(DerivedReader):
    """Spatial binning: the mean of ``fy x fx`` pixel blocks; edge remainders are dropped."""

    def __init__(self, parent: FrameSequence, factor: tuple[int, int], dtype=None, budget=None):
        fy, fx = factor
        self._init_parent(parent, f"bin({fy}, {fx})" if fy != fx else f"bin({fy})", budget)
        rows, cols = parent.frame_shape[:2]
        if rows // fy == 0 or cols // fx == 0:
            raise InvalidArgumentError(
                f"bin({fy}, {fx}) is larger than the frames ({rows}x{cols}); use a smaller factor")
        self.factor = (fy, fx)
        self.shape = (len(parent), rows // fy, cols // fx, *parent.frame_shape[2:])
        self.dtype = work_dtype(parent.dtype, dtype)
        (sy, uy), (sx, ux) = self.axes[1], self.axes[2]
        self.axes[1], self.axes[2] = (sy * fy, uy), (sx * fx, ux)

    def _read(self, frames, crop):
        fy, fx = self.factor
        r_idx, c_idx = crop_indices(crop, self.shape[1:3])
        r0, r1, c0, c1 = r_idx.min(), r_idx.max() + 1, c_idx.min(), c_idx.max() + 1
        # read only the parent pixels under the binned crop's bounding box
        pcrop = (slice(r0 * fy, r1 * fy, 1), slice(c0 * fx, c1 * fx, 1))
        extra = tuple(self.shape[3:])
        out = np.empty((len(frames), len(r_idx), len(c_idx), *extra), self.dtype)
        nbytes = (r1 - r0) * fy * (c1 - c0) * fx * int(np.prod(extra, dtype=int)) * 8
        for a, b in sub_runs(len(frames), nbytes, self._budget()):
            block = self._read_parent(frames[a:b], pcrop)
            n = len(block)
            binned = block.reshape(n, r1 - r0, fy, c1 - c0, fx, *extra).mean(axis=(2, 4))
            out[a:b] = binned[:, r_idx - r0][:, :, c_idx - c0]
        return out


# -- temporal binning -----------------------------------------------------------------------------
def _bin_times(parent: FrameSequence, k: int, n: int) -> np.ndarray | None:
    if not (parent.meta["axes"][0].unit or "frame_times" in parent.meta):
        return None
    return parent.frame_idx()[: n * k].reshape(n, k).mean(axis=1)


class TimeBinReader(DerivedReader):
    """Temporal binning: the mean of ``k`` consecutive frames; the last ``len % k`` are dropped."""

    def __init__(self, parent: FrameSequence, factor: int, dtype=None, budget=None):
        self._init_parent(parent, f"bin_time({factor})", budget)
        n = len(parent) // factor
        if n == 0:
            raise InvalidArgumentError(
                f"bin_time({factor}) needs at least {factor} frames; the sequence has {len(parent)}")
        self.factor = factor
        self.shape = (n, *parent.frame_shape)
        self.dtype = work_dtype(parent.dtype, dtype)
        dt, unit = self.axes[0]
        self.axes[0] = (dt * factor, unit)
        times = _bin_times(parent, factor, n)
        self.metadata.pop("frame_times", None)
        if times is not None:
            if "frame_times" in parent.meta:
                self.metadata["frame_times"] = times
            else:
                self.metadata["t0"] = float(times[0])  # a bin's time is the mean of its frames' times

    def _read(self, frames, crop):
        k = self.factor
        out = None
        frame_nbytes = int(np.prod(self.shape[1:])) * 8 * k
        for a, b in sub_runs(len(frames), frame_nbytes, self._budget()):
            pos = (frames[a:b, None] * k + np.arange(k)).ravel()
            block = self._read_parent(pos, crop)
            binned = block.reshape(b - a, k, *block.shape[1:]).mean(axis=1)
            if out is None:
                out = np.empty((len(frames), *binned.shape[1:]), self.dtype)
            out[a:b] = binned
        return out


# -- resampling in time ---------------------------------------------------------------------------
class ResampleReader(DerivedReader):
    """Linear interpolation in time onto a regular grid of step ``dt`` from the first frame's time."""

    def __init__(self, parent: FrameSequence, dt: float, label: str, dtype=None, budget=None):
        self._init_parent(parent, label, budget)
        times = np.asarray(parent.frame_idx(), dtype=float)
        if len(times) > 1 and np.any(np.diff(times) <= 0):
            raise InvalidArgumentError("resample_time needs increasing frame times")
        n = int(np.floor((times[-1] - times[0]) / dt * (1 + 1e-12))) + 1
        new_times = times[0] + np.arange(n) * dt
        # left neighbour and weight of the right one, for each new time
        left = np.clip(np.searchsorted(times, new_times, side="right") - 1, 0, max(len(times) - 2, 0))
        if len(times) == 1:
            weight = np.zeros(n)
        else:
            weight = np.clip((new_times - times[left]) / (times[left + 1] - times[left]), 0.0, 1.0)
        self.left, self.weight = left, weight
        self.shape = (n, *parent.frame_shape)
        self.dtype = work_dtype(parent.dtype, dtype)
        _, unit = self.axes[0]
        self.axes[0] = (dt, unit)
        self.metadata.pop("frame_times", None)
        self.metadata["t0"] = float(times[0])

    def _read(self, frames, crop):
        left, w = self.left[frames], self.weight[frames]
        right = np.minimum(left + 1, self.parent_len - 1)
        out = None
        frame_nbytes = int(np.prod(self.shape[1:])) * 8 * 2
        for a, b in sub_runs(len(frames), frame_nbytes, self._budget()):
            need, inv = np.unique(np.concatenate([left[a:b], right[a:b]]), return_inverse=True)
            block = self._read_parent(need, crop)
            lo, hi = block[inv[: b - a]], block[inv[b - a:]]
            ww = w[a:b].reshape(-1, *([1] * (block.ndim - 1)))
            res = lo * (1.0 - ww) + hi * ww
            if out is None:
                out = np.empty((len(frames), *res.shape[1:]), self.dtype)
            out[a:b] = res
        return out

    @property
    def parent_len(self) -> int:
        return len(self.parent)


# -- the public functions (thin methods in methods.py call these) ------------------------------------
def _factor2(factor) -> tuple[int, int]:
    f = (factor, factor) if np.isscalar(factor) else tuple(factor)
    if len(f) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1
                              for v in f):
        raise InvalidArgumentError(
            f"a binning factor is a positive int or a pair (fy, fx) of positive ints, got {factor!r}")
    return int(f[0]), int(f[1])


def bin_space(fs: FrameSequence, factor, dtype=None, budget=None) -> FrameSequence:
    fy, fx = _factor2(factor)
    return derived(BinReader(fs, (fy, fx), dtype=dtype, budget=budget))


def bin_time(fs: FrameSequence, factor: int, dtype=None, budget=None) -> FrameSequence:
    k = _factor2(factor)[0] if np.isscalar(factor) else None
    if k is None:
        raise InvalidArgumentError(f"bin_time takes one positive int, got {factor!r}")
    return derived(TimeBinReader(fs, k, dtype=dtype, budget=budget))


def resample_time(fs: FrameSequence, dt: float | None = None, factor: float | None = None,
                  dtype=None, budget=None) -> FrameSequence:
    if (dt is None) == (factor is None):
        raise InvalidArgumentError("resample_time takes either dt= (the new frame interval) or factor= "
                                   "(how many times more frames), not both or neither")
    old_dt, unit = fs.meta["axes"][0]
    if dt is not None:
        if not unit:
            raise InvalidArgumentError(
                "resample_time(dt=...) needs a time unit on the frame axis: set fs.meta['axes'][0] = "
                "(dt, 's') or use factor=")
        dt = float(dt)
        label = f"resample_time(dt={dt:g})"
    else:
        factor = float(factor)
        if not np.isfinite(factor) or factor <= 0:
            raise InvalidArgumentError(f"resample_time factor must be positive, got {factor!r}")
        dt = old_dt / factor
        label = f"resample_time(factor={factor:g})"
    if not np.isfinite(dt) or dt <= 0:
        raise InvalidArgumentError(f"resample_time dt must be positive, got {dt!r}")
    return derived(ResampleReader(fs, dt, label, dtype=dtype, budget=budget))


def crop_frames(fs: FrameSequence, rows=None, cols=None) -> FrameSequence:
    """A lazy crop: the same reader, with a crop fixed in the new sequence (pushed down to the
    reader, so memory-mapped and chunked sources read only the crop)."""
    from ..selection import compose_crops, normalize_crop

    crop = normalize_crop((rows if rows is not None else slice(None),
                           cols if cols is not None else slice(None)), fs.frame_shape)
    if crop is not None and any(s.step < 0 for s in crop):
        raise InvalidArgumentError("crop_frames takes increasing slices (step > 0)")
    new = copy.copy(fs)
    new.fns = list(fs.fns)
    new.meta = dict(fs.meta)
    axes: Axes = fs.meta["axes"].copy()
    if crop is not None:
        for i, s in enumerate(crop, start=1):
            scale, unit = axes[i]
            axes[i] = (scale * s.step, unit)  # a strided crop samples more coarsely
        new._crop = compose_crops(fs._crop, crop)
        new._probe_cache = None
    new.meta["axes"] = axes
    return new

