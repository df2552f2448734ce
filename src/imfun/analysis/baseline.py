"""Running baselines ``F0`` along time for ΔF/F and z-scores, exact on any block of frames.

``F0`` at frame ``t`` is a statistic of the ``w`` frames of a window centred on
``t`` (``w`` odd, ``h = w // 2``).  Methods:

``'fast'`` (default)
    The rank-order percentile (as ``scipy.ndimage.percentile_filter``) of the
    full window, evaluated only on a grid of window positions every
    ``step = max(1, w // 4)`` frames of the recording (plus its last window
    position) and linearly interpolated in between (in float64).  The
    percentiles on the grid are exact, equal to ``'exact'`` there and for windows
    up to 7 frames: each block of ``step`` frames keeps its lowest ``k + 1``
    values (its highest, for percentiles above 50) through elementwise minima and
    maxima in the data's own type, and a window merges its blocks
    (:func:`window_ranks`; ``np.partition`` where that would cost more, for ranks
    far from both ends of long windows, or NaN).  On a 480-frame 424 x 640 8-bit
    movie with a 49-frame window this is about 100 times less work than
    ``'exact'``.  Error against ``'exact'`` (tested,
    for baselines that are smooth on the scale of the window: bleaching drifts
    and oscillations of up to ±20 % with periods of 8 windows or more):
    without noise, within 1 % of the baseline at every frame; with noise of up
    to 5 % of the baseline, within 1 % RMS over the frames.  Single noisy
    frames can differ more (about the noise's SD), because the exact running
    percentile itself jumps as samples enter and leave the window.
``'exact'`` (alias ``'percentile'``)
    The running rank-order percentile at every frame.
``'maximin'``
    The baseline of suite2p: Gaussian smoothing (``sigma = w / 8`` frames),
    then a running minimum, then a running maximum, both over ``w`` frames;
    O(n) per pixel whatever the window.  ``percentile`` is not used.
``'mean'``
    The running mean.

Edges (``mode``): with ``'inside'`` (default) every window lies inside the
recording: the first ``h`` frames share the first full window ``[0, w)``, the
last ``h`` the last one ``[n - w, n)``, so no sample near an edge is its own
baseline (a padded window repeating the edge frame would make the first frame's
percentile its own value and pin its ΔF/F to 0).  ``'nearest'``, ``'reflect'`` and
``'mirror'`` extend the recording by ``h`` frames at each end as
``scipy.ndimage`` does; ``'exact'`` and ``'mean'`` then equal scipy's
``percentile_filter`` and ``uniform_filter1d``.  A window longer than the
recording is an error.

Every function takes a chunk of the recording (its frames ``[start, start + m)``
of ``total``) and is exact for the chunk's frames that have :func:`halo` frames of
the chunk on each side (or reach an edge of the recording with at least
:func:`edge_frames` frames of the chunk): blocks computed apart equal the whole
recording computed at once, which is how the lazy ΔF/F sequences work.

Examples
--------
>>> import numpy as np
>>> x = np.array([5.0, 1, 1, 1, 9, 1, 1, 1, 1])
>>> running_baseline(x, 3, "exact", 0.0)
array([1., 1., 1., 1., 1., 1., 1., 1., 1.])
>>> running_baseline(x, 3, "mean", mode="nearest")[:2].round(3)
array([3.667, 2.333])
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError

METHODS = ("fast", "exact", "percentile", "maximin", "mean")
MODES = ("inside", "nearest", "reflect", "mirror")
_NUMPY_PAD = {"nearest": "edge", "reflect": "symmetric", "mirror": "reflect"}
# window_ranks uses min/max networks for at least this many pixels and when their estimated
# operations per value, kept / 2 + 3 kept^2 / w, are at most this (measured on 2 cores: for 8-bit
# to float64 data networks were 2-8x faster than np.partition up to kept ~ 0.2 w, about even at 40)
_NETWORK_MIN_PIXELS = 1024
_NETWORK_COST = 40
_NETWORK_TILE_BYTES = 2**22  # frames of a tile of pixels that _network_ranks works on at once


def check_options(method: str | None, mode: str, percentile: float | None = None) -> None:
    """Raise :class:`~imfun.errors.InvalidArgumentError` for an unknown method, mode or percentile."""
    if method is not None and method not in METHODS:
        raise InvalidArgumentError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if mode not in MODES:
        raise InvalidArgumentError(
            f"mode must be one of {', '.join(MODES)} (edges of the recording), got {mode!r}")
    if percentile is not None and not 0 <= float(percentile) <= 100:
        raise InvalidArgumentError(f"percentile must be within [0, 100], got {percentile!r}")


def window_length(seconds: float | None, frames: int | None, dt: float, unit: str, n: int,
                  what: str = "baseline") -> int:
    """The odd window length in frames from ``{what}_seconds`` or ``{what}_frames``, checked
    against the recording's ``n`` frames.

    An even length becomes the next odd one, or the previous one when that would
    exceed the recording.

    >>> window_length(2.0, None, 0.25, "s", 100)
    9
    >>> window_length(None, 8, 1.0, "", 8)
    7
    """
    if seconds is not None and frames is not None:
        raise InvalidArgumentError(f"give {what}_seconds or {what}_frames, not both")
    if frames is not None:
        if isinstance(frames, bool) or not isinstance(frames, int | np.integer) or frames < 1:
            raise InvalidArgumentError(f"{what}_frames must be a positive int, got {frames!r}")
        w = int(frames)
    else:
        if seconds is None:
            raise InvalidArgumentError(f"give the window as {what}_seconds= (or {what}_frames=)")
        if unit != "s":
            raise InvalidArgumentError(
                f"{what}_seconds needs the frame axis in seconds, but it is {(dt, unit)!r}; set "
                f"fs.meta['axes'][0] = (dt, 's') (dt= for traces) or give {what}_frames=")
        seconds = float(seconds)
        if not np.isfinite(seconds) or seconds <= 0:
            raise InvalidArgumentError(f"{what}_seconds must be positive, got {seconds!r}")
        w = max(1, round(seconds / dt))
    if w > n:
        length = f"{n} frames" + (f", {n * dt:g} s" if unit == "s" else "")
        given = f"{w} frames" + (f" ({w * dt:g} s)" if unit == "s" else "")
        most = f"{n} frames" + (f" ({n * dt:g} s)" if unit == "s" else "")
        raise InvalidArgumentError(
            f"the {what} window of {given} is longer than the recording ({length}); give a "
            f"window of at most {most} ({what}_seconds or {what}_frames)")
    if w % 2 == 0:
        w = w + 1 if w < n else w - 1  # centred windows need an odd length
    return w


def grid_step(w: int) -> int:
    """Frames between the window positions where ``'fast'`` evaluates the percentile."""
    return max(1, w // 4)


def smooth_sigma(w: int) -> float:
    """The Gaussian ``sigma`` in frames of ``'maximin'``."""
    return w / 8


def halo(method: str, w: int) -> int:
    """Frames of context each side a frame needs inside a chunk for its baseline to be exact."""
    h = w // 2
    if method == "fast":
        return h + grid_step(w)
    if method == "maximin":
        return 2 * h + int(4.0 * smooth_sigma(w) + 0.5)
    return h


def edge_frames(method: str, w: int) -> int:
    """Frames a chunk touching an edge of the recording must hold (its first or last full
    window and the context of the frames that use it)."""
    return w + halo(method, w)


def rank(w: int, percentile: float) -> int:
    """The 0-based rank of ``percentile`` in a window of ``w`` values, as scipy's rank filters."""
    return w - 1 if percentile >= 100 else int(float(w) * percentile / 100.0)


