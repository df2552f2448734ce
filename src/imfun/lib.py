"""Small signal helpers, usable as pipeline hooks (``fs.fns``) or on arrays."""

from __future__ import annotations

import numpy as np


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, with 0 where ``|den|`` is too small to divide by."""
    den = np.asarray(den, dtype=np.float64)
    tiny = np.finfo(np.float64).eps * max(float(np.nanmax(np.abs(den), initial=0.0)), 1.0)
    out = np.zeros(np.broadcast_shapes(np.shape(num), den.shape))
    np.divide(num, den, out=out, where=np.abs(den) > tiny)
    return out


def DFoF(v, baseline=None, axis: int = 0) -> np.ndarray:
    """ΔF/F along ``axis`` (0) of a vector or a stack: ``(v - F0) / F0``.

    Parameters
    ----------
    v : array_like
        A time vector ``(T,)`` or a stack ``(T, ...)``.
    baseline : array_like, scalar or None
        F0; the mean along ``axis`` when None.

    Returns
    -------
    numpy.ndarray
        float64 ΔF/F; 0 where the baseline is (numerically) zero instead of inf/nan.

    Examples
    --------
    >>> DFoF([1.0, 2.0, 3.0])
    array([-0.5,  0. ,  0.5])
    """
    v = np.asarray(v, dtype=np.float64)
    f0 = v.mean(axis=axis, keepdims=True) if baseline is None else np.asarray(baseline, np.float64)
    return _safe_divide(v - f0, f0)


def DFoSD(v, baseline=None, axis: int = 0) -> np.ndarray:
    """Z-score along ``axis`` (0): ``(v - F0) / SD``, with F0 the mean when not given.

    0 where the standard deviation is zero (a constant signal).

    Examples
    --------
    >>> DFoSD([1.0, 2.0, 3.0]).round(3)
    array([-1.225,  0.   ,  1.225])
    """
    v = np.asarray(v, dtype=np.float64)
    f0 = v.mean(axis=axis, keepdims=True) if baseline is None else np.asarray(baseline, np.float64)
    sd = v.std(axis=axis, keepdims=True)
    return _safe_divide(v - f0, sd)
