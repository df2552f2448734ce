"""Streaming reductions over blocks of frames ``(n, rows, cols[, c])``.

Each function takes an iterator of ``(start, block)`` pairs (from
``FrameSequence.iter_blocks``) and keeps only per-pixel or per-ROI
accumulators, so memory does not grow with the number of frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np
import scipy.sparse

from ..errors import InvalidArgumentError

Blocks = Iterable[tuple[int, np.ndarray]]


def mean(blocks: Blocks) -> np.ndarray:
    """Per-pixel mean over frames (divides by N), in float64."""
    total, n = None, 0
    for _, block in blocks:
        s = block.sum(axis=0, dtype=np.float64)
        if total is None:
            total = s
        else:
            total += s
        n += len(block)
    return total / n


def extreme(blocks: Blocks, op: np.ufunc) -> np.ndarray:
    """Per-pixel maximum (``op=np.maximum``) or minimum (``np.minimum``) over frames."""
    acc = None
    for _, block in blocks:
        r = op.reduce(block, axis=0)
        acc = r if acc is None else op(acc, r, out=acc)
    return acc


def _moments(blocks: Blocks) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, per-pixel mean and sum of squared deviations, shifted by the first frame
    so that large offsets do not cancel precision."""
    n, shift, s, ss = 0, None, None, None
    for _, block in blocks:
        if shift is None:
            shift = block[0].astype(np.float64)
            s = np.zeros_like(shift)
            ss = np.zeros_like(shift)
        d = block - shift  # float64: shift is float64
        s += d.sum(axis=0)
        ss += np.einsum("i...,i...->...", d, d)
        n += len(block)
    m = s / n
    m2 = np.maximum(ss - s * m, 0.0)
    return n, m + shift, m2


def std(blocks: Blocks, axis, colour: bool = False):
    """Standard deviation (divides by N): of all values (per channel for colour
    frames) when ``axis`` is None, a per-pixel projection when ``axis`` is 0."""
    n, m, m2 = _moments(blocks)
    if axis == 0:
        return np.sqrt(m2 / n)
    # all values: combine the per-pixel groups exactly
    pix_axes = (0, 1) if colour else None
    grand = m.mean(axis=pix_axes)
    n_pix = m.shape[0] * m.shape[1]
    total_m2 = m2.sum(axis=pix_axes) + n * ((m - grand) ** 2).sum(axis=pix_axes)
    return np.sqrt(total_m2 / (n * n_pix))


def data_range(blocks: Blocks, colour: bool = False):
    """``(min, max)`` of all values, or a ``(channels, 2)`` array for colour frames."""
    lo = hi = None
    for _, block in blocks:
        axes = tuple(range(block.ndim - 1)) if colour else None
        bmin, bmax = block.min(axis=axes), block.max(axis=axes)
        lo = bmin if lo is None else np.minimum(lo, bmin)
        hi = bmax if hi is None else np.maximum(hi, bmax)
    if colour:
        return np.stack([lo, hi], axis=1)
    return lo.item() if hasattr(lo, "item") else lo, hi.item() if hasattr(hi, "item") else hi


# -- exact percentiles ------------------------------------------------------------
#
# Values are mapped to unsigned integer keys whose order is the order of the
# values (floats: the sign-flip trick on their bits).  The value of rank k is
# then found by radix selection, 16 bits of the key per pass, with a histogram
# of 65536 counts: one pass for 8- and 16-bit data, two for 32-bit, four for
# 64-bit.  Exact, and memory does not depend on the data size.

_KEY_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
RADIX_BITS = 16


def _to_keys(values: np.ndarray) -> np.ndarray:
    kind, size = values.dtype.kind, values.dtype.itemsize
    udt = _KEY_DTYPES[size]
    if kind == "u":
        return values
    if kind == "b":
        return values.view(np.uint8)
    top = udt(1) << udt(8 * size - 1)
    if kind == "i":
        return values.view(udt) ^ top
    if kind == "f":
        u = values.view(udt)
        neg = (u & top).astype(bool)
        return np.where(neg, ~u, u | top)
    raise InvalidArgumentError(f"percentiles of {values.dtype} data are not supported")


def _from_key(key: int, dtype: np.dtype):
    dtype = np.dtype(dtype)
    kind, size = dtype.kind, dtype.itemsize
    udt = _KEY_DTYPES[size]
    k = udt(key)
    top = udt(1) << udt(8 * size - 1)
    if kind in "ub":
        return np.array([k], udt).view(dtype)[0]
    if kind == "i":
        return np.array([k ^ top], udt).view(dtype)[0]
    u = k & ~top if k & top else ~k
    return np.array([u], udt).view(dtype)[0]


def _select(make_values: Callable[[], Iterator[np.ndarray]], ranks: np.ndarray,
            dtype: np.dtype) -> np.ndarray:
    """Values of the given ranks (0-based, in sorted order), by radix selection."""
    nbits = 8 * np.dtype(dtype).itemsize
    digit_bits = min(RADIX_BITS, nbits)
    # per rank: the key prefix found so far, and how many values lie below that prefix
    prefix = np.zeros(len(ranks), dtype=object)
    below = np.zeros(len(ranks), dtype=np.int64)
    for shift in range(nbits - digit_bits, -1, -digit_bits):
        groups = {}
        for i in range(len(ranks)):
            groups.setdefault(int(prefix[i]), []).append(i)
        hists = {p: np.zeros(1 << digit_bits, np.int64) for p in groups}
        mask_digit = (1 << digit_bits) - 1
        for values in make_values():
            keys = _to_keys(values.ravel())
            high = keys >> np.uint64(shift + digit_bits) if shift + digit_bits < nbits else None
            for p, hist in hists.items():
                sel = keys if high is None else keys[high == p]
                digits = (sel >> sel.dtype.type(shift)) & sel.dtype.type(mask_digit)
                hist += np.bincount(digits.astype(np.intp), minlength=1 << digit_bits)
        for p, members in groups.items():
            cum = np.cumsum(hists[p])
            for i in members:
                d = int(np.searchsorted(cum, ranks[i] - below[i], side="right"))
                below[i] += int(cum[d - 1]) if d > 0 else 0
                prefix[i] = (p << digit_bits) | d
    return np.array([_from_key(int(p), dtype) for p in prefix], dtype=dtype)