def running_baseline(x: np.ndarray, w: int, method: str = "fast", percentile: float = 10.0,
                     mode: str = "inside", start: int = 0, total: int | None = None,
                     rows: tuple[int, int] | None = None) -> np.ndarray:
    """The running baseline (float64) along axis 0 of a chunk ``x`` of a recording.

    Parameters
    ----------
    x : ndarray
        Frames ``[start, start + len(x))`` of a recording of ``total`` frames
        (``total=None``: ``x`` is the whole recording); any trailing shape.
    w : int
        Odd window length in frames, at most the recording's length.
    method, percentile, mode :
        See the module docstring.
    rows : (a, b), optional
        Return only the baseline of the chunk's frames ``a..b``.

    Examples
    --------
    >>> x = np.arange(10.0)[:, None]
    >>> running_baseline(x, 5, "exact", 50)[:, 0]
    array([2., 2., 2., 3., 4., 5., 6., 7., 7., 7.])
    """
    flat, start, total, chunk_rows = _chunk(x, w, method, percentile, mode, start, total, rows)
    f0 = _inside(flat, w, method, percentile, start, total, chunk_rows)
    return f0.reshape((len(f0), *np.shape(x)[1:]))


def relative_baseline(x: np.ndarray, w: int, method: str = "fast", percentile: float = 10.0,
                      mode: str = "inside", start: int = 0, total: int | None = None,
                      rows: tuple[int, int] | None = None, dtype=np.float64) -> np.ndarray:
    """ΔF/F ``(x - F0) / F0`` of a chunk's frames ``rows`` (0 where ``F0 == 0``) in ``dtype``,
    equal to ``relative(x[a:b], running_baseline(x, ...), dtype)``.

    For ``'fast'`` the baseline is interpolated and divided interval by interval of its grid
    (the same operations, without the baseline of every frame in memory).

    >>> x = np.array([1.0, 1, 2, 1, 1])[:, None]
    >>> relative_baseline(x, 3, "fast", 0)[:, 0]
    array([0., 0., 1., 0., 0.])
    """
    if method != "fast":
        a, b = (0, len(x)) if rows is None else rows
        f0 = running_baseline(x, w, method, percentile, mode, start, total, rows)
        return relative(np.asarray(x)[a:b], f0, dtype)
    flat, start, total, (a, b) = _chunk(x, w, method, percentile, mode, start, total, rows)
    grid, vals, pos = _fast_grid(flat, w, percentile, start, total, np.arange(a, b))
    out = _relative_interpolated(flat[a:b], grid, vals, pos, dtype)
    return out.reshape((b - a, *np.shape(x)[1:]))


