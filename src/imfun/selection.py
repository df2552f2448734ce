"""Turn the reference's ``fslice`` and ``crop`` arguments into positions and slices."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import EmptySequenceError, FrameIndexError, InvalidArgumentError

Crop = tuple[slice, slice] | None


def fslice_positions(fslice, n: int) -> np.ndarray:
    """Positions (0..n-1) selected by an ``fslice``.

    ``None`` all frames; an int ``N`` the first ``N``; a tuple ``(stop,)``,
    ``(start, stop)`` or ``(start, stop, step)``; a ``slice``; or an array of
    indices or a boolean mask.

    >>> fslice_positions((2, 10, 3), 100)
    array([2, 5, 8])
    """
    if fslice is None:
        pos = np.arange(n)
    elif isinstance(fslice, bool):
        raise InvalidArgumentError("fslice cannot be a bool; use None for all frames")
    elif isinstance(fslice, numbers.Integral):
        if fslice < 0:
            raise InvalidArgumentError(f"fslice={fslice}: the number of first frames must be >= 0")
        pos = np.arange(min(int(fslice), n))
    elif isinstance(fslice, slice):
        pos = np.arange(*fslice.indices(n))
    elif isinstance(fslice, tuple):
        if not 1 <= len(fslice) <= 3:
            raise InvalidArgumentError(
                f"fslice={fslice!r}: a tuple is (stop,), (start, stop) or (start, stop, step)")
        sl = slice(*fslice)
        if sl.step == 0:
            raise InvalidArgumentError("fslice step cannot be zero")
        pos = np.arange(*sl.indices(n))
    else:
        pos = index_positions(fslice, n)
    if len(pos) == 0:
        raise EmptySequenceError(f"fslice={fslice!r} selects no frames of the {n} in the sequence")
    return pos


def index_positions(index, n: int) -> np.ndarray:
    """Positions selected by a list/array of ints (negative allowed) or a boolean mask."""
    arr = np.asarray(index)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise FrameIndexError(f"a boolean frame mask must have length {n}, got shape {arr.shape}")
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.empty(0, np.intp)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise FrameIndexError(
            f"frames are selected by an int, a slice, a 1-D list of ints or a boolean mask; "
            f"got {type(index).__name__} of dtype {arr.dtype}")
    bad = (arr < -n) | (arr >= n)
    if bad.any():
        raise FrameIndexError(f"frame index {int(arr[bad][0])} is out of range for {n} frames")
    return np.where(arr < 0, arr + n, arr).astype(np.intp)


def unique_sorted(values: np.ndarray, return_inverse: bool = False):
    """``np.unique`` of integer indices (and the inverse that rebuilds ``values`` from it),
    without numpy's ``np.unique``, which imports ``numpy.ma`` (about 40 ms in a fresh process).

    >>> unique_sorted(np.array([5, 2, 5, 7]), return_inverse=True)
    (array([2, 5, 7]), array([1, 0, 1, 2]))
    """
    values = np.asarray(values).ravel()
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(len(ordered), bool)
    first[1:] = ordered[1:] != ordered[:-1]
    unique = ordered[first]
    if not return_inverse:
        return unique
    inverse = np.empty(len(values), np.intp)
    inverse[order] = np.cumsum(first) - 1
    return unique, inverse


def normalize_crop(crop, frame_shape: tuple[int, ...]) -> Crop:
    """Resolve a crop (a tuple of up to two slices, or a slice) against the frame's rows/cols."""
    if crop is None:
        return None
    if isinstance(crop, slice):
        crop = (crop,)
    if not isinstance(crop, tuple) or not 1 <= len(crop) <= 2 or \
            not all(isinstance(s, slice) for s in crop):
        raise InvalidArgumentError(
            f"crop must be a tuple of slices such as (slice(10, 50), slice(0, 100)), got {crop!r}")
    crop = (*crop, slice(None))[:2]
    out = []
    for s, size, name in zip(crop, frame_shape[:2], ("rows", "columns"), strict=True):
        if s.step == 0:
            raise InvalidArgumentError("crop step cannot be zero")
        resolved = as_slice(range(*s.indices(size)))
        if len(as_range(resolved)) == 0:
            raise EmptySequenceError(f"crop {s} selects no {name} of the {size} in a frame")
        out.append(resolved)
    if all(s == slice(0, size, 1) for s, size in zip(out, frame_shape[:2], strict=True)):
        return None
    return tuple(out)


def as_range(s: slice) -> range:
    """The indices of a resolved slice (``stop=None`` with a negative step runs to 0)."""
    return range(s.start, -1 if s.stop is None else s.stop, s.step)


def as_slice(r: range) -> slice:
    """A resolved slice for a range; stays valid when applied again (no negative stop)."""
    return slice(r.start, None if r.stop < 0 else r.stop, r.step)


def crop_shape(crop: Crop, frame_shape: tuple[int, ...]) -> tuple[int, ...]:
    if crop is None:
        return tuple(frame_shape)
    dims = tuple(len(as_range(s)) for s in crop)
    return dims + tuple(frame_shape[2:])


def compose_crops(outer: Crop, inner: Crop) -> Crop:
    """The crop equal to applying ``outer`` first, then ``inner`` (both resolved)."""
    if outer is None:
        return inner
    if inner is None:
        return outer
    out = []
    for a, b in zip(outer, inner, strict=True):
        out.append(as_slice(as_range(a)[b]))
    return tuple(out)


__all__ = ["Crop", "as_range", "as_slice", "compose_crops", "crop_shape", "fslice_positions",
           "index_positions", "normalize_crop"]
