"""Summary images of a movie, each in one streaming pass: local correlation, peak-to-noise, enhanced mean.

Every image is an engine :class:`~imfun.engine.reduce.Reduction` (``map`` a
block of frames to a small per-pixel partial, ``combine`` two partials,
``finalize``), so it runs in threads here or on dask (``engine='dask'``), and
memory does not depend on the number of frames.

- :class:`LocalCorrelation` — for each pixel, the mean over its 4 or 8
  neighbours of the Pearson correlation over time between the pixel and the
  neighbour (CaImAn's ``local_correlations``).  Partials hold, per pixel, the
  count, the mean, the sum of squared deviations and, per neighbour offset,
  the co-moment with that neighbour; blocks are centred on their own mean and
  merged with Chan's formula, so large offsets cost no precision.
- :class:`PeakToNoise` — ``(max_t s(t) - mean_t x(t)) / sigma`` per pixel, where
  ``s`` is the trace smoothed by a running mean of ``smooth_frames`` frames and
  ``sigma = sqrt(pi) / 2 * mean_t |x(t+1) - x(t)|`` (for white Gaussian noise,
  the noise SD).  Blocks keep their first and last frames, so windows and
  differences across block joins are counted exactly once.
- :func:`enhanced_mean` — the mean image high-passed and locally normalised
  (as suite2p's ``meanImgE``), scaled to [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from ..engine.reduce import Mean, Reduction
from ..errors import EmptySequenceError, InvalidArgumentError, ShapeMismatchError

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

#: neighbour offsets ``(drow, dcol)`` of half the neighbourhood; the other half is their mirror
OFFSETS = {4: ((0, 1), (1, 0)), 8: ((0, 1), (1, -1), (1, 0), (1, 1))}
_CHUNK = 32  # frames mapped at a time: float32 copies and sums stay small and precise


def pair_slices(offset: tuple[int, int], shape: tuple[int, int]) -> tuple[tuple[slice, slice], ...]:
    """Slices ``(a, b)``: ``frame[a]`` pairs each pixel ``p`` with ``frame[b]`` at ``p + offset``."""
    (dy, dx), (rows, cols) = offset, shape
    a = (slice(0, rows - dy), slice(max(0, -dx), cols - max(0, dx)))
    b = (slice(dy, rows), slice(max(0, dx), cols + min(0, dx)))
    return a, b


def _grey(fs: FrameSequence, what: str) -> tuple[int, int]:
    if len(fs.frame_shape) != 2:
        raise ShapeMismatchError(f"{what} needs grey frames, got frames of shape {fs.frame_shape}; "
                                 f"choose a channel (ch=)")
    return fs.frame_shape


def _centred(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block in float32 minus its float32 mean, the exact float64 mean and the residual sums."""
    if np.can_cast(block.dtype, np.float32, "safe"):
        x = np.array(block, dtype=np.float32)
        m32 = x.sum(axis=0) / np.float32(len(x))
        x -= m32
    else:  # wider data: centre before rounding to float32, so large offsets lose nothing
        m32 = block.mean(axis=0, dtype=np.float64).astype(np.float32)
        x = np.subtract(block, m32, dtype=np.float64).astype(np.float32)
    resid = x.sum(axis=0).astype(np.float64)  # not 0: the float32 mean is rounded
    return x, m32 + resid / len(x), resid


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum_t a[t] * b[t]`` per pixel (float32 products of at most ``_CHUNK`` frames), in float64."""
    return np.einsum("i...,i...->...", a, b).astype(np.float64)


class _Chunked(Reduction):
    """``map`` folds the partials of runs of ``_CHUNK`` frames with ``combine``: bounded temporaries."""

    def map(self, start: int, block: np.ndarray):
        acc = None
        for s in range(0, len(block), _CHUNK):
            part = self.map_chunk(block[s:s + _CHUNK])
            acc = part if acc is None else self.combine(acc, part)
        return acc

    def map_chunk(self, frames: np.ndarray):
        raise NotImplementedError


class LocalCorrelation(_Chunked):
    """Mean Pearson correlation of each pixel with its 4 or 8 neighbours (see the module)."""

    def __init__(self, neighbours: int = 8):
        if neighbours not in OFFSETS:
            raise InvalidArgumentError(f"neighbours must be 4 or 8, got {neighbours!r}")
        self.offsets = OFFSETS[neighbours]

    def map_chunk(self, block: np.ndarray) -> tuple:
        x, mean, resid = _centred(block)
        n, shape = len(x), x.shape[1:]
        q = _dot(x, x) - resid**2 / n
        cross = []
        for off in self.offsets:
            a, b = pair_slices(off, shape)
            xa, xb = x[(slice(None), *a)], x[(slice(None), *b)]
            cross.append(_dot(xa, xb) - resid[a] * resid[b] / n)
        return n, mean, q, cross

    def combine(self, a: tuple, b: tuple) -> tuple:
        (na, ma, qa, ca), (nb, mb, qb, cb) = a, b
        n = na + nb
        delta = mb - ma
        w = na * nb / n
        cross = []
        for off, c1, c2 in zip(self.offsets, ca, cb, strict=True):
            s1, s2 = pair_slices(off, delta.shape)
            cross.append(c1 + c2 + delta[s1] * delta[s2] * w)
        return n, ma + delta * (nb / n), qa + qb + delta**2 * w, cross

    def finalize(self, partial: tuple) -> np.ndarray:
        _, _, q, cross = partial
        q = np.maximum(q, 0)  # a constant pixel's may round to a hair below 0
        shape = q.shape
        total = np.zeros(shape, np.float64)
        count = np.zeros(shape, np.float64)
        for off, c in zip(self.offsets, cross, strict=True):
            a, b = pair_slices(off, shape)
            denom = np.sqrt(q[a] * q[b])
            r = np.divide(c, denom, out=np.zeros_like(c), where=denom > 0)
            np.clip(r, -1, 1, out=r)
            for s in (a, b):  # the correlation counts for both pixels of the pair
                total[s] += r
                count[s] += 1
        return (total / np.maximum(count, 1)).astype(np.float32)


@dataclass
class _PeakPartial:
    n: int
    total: np.ndarray  # sum of x
    absdiff: np.ndarray  # sum of |x(t+1) - x(t)| over the pairs inside the partial
    peak: np.ndarray  # max of the running mean over the windows inside the partial
    head: np.ndarray  # the first ``ctx`` frames (all when fewer)
    tail: np.ndarray  # the last ``ctx`` frames


class PeakToNoise(_Chunked):
    """Peak-to-noise ratio per pixel (see the module for the definition)."""

    def __init__(self, smooth_frames: int = 3):
        if int(smooth_frames) != smooth_frames or smooth_frames < 1:
            raise InvalidArgumentError(f"smooth_frames must be a positive integer, got {smooth_frames!r}")
        self.k = int(smooth_frames)
        self.ctx = max(self.k, 2) - 1

    def _peak(self, x: np.ndarray, first_start: int = 0) -> np.ndarray | None:
        """Max over the running means of ``x`` whose windows start at ``first_start`` or later."""
        n_win = len(x) - self.k + 1 - first_start
        if n_win <= 0:
            return None
        acc = np.array(x[first_start:first_start + n_win], dtype=np.float32)
        for j in range(1, self.k):
            acc += x[first_start + j:first_start + j + n_win]
        return acc.max(axis=0).astype(np.float64) / self.k

    def map_chunk(self, block: np.ndarray) -> _PeakPartial:
        x = np.asarray(block, dtype=np.float32)
        peak = self._peak(x)
        d = np.diff(x, axis=0)
        absdiff = np.abs(d, out=d).sum(axis=0).astype(np.float64)  # float32 sums of <= _CHUNK frames
        ninf = np.full(x.shape[1:], -np.inf)
        return _PeakPartial(len(x), x.sum(axis=0).astype(np.float64), absdiff,
                            ninf if peak is None else peak, x[:self.ctx].copy(), x[-self.ctx:].copy())

    def combine(self, a: _PeakPartial, b: _PeakPartial) -> _PeakPartial:
        join = np.concatenate([a.tail, b.head])
        la = len(a.tail)
        # the windows that start in a's tail and end in b's head, and the one difference across the join
        cross = self._peak(join[:la + self.k - 1], max(0, la - self.k + 1))
        peak = np.maximum(a.peak, b.peak)
        if cross is not None:
            peak = np.maximum(peak, cross)
        absdiff = a.absdiff + b.absdiff + np.abs(b.head[0].astype(np.float64) - a.tail[-1])
        head = a.head if a.n >= self.ctx else np.concatenate([a.head, b.head])[:self.ctx]
        tail = b.tail if b.n >= self.ctx else np.concatenate([a.tail, b.tail])[-self.ctx:]
        return _PeakPartial(a.n + b.n, a.total + b.total, absdiff, peak, head, tail)

    def finalize(self, partial: _PeakPartial) -> np.ndarray:
        p = partial
        sigma = np.sqrt(np.pi) / 2 * p.absdiff / (p.n - 1)
        height = p.peak - p.total / p.n
        return np.divide(height, sigma, out=np.zeros_like(height), where=sigma > 0).astype(np.float32)


class Several(Reduction):
    """Several reductions over the same blocks in one pass: a tuple of their results."""

    def __init__(self, *reductions: Reduction):
        self.reductions = reductions

    def map(self, start: int, block: np.ndarray) -> tuple:
        return tuple(r.map(start, block) for r in self.reductions)

    def combine(self, a: tuple, b: tuple) -> tuple:
        return tuple(r.combine(x, y) for r, x, y in zip(self.reductions, a, b, strict=True))

    def finalize(self, partial: tuple) -> tuple:
        return tuple(r.finalize(p) for r, p in zip(self.reductions, partial, strict=True))


class _Summary(Several):
    """Correlation and PNR in one pass, and the mean (from the correlation's partial).

    Each block is made float32 once when that is exact (8/16-bit integers, float32).
    """

    def __init__(self, neighbours: int, smooth_frames: int):
        super().__init__(LocalCorrelation(neighbours), PeakToNoise(smooth_frames))

    def map(self, start: int, block: np.ndarray) -> tuple:
        if np.can_cast(block.dtype, np.float32, "safe"):
            block = np.asarray(block, np.float32)
        return super().map(start, block)

    def finalize(self, partial: tuple) -> tuple:
        return (partial[0][1], *super().finalize(partial))


def bin_frames(block: np.ndarray, k: int) -> np.ndarray:
    """Means of runs of ``k`` consecutive frames, float32; a last, shorter run is its own mean.

    Examples
    --------
    >>> import numpy as np
    >>> bin_frames(np.arange(5, dtype=np.uint16).reshape(5, 1, 1), 2).ravel()
    array([0.5, 2.5, 4. ], dtype=float32)
    """
    if k == 1:
        return block
    full = len(block) // k * k
    runs = block[:full].reshape(-1, k, *block.shape[1:])
    out = np.add.reduce(runs, axis=1, dtype=np.float32)
    out *= np.float32(1 / k)
    if full < len(block):
        out = np.concatenate([out, block[full:].mean(axis=0, dtype=np.float32)[None]])
    return out


class TimeBinned(Reduction):
    """A reduction over the means of runs of ``k`` consecutive frames of each block (:func:`bin_frames`).

    Blocks start at multiples of ``k`` frames (``frames_multiple``), so the runs are the same
    whatever the budget or the executor; only the last run may be shorter.
    """

    def __init__(self, inner: Reduction, k: int):
        if int(k) != k or k < 1:
            raise InvalidArgumentError(f"the bin size must be a positive integer of frames, got {k!r}")
        self.inner, self.k = inner, int(k)
        self.work_itemsize = inner.work_itemsize
        self.frames_multiple = self.k

    def read(self, seq, positions: np.ndarray, crop):
        return self.inner.read(seq, positions, crop)

    def values_per_frame(self, seq, crop) -> int | None:
        return self.inner.values_per_frame(seq, crop)

    def map(self, start: int, block: np.ndarray):
        return self.inner.map(start // self.k, bin_frames(block, self.k))

    def combine(self, a, b):
        return self.inner.combine(a, b)

    def finalize(self, partial):
        return self.inner.finalize(partial)


def _frames_needed(fs: FrameSequence, fslice, need: int, what: str) -> None:
    n = len(fs.plan(fslice)[0])
    if n < need:
        raise EmptySequenceError(f"{what} needs at least {need} frames, the selection has {n}; "
                                 f"select more frames (fslice=)")


def correlation_image(fs: FrameSequence, neighbours: int = 8, *, fslice=None, budget=None,
                      engine=None) -> np.ndarray:
    """Local correlation image: per pixel, the mean Pearson correlation over time with its neighbours.

    The definition of CaImAn's ``local_correlations``: border pixels average
    over the neighbours they have; a constant pixel has correlation 0 with
    every neighbour (not NaN).  One streaming pass; exact to float32 rounding.

    Parameters
    ----------
    fs : FrameSequence
        Grey frames, at least 2 selected.
    neighbours : 4 or 8
        The 4 edge neighbours, or also the 4 diagonal ones.
    fslice, budget, engine :
        Frames to use, memory budget, ``'dask'`` to run on dask.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` float32, in [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> t = np.sin(np.arange(20.0))[:, None, None]
    >>> fs = FSeq_arr(np.concatenate([t * np.ones((20, 3, 2)), np.ones((20, 3, 1))], axis=2))
    >>> fs.correlation_image(4)
    array([[1.       , 0.6666667, 0.       ],
           [1.       , 0.75     , 0.       ],
           [1.       , 0.6666667, 0.       ]], dtype=float32)
    """
    _grey(fs, "correlation_image")
    reduction = LocalCorrelation(neighbours)
    _frames_needed(fs, fslice, 2, "correlation_image")
    return fs._reduce(reduction, fslice, None, budget, "correlation image", engine)


def pnr_image(fs: FrameSequence, smooth_frames: int = 3, *, fslice=None, budget=None,
              engine=None) -> np.ndarray:
    """Peak-to-noise ratio image: how far each pixel's smoothed trace rises above its mean, in noise SDs.

    ``PNR = (max_t s(t) - mean_t x(t)) / sigma`` where ``s`` is the running mean
    of ``smooth_frames`` consecutive frames (complete windows only) and
    ``sigma = sqrt(pi) / 2 * mean_t |x(t+1) - x(t)|`` — the SD of white Gaussian
    noise, estimated from first differences so that slow changes (baseline,
    the decay of transients) hardly count.  0 where the trace is constant.

    Parameters
    ----------
    fs : FrameSequence
        Grey frames, at least ``max(smooth_frames, 2)`` selected.
    smooth_frames : int
        Length of the running mean (1: no smoothing).
    fslice, budget, engine :
        As for :func:`correlation_image`.

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)`` float32.

    Examples
    --------
    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> x = np.zeros((8, 1, 2)); x[::2] = 1.0; x[4:7, 0, 1] = 5.0
    >>> FSeq_arr(x).pnr_image(smooth_frames=1).round(3)
    array([[0.564, 1.747]], dtype=float32)
    """
    _grey(fs, "pnr_image")
    reduction = PeakToNoise(smooth_frames)
    _frames_needed(fs, fslice, max(reduction.k, 2), "pnr_image")
    return fs._reduce(reduction, fslice, None, budget, "PNR image", engine)


def enhance(mean: np.ndarray, sigma: float = 10.0) -> np.ndarray:
    """High-pass and locally normalise an image, scaled to [0, 1] between its 1st and 99th percentiles.

    ``hp = M - G(M)`` and ``E = hp / sqrt(G(hp**2))`` with ``G`` a Gaussian
    filter of SD ``sigma`` pixels (``mode='reflect'``); then
    ``clip((E - p1) / (p99 - p1), 0, 1)``.
    """
    if not np.isfinite(sigma) or sigma <= 0:
        raise InvalidArgumentError(f"sigma must be a positive number of pixels, got {sigma!r}")
    m = np.asarray(mean, np.float64)
    hp = m - ndimage.gaussian_filter(m, sigma)
    local = np.sqrt(ndimage.gaussian_filter(hp**2, sigma))
    e = np.divide(hp, local, out=np.zeros_like(hp), where=local > 1e-12 * max(np.abs(m).max(), 1.0))
    lo, hi = np.percentile(e, [1, 99])
    return np.clip((e - lo) / (hi - lo), 0, 1).astype(np.float32) if hi > lo else np.zeros_like(e, np.float32)


def enhanced_mean(fs: FrameSequence, sigma: float = 10.0, *, fslice=None, budget=None,
                  engine=None) -> np.ndarray:
    """The mean image with its slow background removed and local contrast evened (for display, seeding).

    The mean frame (one streaming pass) through :func:`enhance`: minus its
    Gaussian blur of SD ``sigma`` pixels, divided by the local RMS of that
    difference, scaled to [0, 1] between its 1st and 99th percentiles (as
    suite2p's ``meanImgE``).  Choose ``sigma`` about a cell diameter or more.

    Examples
    --------
    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> x = np.ones((3, 9, 9)) * np.arange(9.0)  # a ramp: no structure left
    >>> x[:, 4, 4] += 5
    >>> e = FSeq_arr(x).enhanced_mean(sigma=2)
    >>> bool(e[4, 4] == 1.0), e.dtype
    (True, dtype('float32'))
    """
    _grey(fs, "enhanced_mean")
    return enhance(fs._reduce(Mean(), fslice, None, budget, "mean image", engine), sigma)


@dataclass
class SummaryImages:
    """The summary images of a movie: mean, local correlation, peak-to-noise."""

    mean: np.ndarray
    correlation: np.ndarray
    pnr: np.ndarray


def summary_images(fs: FrameSequence, neighbours: int = 8, smooth_frames: int = 3, *, fslice=None,
                   budget=None, engine=None, time_bin: int = 1) -> SummaryImages:
    """Mean, correlation and PNR images in one pass over the frames (see the functions above).

    With ``time_bin=k > 1`` they are the images of the means of runs of ``k``
    consecutive frames (:class:`TimeBinned`; ``smooth_frames`` then counts
    runs): about ``k`` times less work after the reading, and slow signals
    stand out more from the noise; the mean image is nearly the same
    (the shorter last run of a block weighs as much as a full run).

    Examples
    --------
    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> s = summary_images(FSeq_arr(np.random.default_rng(0).random((10, 4, 5))))
    >>> s.mean.shape, s.correlation.shape, s.pnr.dtype
    ((4, 5), (4, 5), dtype('float32'))
    """
    _grey(fs, "summary_images")
    red = _Summary(neighbours, smooth_frames)
    red = TimeBinned(red, time_bin) if time_bin != 1 else red
    _frames_needed(fs, fslice, max(smooth_frames, 2) * time_bin, "summary_images")
    mean, corr, pnr = fs._reduce(red, fslice, None, budget, "summary images", engine)
    return SummaryImages(mean, corr, pnr)


__all__: list[Any] = ["LocalCorrelation", "PeakToNoise", "SummaryImages", "TimeBinned", "bin_frames",
                      "correlation_image", "enhance", "enhanced_mean", "pnr_image", "summary_images"]