def _chunk(x, w: int, method: str, percentile: float, mode: str, start: int, total: int | None,
           rows: tuple[int, int] | None) -> tuple[np.ndarray, int, int, tuple[int, int]]:
    """The checked chunk as ``(m, pixels)``, padded at the recording's edges for ``mode``, and
    its ``start``, the recording's ``total`` and the ``rows`` wanted, in the padded recording."""
    check_options(method, mode, percentile)
    x = np.asarray(x)
    m = len(x)
    total = m if total is None else total
    a, b = (0, m) if rows is None else rows
    if w > total:
        raise InvalidArgumentError(f"the window of {w} frames is longer than the recording ({total} frames)")
    if w < 1 or w % 2 == 0:
        raise InvalidArgumentError(f"the window must be an odd number of frames (centred), got {w}")
    flat = x.reshape(m, -1)
    if mode == "inside":
        return flat, start, total, (a, b)
    h = w // 2
    pad_lo, pad_hi = (h if start == 0 else 0), (h if start + m == total else 0)
    flat = np.pad(flat, ((pad_lo, pad_hi), (0, 0)), mode=_NUMPY_PAD[mode])  # type: ignore[call-overload]
    return flat, start + h - pad_lo, total + 2 * h, (a + pad_lo, b + pad_lo)


