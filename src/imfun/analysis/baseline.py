"""Running baselines ``F0`` along time for ΔF/F and z-scores, exact on any block of frames.

``F0`` at frame ``t`` is a statistic of the ``w`` frames of a window centred on
``t`` (``w`` odd, ``h = w // 2``).  Methods:

``'fast'`` (default)
    The rank-order percentile (as ``scipy.ndimage.percentile_filter``) of the
    full window, evaluated only on a grid of window positions every
    ``step = max(1, w // 4)`` frames of the recording (plus its last window
    position) and linearly interpolated in between: about ``step`` times less
    work than ``'exact'``, vectorised with ``np.partition``, and equal to it on
    the grid and for windows up to 7 frames.  Error against ``'exact'`` (tested,
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
    pad_lo = pad_hi = 0
    if mode != "inside":
        h = w // 2
        pad_lo, pad_hi = (h if start == 0 else 0), (h if start + m == total else 0)
        flat = np.pad(flat, ((pad_lo, pad_hi), (0, 0)), mode=_NUMPY_PAD[mode])  # type: ignore[call-overload]
        start, total = start + h - pad_lo, total + 2 * h
    f0 = _inside(flat, w, method, percentile, start, total, (a + pad_lo, b + pad_lo))
    return f0.reshape((b - a, *x.shape[1:]))


def _inside(x: np.ndarray, w: int, method: str, p: float, start: int, total: int,
            rows: tuple[int, int]) -> np.ndarray:
    """Baselines of ``(m, pixels)`` chunk rows ``a..b`` with every window inside the recording."""
    t = np.arange(*rows)
    if method == "maximin":
        return _maximin(x, w, rows)
    if method == "fast":
        return _fast(x, w, p, start, total, t)
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


def _fast(x: np.ndarray, w: int, p: float, start: int, total: int, t: np.ndarray) -> np.ndarray:
    """Exact percentiles at the recording's grid positions in the chunk, interpolated."""
    from numpy.lib.stride_tricks import sliding_window_view

    m, step, k, last = len(x), grid_step(w), rank(w, p), total - w
    pos = np.clip(t - w // 2, 0, m - w)  # window positions of the frames, in the chunk
    # the grid points (window positions of the recording) that bracket them, within the chunk
    lo, hi = start + int(pos.min()), start + int(pos.max())
    first = max((lo // step) * step, -(-start // step) * step)
    regular = np.arange(first, min(-(-hi // step) * step, last, start + m - w) + 1, step) - start
    local = regular
    if last % step and regular[-1] + start < hi <= last <= start + m - w:  # the last window, too
        local = np.append(regular, last - start)
    # pixel-major, so that each window is contiguous for np.partition
    series = np.ascontiguousarray(_sortable(x[local[0]:local[-1] + w]).T)
    windows = sliding_window_view(series, w, axis=-1)
    parts = [np.partition(windows[:, :regular[-1] - regular[0] + 1:step], k, axis=-1)[..., k]]
    if len(local) > len(regular):
        parts.append(np.partition(windows[:, local[-1] - local[0]], k, axis=-1)[:, k:k + 1])
    vals = np.concatenate(parts, axis=1).T.astype(np.float64)  # (grid points, pixels)
    return _interpolate(local, vals, pos)


def _interpolate(grid: np.ndarray, vals: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows of ``vals`` (at increasing ``grid``) linearly interpolated at ``pos``, interval by interval."""
    out = np.empty((len(pos), vals.shape[1]))
    if len(grid) == 1:
        out[:] = vals[0]
        return out
    i = np.clip(np.searchsorted(grid, pos, side="right") - 1, 0, len(grid) - 2)
    cuts = np.flatnonzero(np.diff(i)) + 1
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(pos)], strict=True):
        g = i[a]
        frac = ((pos[a:b] - grid[g]) / (grid[g + 1] - grid[g]))[:, None]
        np.multiply(frac, vals[g + 1] - vals[g], out=out[a:b])
        out[a:b] += vals[g]
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
    f0 = np.asarray(f0, dtype)
    out = x.astype(dtype, copy=True)
    out -= f0
    zero = f0 == 0
    np.divide(out, f0, out=out, where=~zero)
    out[zero] = 0.0
    return out
