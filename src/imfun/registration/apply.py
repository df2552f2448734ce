"""Applying shifts to blocks of frames: rigid shifts, smooth shift fields, the line-scan phase.

Every function here maps a block ``(n, rows, cols)`` of (part of) frames to the
registered block: output pixel ``(y, x)`` takes the input's value at
``(y + dy, x + dx)`` (the content displaced by ``(dy, dx)`` is moved back).
Coordinates are absolute pixel positions in the full frame; a block may be a
window of the frame (``offset`` is the frame position of its first pixel) as
long as it holds every source pixel its outputs need.  Sources outside the
frame are clamped to its edge (``fill='edge'``), or their outputs are set to
NaN or a number: the frame never wraps around.

Rigid shifts are separable: each frame is interpolated along rows, then
columns, with whole-frame numpy operations.  ``order=1`` (bilinear) equals
``scipy.ndimage.shift(frame, -shift, order=1, mode='nearest')`` to float32
rounding; ``order=3`` is Keys' cubic convolution (a = -0.5; interpolating, as
sharp as a cubic spline, no prefilter), within about 1 % of the data range of
``scipy.ndimage.shift(..., order=3)`` on smooth images.  Shift fields
(piecewise-rigid) are applied frame by frame: ``order=1`` bilinearly in numpy
(equal to ``scipy.ndimage.map_coordinates(..., order=1)``), ``order=3`` by
cubic splines (``map_coordinates(..., order=3, mode='nearest')`` to float32
rounding, with the spline coefficients computed in float32).

The frames of a block are moved in the process' warp threads (one per core,
:func:`each_frame`), shared by every caller, so a block read ahead by the
engine uses all the cores and blocks read in the engine's own threads do not
oversubscribe them.

Examples
--------
>>> import numpy as np
>>> block = np.arange(20.0).reshape(1, 4, 5)
>>> shift_rigid(block, np.array([[0.0, 1.0]]), fill="nan")[0]
array([[ 1.,  2.,  3.,  4., nan],
       [ 6.,  7.,  8.,  9., nan],
       [11., 12., 13., 14., nan],
       [16., 17., 18., 19., nan]], dtype=float32)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..engine.blocks import default_workers
from ..errors import InvalidArgumentError

TOL = 1e-6  # a source this close to the frame edge is still inside
SPLINE_PAD = 12  # edge pixels added before the spline prefilter, as map_coordinates(mode='nearest')
_POOL: dict = {}  # pid -> the warp threads of this process (a forked child makes its own)
_POOL_LOCK = threading.Lock()


def _warp_pool() -> ThreadPoolExecutor:
    with _POOL_LOCK:
        pid = os.getpid()
        if pid not in _POOL:
            _POOL.clear()
            _POOL[pid] = ThreadPoolExecutor(default_workers(), thread_name_prefix="imfun-warp")
        return _POOL[pid]


def each_frame(fn: Callable[[int], None], n: int) -> None:
    """Run ``fn(k)`` for ``k`` in ``range(n)`` in the warp threads (numpy and scipy release the GIL).

    The threads are shared by the whole process: however many callers run at once, at most one
    frame per core is being moved, and a call from a warp thread runs its frames itself.

    >>> out = [0] * 4
    >>> each_frame(lambda k: out.__setitem__(k, k * k), 4)
    >>> out
    [0, 1, 4, 9]
    """
    if n < 2 or default_workers() < 2 or threading.current_thread().name.startswith("imfun-warp"):
        for k in range(n):
            fn(k)
        return
    futures = [_warp_pool().submit(fn, k) for k in range(n)]
    for f in futures:  # wait for all (and raise the first error) before the caller uses the output
        f.result()


def check_fill(fill) -> str | float:
    """``'edge'``, ``'nan'`` or a finite number; anything else is an error."""
    if isinstance(fill, str):
        if fill in ("edge", "nan"):
            return fill
    elif isinstance(fill, int | float | np.number) and not isinstance(fill, bool) and np.isfinite(fill):
        return float(fill)
    raise InvalidArgumentError(
        f"fill must be 'edge', 'nan' or a finite number (the value of pixels shifted in from "
        f"outside the frame), got {fill!r}")


def _outside(out_idx: np.ndarray, shift: np.ndarray, size: int) -> np.ndarray:
    """Where the sources ``out_idx + shift`` (n, L) fall outside ``0 .. size - 1``."""
    src = out_idx[None, :] + shift[:, None]
    return (src < -TOL) | (src > size - 1 + TOL)


def _apply_fill(out: np.ndarray, outside: np.ndarray, fill) -> np.ndarray:
    """Set the outputs whose source was outside the frame (``outside``, broadcast to ``out``)."""
    if fill != "edge" and outside.any():
        value = np.nan if fill == "nan" else float(fill)
        out[np.broadcast_to(outside, out.shape)] = value
    return out


def keys_weights(t: float) -> np.ndarray:
    """The 4 weights of Keys' cubic convolution (a = -0.5) at fraction ``t`` in [0, 1), for the
    samples at offsets -1, 0, 1, 2: interpolating (exact at integer shifts), sums to 1."""
    x = np.abs(t - np.arange(-1, 3, dtype=float))
    a = -0.5
    near = (a + 2) * x**3 - (a + 3) * x**2 + 1
    far = a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def _taps_1d(frame: np.ndarray, start: int, shift: float, axis: int, out: np.ndarray, order: int) -> None:
    """``out`` = ``frame`` interpolated along ``axis`` at ``start + arange(L) + shift`` (linear for
    ``order=1``, Keys cubic for 3); ``frame`` is edge-padded so every tap is inside it."""
    k = int(np.floor(shift))
    t = shift - k
    taps = [(0, 1 - t), (1, t)] if order == 1 else list(zip(range(-1, 3), keys_weights(t), strict=True))
    length = out.shape[axis]
    view = [slice(None)] * 2
    first = True
    for j, weight in taps:
        if weight == 0 and not first:
            continue
        i0 = start + k + j
        view[axis] = slice(i0, i0 + length)
        src = frame[tuple(view)]
        if first:
            np.multiply(src, np.float32(weight), out=out)
            first = False
        else:
            out += src * np.float32(weight)


def _padded(block: np.ndarray, pad_y: int, pad_x: int) -> np.ndarray:
    """The block as float32 with its edge rows and columns repeated ``pad_y`` / ``pad_x`` times
    (``np.pad(mode='edge')`` with one conversion)."""
    n, h, w = block.shape
    out = np.empty((n, h + 2 * pad_y, w + 2 * pad_x), np.float32)
    out[:, pad_y:pad_y + h, pad_x:pad_x + w] = block
    out[:, :pad_y, pad_x:pad_x + w] = out[:, pad_y:pad_y + 1, pad_x:pad_x + w]
    out[:, pad_y + h:, pad_x:pad_x + w] = out[:, pad_y + h - 1:pad_y + h, pad_x:pad_x + w]
    out[:, :, :pad_x] = out[:, :, pad_x:pad_x + 1]
    out[:, :, pad_x + w:] = out[:, :, pad_x + w - 1:pad_x + w]
    return out


def shift_rigid(block: np.ndarray, shifts: np.ndarray, fill="edge", order: int = 1,
                offset: tuple[int, int] = (0, 0), frame_shape: tuple[int, int] | None = None,
                out_rows: tuple[int, int] | None = None, out_cols: tuple[int, int] | None = None
                ) -> np.ndarray:
    """Move each frame of a block back by its shift ``(dy, dx)`` (float32 result).

    ``out_rows`` / ``out_cols`` are the ``(start, stop)`` absolute rows and columns to produce
    (default all of the block); ``frame_shape`` is the full frame's (default the block's):
    ``block`` must be the whole frame where the sources reach its edges.
    """
    fill = check_fill(fill)
    h, w = frame_shape or block.shape[1:3]
    oy, ox = offset
    r0, r1 = out_rows or (oy, oy + block.shape[1])
    c0, c1 = out_cols or (ox, ox + block.shape[2])
    shifts = np.asarray(shifts, float)
    if order not in (1, 3):
        raise InvalidArgumentError(f"order must be 1 (bilinear) or 3 (cubic), got {order!r}")
    # edge padding by the largest shift clamps every source to the frame's edge, as mode='nearest'
    py = int(np.ceil(np.abs(shifts[:, 0]).max(initial=0))) + 2
    px = int(np.ceil(np.abs(shifts[:, 1]).max(initial=0))) + 2
    pad = _padded(block, py, px)
    out = np.empty((len(block), r1 - r0, c1 - c0), np.float32)

    def one(k: int) -> None:  # whole-frame numpy operations for each frame
        tmp = np.empty((r1 - r0, pad.shape[2]), np.float32)
        _taps_1d(pad[k], r0 - oy + py, shifts[k, 0], 0, tmp, order)
        _taps_1d(tmp, c0 - ox + px, shifts[k, 1], 1, out[k], order)

    each_frame(one, len(block))
    outside = _outside(np.arange(r0, r1, dtype=float), shifts[:, 0], h)[:, :, None] | \
        _outside(np.arange(c0, c1, dtype=float), shifts[:, 1], w)[:, None, :]
    return _apply_fill(out, outside, fill)


def spline_coefficients(frame: np.ndarray) -> np.ndarray:
    """Cubic B-spline coefficients (float32) of a frame edge-padded by ``SPLINE_PAD`` pixels: what
    ``map_coordinates(frame, ..., order=3, mode='nearest')`` interpolates (it computes them in
    float64)."""
    from scipy import ndimage

    pad = np.pad(np.asarray(frame, np.float32), SPLINE_PAD, mode="edge")
    return ndimage.spline_filter(pad, 3, output=np.float32, mode="nearest")


def warp(block: np.ndarray, field: np.ndarray | Callable[[int], tuple[np.ndarray, np.ndarray]],
         fill="edge", order: int = 1, offset: tuple[int, int] = (0, 0),
         frame_shape: tuple[int, int] | None = None, out_rows: tuple[int, int] | None = None,
         out_cols: tuple[int, int] | None = None) -> np.ndarray:
    """Move each frame back by a per-pixel shift ``field`` (n, Ly, Lx, 2) given at the output
    pixels, or by the ``(dy, dx)`` fields (Ly, Lx) that ``field(k)`` computes for frame ``k`` in
    its thread (one frame at a time, vectorised over the frame; see the module's notes on ``order``).

    >>> import numpy as np
    >>> block = np.arange(20.0).reshape(1, 4, 5)
    >>> np.round(warp(block, np.full((1, 4, 5, 2), [0.0, 1.0]), fill="nan", order=3)[0, 0], 4)
    array([ 1.,  2.,  3.,  4., nan], dtype=float32)
    """
    from scipy import ndimage

    fill = check_fill(fill)
    if order not in (1, 3):
        raise InvalidArgumentError(f"order must be 1 (bilinear) or 3 (cubic), got {order!r}")
    h, w = frame_shape or block.shape[1:3]
    oy, ox = offset
    r0, r1 = out_rows or (oy, oy + block.shape[1])
    c0, c1 = out_cols or (ox, ox + block.shape[2])
    rows = np.arange(r0, r1, dtype=np.float32)[:, None]
    cols = np.arange(c0, c1, dtype=np.float32)[None, :]
    out = np.empty((len(block), r1 - r0, c1 - c0), np.float32)

    def one(k: int) -> None:
        dy, dx = field(k) if callable(field) else (field[k, ..., 0], field[k, ..., 1])
        coords = np.empty((2, *out.shape[1:]), np.float32)
        yy, xx = np.add(rows, dy, out=coords[0]), np.add(cols, dx, out=coords[1])
        outside = None
        if fill != "edge":
            outside = (yy < -TOL) | (yy > h - 1 + TOL) | (xx < -TOL) | (xx > w - 1 + TOL)
        # sources clamped to the frame, in the block's coordinates (plus the spline's padding)
        shift = 0 if order == 1 else SPLINE_PAD
        np.clip(yy, 0, h - 1, out=yy)
        np.clip(xx, 0, w - 1, out=xx)
        yy += np.float32(shift - oy)
        xx += np.float32(shift - ox)
        if order == 1:
            out[k] = bilinear(np.asarray(block[k], np.float32), yy, xx)
        else:
            ndimage.map_coordinates(spline_coefficients(block[k]), coords, output=out[k], order=3,
                                    mode="nearest", prefilter=False)
        if outside is not None:
            _apply_fill(out[k], outside, fill)

    each_frame(one, len(block))
    return out


def bilinear(frame: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """``frame`` at coordinates inside it, bilinearly: ``map_coordinates(order=1)`` in numpy
    (which, unlike scipy's, lets the engine's other threads run).

    >>> import numpy as np
    >>> f = np.arange(12.0).reshape(3, 4)
    >>> bilinear(f, np.array([0.5, 2.0]), np.array([1.25, 3.0]))
    array([ 3.25, 11.  ])
    """
    h, w = frame.shape
    y0 = np.clip(np.floor(yy).astype(np.intp), 0, max(h - 2, 0))
    x0 = np.clip(np.floor(xx).astype(np.intp), 0, max(w - 2, 0))
    ty, tx = (yy - y0).astype(frame.dtype), (xx - x0).astype(frame.dtype)
    flat = frame.ravel()
    i00 = y0 * w + x0
    a, b = flat[i00], flat[np.minimum(i00 + 1, flat.size - 1)]
    c, d = flat[np.minimum(i00 + w, flat.size - 1)], flat[np.minimum(i00 + w + 1, flat.size - 1)]
    top = a + tx * (b - a)
    return top + ty * (c + tx * (d - c) - top)


def bidi_correct(block: np.ndarray, phase: float, row0: int = 0, offset_x: int = 0,
                 width: int | None = None) -> np.ndarray:
    """Move the odd rows (of the full frame; ``row0`` is the frame row of the block's first row)
    back by the line-scan phase: ``out[odd, x] = in[odd, x + phase]`` (linear, edge clamped).

    >>> import numpy as np
    >>> b = np.tile(np.arange(6.0), (1, 2, 1))
    >>> bidi_correct(b, 1.0)[0]
    array([[0., 1., 2., 3., 4., 5.],
           [1., 2., 3., 4., 5., 5.]], dtype=float32)
    """
    if phase == 0:
        return np.asarray(block, np.float32)
    out = np.array(block, np.float32)
    w = width or block.shape[2]
    first = (row0 + 1) % 2  # the block's first odd frame row
    odd = out[:, first::2]
    if odd.shape[1] == 0:
        return out
    # sources beyond the frame's edge take the edge; inside a window they must be in the window
    p = int(np.ceil(abs(phase))) + 1
    left = p if offset_x == 0 else 0
    right = p if offset_x + block.shape[2] >= w else 0
    pad = np.pad(odd, ((0, 0), (0, 0), (left, right)), mode="edge")
    if left == 0 or right == 0:  # a window: pad with the edge anyway, those columns are margin
        pad = np.pad(odd, ((0, 0), (0, 0), (p, p)), mode="edge")
        left = p
    res = np.empty(odd.shape[1:], np.float32)
    for k in range(len(odd)):
        _taps_1d(pad[k], left, phase, 1, res, 1)
        out[k, first::2] = res
    return out