def _inside(x: np.ndarray, w: int, method: str, p: float, start: int, total: int,
            rows: tuple[int, int]) -> np.ndarray:
    """Baselines of ``(m, pixels)`` chunk rows ``a..b`` with every window inside the recording."""
    t = np.arange(*rows)
    if method == "maximin":
        return _maximin(x, w, rows)
    if method == "fast":
        return _interpolate(*_fast_grid(x, w, p, start, total, t))
    pos = np.clip(t - w // 2, 0, len(x) - w)  # the window of frame t starts at pos
    return _valid(x, w, method, p)[pos].astype(np.float64, copy=False)


def _valid(x: np.ndarray, w: int, method: str, p: float) -> np.ndarray:
    """The statistic of every full window ``x[j:j + w]``, ``j = 0 .. m - w``."""
    from scipy import ndimage

    h, m = w // 2, len(x)
    if method == "mean":
        return ndimage.uniform_filter1d(np.asarray(x, np.float64), w, axis=0)[h:m - h]
    if method == "min":
        return ndimage.minimum_filter1d(x, w, axis=0)[h:m - h]
    if method == "max":
        return ndimage.maximum_filter1d(x, w, axis=0)[h:m - h]
    # exact rank filter: scipy is fast on 1-D input only, so each pixel's series is laid end
    # to end; a full window of a kept position never reaches the neighbouring series
    series = np.ascontiguousarray(x.T)
    out = ndimage.rank_filter(series.ravel(), rank(w, p), size=w, mode="nearest")
    return np.ascontiguousarray(out.reshape(series.shape)[:, h:m - h].T)


def _fast_grid(x: np.ndarray, w: int, p: float, start: int, total: int,
               t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recording's grid positions in the chunk that bracket the windows of frames ``t``,
    the exact percentiles there (float64, ``(grid points, pixels)``) and the frames' window
    positions: what :func:`_interpolate` takes."""
    m, step, k, last = len(x), grid_step(w), rank(w, p), total - w
    pos = np.clip(t - w // 2, 0, m - w)  # window positions of the frames, in the chunk
    # the grid points (window positions of the recording) that bracket them, within the chunk
    lo, hi = start + int(pos.min()), start + int(pos.max())
    first = max((lo // step) * step, -(-start // step) * step)
    regular = np.arange(first, min(-(-hi // step) * step, last, start + m - w) + 1, step) - start
    local = regular
    if last % step and regular[-1] + start < hi <= last <= start + m - w:  # the last window, too
        local = np.append(regular, last - start)
    vals = np.empty((len(local), x.shape[1]))  # (grid points, pixels)
    vals[:len(regular)] = window_ranks(x, w, k, regular, step)
    if len(local) > len(regular):
        vals[-1] = window_ranks(x, w, k, local[-1:], step)[0]
    return local, vals, pos


def window_ranks(x: np.ndarray, w: int, k: int, starts: np.ndarray, step: int) -> np.ndarray:
    """The ``k``-th smallest value of every window ``x[s:s + w]`` (``s`` in ``starts``, spaced
    ``step`` apart) of an ``(m, pixels)`` array, per pixel: ``(len(starts), pixels)``, ``x``'s type.

    Exact (equal to ``np.partition``): for ranks near either end of the window, through
    min/max networks (:func:`_network_ranks`), else through ``np.partition``.

    >>> x = np.array([[5], [1], [4], [2], [3], [9], [0]])
    >>> window_ranks(x, 5, 1, np.array([0, 2]), 2)[:, 0]
    array([2, 2])
    """
    kept = min(k + 1, w - k)  # order statistics each block keeps
    if (x.shape[1] >= _NETWORK_MIN_PIXELS and kept / 2 + 3 * kept * kept / w <= _NETWORK_COST
            and not (x.dtype.kind in "fc" and np.isnan(x[starts[0]:starts[-1] + w]).any())):
        return _network_ranks(x, w, k, starts, step)
    from numpy.lib.stride_tricks import sliding_window_view

    # pixel-major, so that each window is contiguous for np.partition
    series = np.ascontiguousarray(_sortable(x[starts[0]:starts[-1] + w]).T)
    windows = sliding_window_view(series, w, axis=-1)[:, ::step][:, :len(starts)]
    return np.partition(windows, k, axis=-1)[..., k].T.astype(x.dtype, copy=False)


def _network_ranks(x: np.ndarray, w: int, k: int, starts: np.ndarray, step: int) -> np.ndarray:
    """:func:`window_ranks` with elementwise minima and maxima, for all windows at once.

    The frames from ``starts[0]`` are cut into blocks of ``step``; each block keeps its ``kept``
    smallest values, sorted (``kept`` largest for ranks in the upper half), and a window is
    the merge of its ``w // step`` blocks and its last ``w % step`` frames.  About
    ``w * kept / 2 + 2 * kept**2`` vectorised operations on every window's pixels, in the data's
    own type, against ``np.partition`` of ``w`` values per pixel and window.
    """
    kept, lo, hi = k + 1, np.minimum, np.maximum
    if w - k < kept:  # the k-th smallest is the (w - 1 - k)-th largest
        kept, lo, hi = w - k, np.maximum, np.minimum
    n, nb = len(starts), w // step
    out = np.empty((n, x.shape[1]), x.dtype)
    tile = max(1024, _NETWORK_TILE_BYTES // ((n + nb) * step * x.itemsize))
    for c in range(0, x.shape[1], tile):
        part = x[starts[0]:starts[-1] + w, c:c + tile]
        # blocks[i] holds the ordered values of every block, (blocks, pixels) each
        frames = part[:(n + nb - 1) * step].reshape(n + nb - 1, step, -1)
        blocks = _keep([frames[:, i] for i in range(step)], kept, lo, hi)
        ranked = [b[:n] for b in blocks]
        for t in range(nb * step, w):  # the frames after the blocks, of every window
            ranked = _insert(ranked, part[t:t + (n - 1) * step + 1:step], kept, lo, hi)
        for i in range(1, nb):
            ranked = _merge(ranked, [b[i:i + n] for b in blocks], kept, lo, hi, last_only=i == nb - 1)
        out[:, c:c + tile] = ranked[-1]
    return out


def _keep(frames, kept: int, lo, hi) -> list[np.ndarray]:
    """The ``kept`` lowest (by ``lo``) values of ``frames`` per pixel, in order."""
    ranked: list[np.ndarray] = []
    for v in frames:
        ranked = _insert(ranked, v, kept, lo, hi)
    return ranked


def _insert(ranked: list[np.ndarray], v: np.ndarray, kept: int, lo, hi) -> list[np.ndarray]:
    """``ranked`` with ``v`` inserted in order, at most ``kept`` long (a sorting network's column)."""
    out = []
    for r in ranked:
        out.append(lo(r, v))
        v = hi(r, v)
    if len(out) < kept:
        out.append(v)
    return out


def _merge(a: list[np.ndarray], b: list[np.ndarray], kept: int, lo, hi,
           last_only: bool = False) -> list[np.ndarray]:
    """The ``kept`` lowest of two ordered lists, in order (or only the last of them): the
    ``i``-th is the lowest over the ways to take ``j`` values of ``a`` and ``i + 1 - j`` of
    ``b`` of the highest value taken."""
    n = min(kept, len(a) + len(b))
    out = []
    for i in range(n - 1 if last_only else 0, n):
        best = None
        for j in range(max(0, i + 1 - len(b)), min(i + 1, len(a)) + 1):
            t = b[i] if j == 0 else a[i] if j == i + 1 else hi(a[j - 1], b[i - j])
            best = t if best is None else lo(best, t)
        out.append(best)
    return out


def _interpolate(grid: np.ndarray, vals: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows of ``vals`` (at increasing ``grid``) linearly interpolated at ``pos``, interval by interval."""
    out = np.empty((len(pos), vals.shape[1]))
    for a, b, g, frac in _intervals(grid, pos):
        _between(vals, g, frac, out[a:b])
    return out


def _relative_interpolated(x: np.ndarray, grid: np.ndarray, vals: np.ndarray, pos: np.ndarray,
                           dtype) -> np.ndarray:
    """``relative(x, _interpolate(grid, vals, pos), dtype)``, interval by interval."""
    out = np.empty(x.shape, dtype)
    for a, b, g, frac in _intervals(grid, pos):
        f0 = _between(vals, g, frac, np.empty((b - a, x.shape[1]))).astype(dtype, copy=False)
        _relative_into(out[a:b], x[a:b], f0)
    return out


def _intervals(grid: np.ndarray, pos: np.ndarray):
    """``(a, b, g, frac)`` for each run of ``pos[a:b]`` between ``grid[g]`` and ``grid[g + 1]``, at
    the fractions ``frac`` (a column; None when the grid is one point)."""
    if len(grid) == 1:
        yield 0, len(pos), 0, None
        return
    i = np.clip(np.searchsorted(grid, pos, side="right") - 1, 0, len(grid) - 2)
    cuts = np.flatnonzero(np.diff(i)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(pos)], strict=True):
        g = i[a]
        yield a, b, g, ((pos[a:b] - grid[g]) / (grid[g + 1] - grid[g]))[:, None]


def _between(vals: np.ndarray, g: int, frac: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """``out`` = ``vals[g]`` plus ``frac`` of the way to ``vals[g + 1]``."""
    if frac is None:
        out[:] = vals[g]
        return out
    np.multiply(frac, vals[g + 1] - vals[g], out=out)
    out += vals[g]
    return out


def _sortable(x: np.ndarray) -> np.ndarray:
    """``x`` in a type numpy partitions fast (its SIMD sorts skip 8-bit integers), same order."""
    if x.dtype.kind in "iu" and x.dtype.itemsize == 1:
        return x.astype(np.int16 if x.dtype.kind == "i" else np.uint16)
    return x


def _maximin(x: np.ndarray, w: int, rows: tuple[int, int]) -> np.ndarray:
    """Gaussian smoothing, running minimum, running maximum (windows inside the recording)."""
    from scipy import ndimage

    s = ndimage.gaussian_filter1d(np.asarray(x, np.float64), smooth_sigma(w), axis=0, mode="nearest")
    pos = np.clip(np.arange(len(x)) - w // 2, 0, len(x) - w)
    low = _valid(s, w, "min", 0)[pos]
    pos = np.clip(np.arange(*rows) - w // 2, 0, len(x) - w)
    return _valid(low, w, "max", 0)[pos]


def dfof_traces(traces, dt: float | None = None, baseline_seconds: float | None = None,
                percentile: float = 10.0, method: str = "fast", *, baseline_frames: int | None = None,
                mode: str = "inside") -> np.ndarray:
    """ΔF/F of traces, ``(F - F0) / F0`` (0 where ``F0 == 0``), with the running baselines of
    :meth:`~imfun.fseq.FrameSequence.dfof`.

    Parameters
    ----------
    traces : array_like
        ``(n_rois, n_frames)`` or one trace ``(n_frames,)``.
    dt : float, optional
        Frame interval in seconds; needed with ``baseline_seconds``.
    baseline_seconds, baseline_frames :
        The window, in seconds or in frames (one of the two).
    percentile, method, mode :
        As for :meth:`~imfun.fseq.FrameSequence.dfof` (module docstring of
        :mod:`imfun.analysis.baseline`).

    Returns
    -------
    ndarray
        float64, the shape of ``traces``.

    Examples
    --------
    >>> from imfun.analysis import dfof_traces
    >>> dfof_traces([2.0, 1, 1, 1, 3, 1, 1], baseline_frames=3, method="exact", percentile=0)
    array([1., 0., 0., 0., 2., 0., 0.])
    """
    x = np.asarray(traces, np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise InvalidArgumentError(
            f"traces must be (n_rois, n_frames) or (n_frames,) with frames, got shape {x.shape}")
    check_options(method, mode, percentile)
    unit = "s" if dt is not None else ""
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise InvalidArgumentError(f"dt must be a positive number of seconds, got {dt!r}")
    w = window_length(baseline_seconds, baseline_frames, float(dt or 1.0), unit, x.shape[-1])
    return relative(x.T, running_baseline(x.T, w, method, float(percentile), mode)).T


def divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` in float64, 0 where ``den == 0``."""
    den = np.broadcast_to(den, num.shape)
    out = np.zeros(num.shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def relative(x: np.ndarray, f0: np.ndarray, dtype=np.float64) -> np.ndarray:
    """``(x - f0) / f0`` computed in ``dtype`` (float64 or float32), 0 where ``f0 == 0``."""
    return _relative_into(np.empty(np.shape(x), dtype), x, np.asarray(f0, dtype))


def _relative_into(out: np.ndarray, x: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """``out[...] = (x - f0) / f0``, 0 where ``f0 == 0``."""
    out[...] = x
    out -= f0
    zero = f0 == 0
    if zero.any():
        np.divide(out, f0, out=out, where=~zero)
        out[zero] = 0.0
    else:
        np.divide(out, f0, out=out)
    return out