def _lerp(a, b, t):
    # numpy's own interpolation formula, so results equal np.percentile bit for bit
    diff_b_a = b - a
    out = np.add(a, diff_b_a * t)
    np.subtract(b, diff_b_a * (1 - t), out=out, where=np.asarray(t >= 0.5), casting="unsafe",
                dtype=type(out.dtype))
    return out


def _percentiles_from_ranks(select: Callable[[np.ndarray], np.ndarray], n: int,
                            p: np.ndarray) -> np.ndarray:
    q = np.true_divide(p, 100).ravel()
    virtual = (n - 1) * q  # numpy's "linear" method
    prev = np.floor(virtual).astype(np.intp)
    nxt = prev + 1
    prev = np.clip(np.where(virtual >= n - 1, n - 1, prev), 0, n - 1)
    nxt = np.clip(np.where(virtual >= n - 1, n - 1, nxt), 0, n - 1)
    gamma = np.asanyarray(virtual - np.floor(virtual))
    if p.ndim == 0:  # numpy treats a scalar q as a weak Python float: float32 data stays float32
        gamma = float(gamma[0])
    wanted = np.unique(np.concatenate([prev, nxt]))
    vals = dict(zip(wanted.tolist(), select(wanted), strict=True))
    a = np.array([vals[i] for i in prev.tolist()])
    b = np.array([vals[i] for i in nxt.tolist()])
    return _lerp(a, b, gamma).reshape(p.shape)


def percentile(make_blocks: Callable[[], Blocks], p: np.ndarray, colour: bool, budget: int):
    """Exact percentiles (as ``numpy.percentile``, linear method) of all values,
    per channel (last axis of the result) for colour frames.

    When all values fit in the budget, one pass collects them; otherwise each
    channel costs one pass per 16 bits of the data type.
    """
    first = next(iter(make_blocks()))[1]
    dtype = first.dtype
    n_channels = first.shape[-1] if colour else 1

    def channel_values(c):
        def gen():
            for _, block in make_blocks():
                yield block[..., c] if colour else block
        return gen

    # count the values and look for NaN in one pass (np.percentile gives NaN then)
    n_total, has_nan = 0, np.zeros(n_channels, bool)
    collected: list[list[np.ndarray]] | None = [[] for _ in range(n_channels)]
    held = 0
    for _, block in make_blocks():
        n_total += block.size // n_channels
        if dtype.kind == "f":
            nan_axes = tuple(range(block.ndim - 1)) if colour else None
            has_nan |= np.atleast_1d(np.isnan(block).any(axis=nan_axes))
        if collected is not None:
            held += block.nbytes
            if held > budget // 2:
                collected = None
            else:
                for c in range(n_channels):
                    collected[c].append(np.array(block[..., c] if colour else block))
    results = []
    for c in range(n_channels):
        if has_nan[c]:
            results.append(np.full(p.shape, np.nan))
        elif collected is not None:
            q = p.item() if p.ndim == 0 else p  # a Python float, as numpy treats a scalar q
            results.append(np.percentile(np.concatenate([v.ravel() for v in collected[c]]), q))
        else:
            gen = channel_values(c)
            results.append(_percentiles_from_ranks(lambda r, g=gen: _select(g, r, dtype), n_total, p))
    out = np.stack(results, axis=-1) if colour else results[0]
    return out[()] if out.ndim == 0 else out


# -- ROI traces -------------------------------------------------------------------

class RoiPlan:
    """Weighted means inside many ROIs, computed on the ROIs' bounding box only.

    ``weights`` are 2-D arrays over the frame (bool masks or weights in [0, 1]);
    each ROI's trace is ``sum(w * f) / sum(w)`` per frame.
    """

    def __init__(self, weights: list[np.ndarray], frame_shape: tuple[int, int]):
        union = np.zeros(frame_shape, bool)
        for w in weights:
            union |= w != 0
        rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        self.bbox = (slice(int(r0), int(r1), 1), slice(int(c0), int(c1), 1))
        # columns of the bbox-flattened frame that any ROI touches, and each ROI's weights there
        self.pixels = np.flatnonzero(union[self.bbox])
        mat = np.stack([np.asarray(w, np.float64)[self.bbox].ravel()[self.pixels] for w in weights])
        mat /= mat.sum(axis=1, keepdims=True)
        self.weights = scipy.sparse.csr_matrix(mat)
        self.n_rois = len(weights)

    def reduce(self, blocks: Blocks, n_frames: int) -> np.ndarray:
        out = None
        for start, block in blocks:
            n = len(block)
            flat = block.reshape(n, -1, *block.shape[3:])
            sub = np.take(flat, self.pixels, axis=1)  # (n, k[, c])
            if out is None:
                out = np.empty((self.n_rois, n_frames, *block.shape[3:]))
            if sub.ndim == 2:
                out[:, start:start + n] = self.weights @ sub.T.astype(np.float64)
            else:
                for c in range(sub.shape[2]):
                    out[:, start:start + n, c] = self.weights @ sub[:, :, c].T.astype(np.float64)
        return out
