"""Reductions over blocks of frames ``(n, rows, cols[, c])``, in map/combine form.

A :class:`Reduction` turns one block into a small partial result (``map``),
merges two partials (``combine``, associative) and turns the last one into the
answer (``finalize``).  ``FrameSequence._reduce`` maps blocks in threads of
one process and combines them in order; the dask engine (:mod:`imfun.dist`)
maps blocks in workers and combines the partials in a tree.  Partials are
per-pixel or per-ROI accumulators, so memory does not grow with the number of
frames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..selection import unique_sorted


class Reduction:
    """Base class: ``map`` a block, ``combine`` two partials, ``finalize`` the last.

    ``read`` fetches what ``map`` gets for a run of positions (the frames, cropped); a
    reduction that needs several small parts of each frame overrides it.  ``work_itemsize``
    is the bytes a value of the block that ``map`` needs for its work (a float64 copy: 8;
    0 for work that reads the block as it is), for sizing blocks; ``frames_multiple`` makes
    every block start at a multiple of that many selected frames (on every executor).
    """

    work_itemsize = 8
    frames_multiple = 1  # blocks start at multiples of this many selected frames

    def read(self, seq, positions: np.ndarray, crop):
        return seq._read_positions(positions, crop)

    def values_per_frame(self, seq, crop) -> int | None:
        """How many values of each frame :meth:`read` fetches, if fewer than the crop holds
        (the engine sizes blocks by it); None: the whole crop."""
        return None

    def map(self, start: int, block: np.ndarray) -> Any:
        raise NotImplementedError

    def combine(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def finalize(self, partial: Any) -> Any:
        return partial


class Mean(Reduction):
    """Per-pixel mean over frames (divides by N), in float64."""

    work_itemsize = 0  # numpy sums in float64 through small buffers, without a copy of the block

    def map(self, start, block):
        return block.sum(axis=0, dtype=np.float64), len(block)

    def combine(self, a, b):
        return a[0] + b[0], a[1] + b[1]

    def finalize(self, partial):
        return partial[0] / partial[1]


class Extreme(Reduction):
    """Per-pixel maximum (``np.maximum``) or minimum (``np.minimum``) over frames."""

    work_itemsize = 0

    def __init__(self, op: np.ufunc):
        self.op = op

    def map(self, start, block):
        return self.op.reduce(block, axis=0)

    def combine(self, a, b):
        return self.op(a, b)


class Std(Reduction):
    """Standard deviation (divides by N): a per-pixel projection (``axis=0``) or
    of all values (``axis=None``, per channel for colour frames).

    Partials are (count, per-pixel mean, per-pixel sum of squared deviations),
    merged with Chan's formula, which keeps precision for large offsets.
    """

    work_itemsize = 0  # frame by frame in float64: no copy of the block

    def __init__(self, axis, colour: bool):
        self.axis, self.colour = axis, colour

    def map(self, start, block):
        m = block.mean(axis=0, dtype=np.float64)
        q, dev = np.zeros_like(m), np.empty_like(m)
        for frame in block:  # one frame's deviations at a time: they stay in the cache
            np.subtract(frame, m, out=dev)
            np.multiply(dev, dev, out=dev)
            q += dev
        return len(block), m, q

    def combine(self, a, b):
        (na, ma, qa), (nb, mb, qb) = a, b
        n = na + nb
        delta = mb - ma
        return n, ma + delta * (nb / n), qa + qb + delta**2 * (na * nb / n)

    def finalize(self, partial):
        n, m, q = partial
        if self.axis == 0:
            return np.sqrt(q / n)
        # all values: the per-pixel groups combined exactly
        pix_axes = (0, 1) if self.colour else None
        grand = m.mean(axis=pix_axes)
        n_pix = m.shape[0] * m.shape[1]
        total = q.sum(axis=pix_axes) + n * ((m - grand) ** 2).sum(axis=pix_axes)
        return np.sqrt(total / (n * n_pix))


class Range(Reduction):
    """``(min, max)`` of all values, or a ``(channels, 2)`` array for colour frames."""

    work_itemsize = 0

    def __init__(self, colour: bool):
        self.colour = colour

    def map(self, start, block):
        axes = tuple(range(block.ndim - 1)) if self.colour else None
        return block.min(axis=axes), block.max(axis=axes)

    def combine(self, a, b):
        return np.minimum(a[0], b[0]), np.maximum(a[1], b[1])

    def finalize(self, partial):
        lo, hi = partial
        if self.colour:
            return np.stack([lo, hi], axis=1)
        return lo.item(), hi.item()


# -- exact percentiles ------------------------------------------------------------
#
# Values are mapped to unsigned integer keys whose order is the order of the
# values (floats: the sign-flip trick on their bits).  The value of rank k is
# found by radix selection, 16 bits of the key per pass, with histograms of
# 65536 counts: one pass over the data for 8- and 16-bit types (for uint16 that
# is exactly a histogram), two for 32-bit, four for 64-bit.  Exact, and the
# memory it needs does not depend on the data's size.

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
        return np.where((u & top).astype(bool), ~u, u | top)
    raise InvalidArgumentError(f"percentiles of {values.dtype} data are not supported")


def _from_key(key: int, dtype: np.dtype):
    dtype = np.dtype(dtype)
    udt = _KEY_DTYPES[dtype.itemsize]
    k = udt(key)
    top = udt(1) << udt(8 * dtype.itemsize - 1)
    if dtype.kind in "ub":
        raw = k
    elif dtype.kind == "i":
        raw = k ^ top
    else:
        raw = k & ~top if k & top else ~k
    return np.array([raw], udt).view(dtype)[0]


class RadixPass(Reduction):
    """One pass of radix selection: for each (channel, key prefix) wanted, a
    histogram of the next ``digit_bits`` bits of the keys that share the prefix;
    also counts NaN values per channel."""

    def __init__(self, prefixes: dict[int, set[int]], shift: int, digit_bits: int, nbits: int,
                 colour: bool):
        self.prefixes, self.shift, self.digit_bits = prefixes, shift, digit_bits
        self.nbits, self.colour = nbits, colour

    def map(self, start, block):
        out = {}
        nans = {}
        for c, prefixes in self.prefixes.items():
            values = (block[..., c] if self.colour else block).ravel()
            nans[c] = int(np.isnan(values).sum()) if values.dtype.kind == "f" else 0
            keys = _to_keys(values)
            kt = keys.dtype.type
            high_shift = self.shift + self.digit_bits
            high = keys >> kt(high_shift) if high_shift < self.nbits else None
            for p in prefixes:
                sel = keys if high is None else keys[high == kt(p)]
                # the keys themselves are the digits when one pass takes all their bits (16-bit data)
                digits = sel if self.shift == 0 and high is None else \
                    (sel >> kt(self.shift)) & kt((1 << self.digit_bits) - 1)
                if digits.dtype.itemsize >= 8:  # bincount takes up to 32-bit unsigned ints as they are
                    digits = digits.astype(np.intp)
                out[c, p] = np.bincount(digits, minlength=1 << self.digit_bits)
        return out, nans

    def combine(self, a, b):
        return ({k: a[0][k] + b[0][k] for k in a[0]}, {c: a[1][c] + b[1][c] for c in a[1]})


def select_ranks(run: Callable[[Reduction], Any], ranks: np.ndarray, dtype: np.dtype,
                 n_channels: int, colour: bool) -> tuple[np.ndarray, np.ndarray]:
    """Values of the given ranks (0-based, sorted order) per channel, by radix selection.

    Returns ``(values[channel, rank], nan_count[channel])``.
    """
    nbits = 8 * np.dtype(dtype).itemsize
    digit_bits = min(RADIX_BITS, nbits)
    prefix = np.zeros((n_channels, len(ranks)), dtype=object)
    below = np.zeros((n_channels, len(ranks)), dtype=np.int64)
    nan_count = np.zeros(n_channels, np.int64)
    for i, shift in enumerate(range(nbits - digit_bits, -1, -digit_bits)):
        wanted = {c: {int(p) for p in prefix[c]} for c in range(n_channels)}
        hists, nans = run(RadixPass(wanted, shift, digit_bits, nbits, colour))
        if i == 0:
            nan_count[:] = [nans[c] for c in range(n_channels)]
        for c in range(n_channels):
            for j, r in enumerate(ranks):
                cum = np.cumsum(hists[c, int(prefix[c, j])])
                d = int(np.searchsorted(cum, r - below[c, j], side="right"))
                below[c, j] += int(cum[d - 1]) if d > 0 else 0
                prefix[c, j] = (int(prefix[c, j]) << digit_bits) | d
    values = np.array([[_from_key(int(k), dtype) for k in row] for row in prefix], dtype=dtype)
    return values, nan_count


def _lerp(a, b, t):
    # numpy's own interpolation formula, so results equal np.percentile bit for bit
    diff_b_a = b - a
    out = np.add(a, diff_b_a * t)
    np.subtract(b, diff_b_a * (1 - t), out=out, where=np.asarray(t >= 0.5), casting="unsafe",
                dtype=type(out.dtype))
    return out


def percentile(run: Callable[[Reduction], Any], p: np.ndarray, dtype: np.dtype, n_values: int,
               n_channels: int, colour: bool):
    """Exact percentiles (as ``numpy.percentile``, linear method) of ``n_values``
    values per channel; the channel is the last axis of the result for colour."""
    q = np.true_divide(p, 100).ravel()
    virtual = (n_values - 1) * q  # numpy's "linear" method
    prev = np.clip(np.floor(virtual).astype(np.intp), 0, n_values - 1)
    nxt = np.clip(prev + 1, 0, n_values - 1)
    gamma = np.asanyarray(virtual - np.floor(virtual))
    if p.ndim == 0:  # numpy treats a scalar q as a weak Python float: float32 data stays float32
        gamma = float(gamma[0])
    ranks = unique_sorted(np.concatenate([prev, nxt]))
    values, nans = select_ranks(run, ranks, dtype, n_channels, colour)
    pos = {int(r): i for i, r in enumerate(ranks)}
    results = []
    for c in range(n_channels):
        if nans[c]:
            results.append(np.full(p.shape, np.nan))
            continue
        a = values[c, [pos[int(r)] for r in prev]]
        b = values[c, [pos[int(r)] for r in nxt]]
        results.append(_lerp(a, b, gamma).reshape(p.shape))
    out = np.stack(results, axis=-1) if colour else results[0]
    return out[()] if out.ndim == 0 else out


# -- ROI traces -------------------------------------------------------------------

class _RoiGroup:
    """Nearby ROIs read as one box: the box (relative to the bbox), the ROIs, and each ROI's
    pixels and weights in the box laid end to end (a sparse matrix in plain numpy: no scipy)."""

    __slots__ = ("cols", "members", "rel", "starts", "vals")

    def __init__(self, box, rel, members: list[int], weights: list[np.ndarray]):
        self.rel, self.members = rel, np.asarray(members)
        cols, vals = [], []
        for i in members:
            w = np.asarray(weights[i])[box].astype(np.float64).ravel()  # the box only: fast
            idx = np.flatnonzero(w)
            cols.append(idx)
            vals.append(w[idx] / w[idx].sum())
        self.cols, self.vals = np.concatenate(cols), np.concatenate(vals)
        self.starts = np.cumsum([0] + [len(c) for c in cols[:-1]])  # each ROI's first laid-out pixel

    def traces(self, part: np.ndarray) -> np.ndarray:
        """The ROIs' traces ``(rois, n[, c])`` from the group's box of a block ``(n, h, w[, c])``.

        Runs of frames go through buffers made once (about a MiB): a block that is a view of
        a memory map is copied a run at a time, and no block-sized temporaries are made (each
        would cost its first-touch page faults)."""
        n, (h, w), extra = len(part), part.shape[1:3], part.shape[3:]
        channels = int(np.prod(extra))
        step = max(16, min(n, RUN_BYTES // (8 * len(self.cols) * channels)))
        box = np.empty((step, h, w, *extra), part.dtype) if not part.flags.c_contiguous else None
        picked = np.empty((step, len(self.cols), *extra), part.dtype)
        weighted = np.empty(picked.shape, np.float64)
        vals = self.vals[:, None] if extra else self.vals
        out = np.empty((n, len(self.members), *extra))
        for start in range(0, n, step):
            m = min(step, n - start)
            run = part[start:start + m]
            if not run.flags.c_contiguous:  # a crop of a memory map, say: copied a run at a time
                box[:m] = run
                run = box[:m]
            np.take(run.reshape(m, h * w, *extra), self.cols, axis=1, out=picked[:m])
            np.multiply(picked[:m], vals, out=weighted[:m])  # converts as it multiplies
            # each ROI's weighted sum: a sum over its stretch of the laid-out pixels
            np.add.reduceat(weighted[:m], self.starts, axis=1, out=out[start:start + m])
        return np.moveaxis(out, 1, 0)


RUN_BYTES = 2**20  # the float64 buffer of a run of frames (fits the caches; its pages are touched once)


class RoiTraces(Reduction):
    """Weighted means inside many ROIs, reading only the pixels near them.

    ``weights`` are 2-D arrays over the frame (bool masks or weights in [0, 1]);
    each ROI's trace is ``sum(w * f) / sum(w)`` per frame.  Read blocks with
    ``crop=self.bbox`` (the box around every ROI).  When the reader crops cheaply
    (memory maps, chunked stores) and the ROIs are scattered, :meth:`read` reads the
    boxes of groups of nearby ROIs instead, so far fewer pixels are touched.
    """

    def __init__(self, weights: list[np.ndarray]):
        self.n_rois = len(weights)
        boxes = [_box(w if w.dtype == bool else w != 0) for w in map(np.asarray, weights)]
        self.bbox = functools.reduce(_union, boxes)
        self.groups = [
            _RoiGroup(box, tuple(slice(b.start - o.start, b.stop - o.start, 1)
                                 for b, o in zip(box, self.bbox, strict=True)), members, weights)
            for box, members in _grouped_boxes(boxes, self.bbox)]

    def _grouped(self, seq, crop) -> bool:
        return len(self.groups) > 1 and crop == self.bbox and seq.reader.cheap_crop and not seq.fns

    def values_per_frame(self, seq, crop):
        if not self._grouped(seq, crop):
            return None
        channels = int(np.prod(seq.frame_shape[2:]))
        return channels * sum(_area(g.rel) for g in self.groups)

    def read(self, seq, positions, crop):
        if not self._grouped(seq, crop):
            return seq._read_positions(positions, crop)
        from ..selection import compose_crops

        return [seq._read_positions(positions, compose_crops(crop, g.rel)) for g in self.groups]

    def map(self, start, block):
        parts = block if isinstance(block, list) else \
            [block[(slice(None), *g.rel)] for g in self.groups]
        first = parts[0]
        out = np.empty((self.n_rois, len(first), *first.shape[3:]), np.float64)
        for part, group in zip(parts, self.groups, strict=True):
            out[group.members] = group.traces(part)
        return [(start, out)]

    def combine(self, a, b):
        return a + b

    def finalize(self, partial):
        partial.sort(key=lambda item: item[0])
        return np.concatenate([traces for _, traces in partial], axis=1)


def _box(mask: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of a mask's true pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (slice(int(rows[0]), int(rows[-1]) + 1, 1), slice(int(cols[0]), int(cols[-1]) + 1, 1))


def _area(box) -> int:
    return (box[0].stop - box[0].start) * (box[1].stop - box[1].start)


def _union(a, b):
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop), 1) for x, y in zip(a, b, strict=True))


def _grouped_boxes(boxes: list, whole) -> list[tuple[tuple[slice, slice], list[int]]]:
    """ROIs grouped so that each group's box holds few pixels that no ROI of the group needs:
    two groups merge while their joint box is at most twice their own areas.  One group (the
    box around everything) when that is hardly larger than the groups' boxes together."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][0].start, boxes[i][1].start))
    groups = [(boxes[i], [i]) for i in order]
    while True:  # sweeps over neighbours in reading order, until no two merge
        out: list = []
        for box, members in groups:
            if out:
                joint = _union(out[-1][0], box)
                if _area(joint) <= 2 * (_area(out[-1][0]) + _area(box)):
                    out[-1] = (joint, out[-1][1] + members)
                    continue
            out.append((box, members))
        if len(out) == len(groups):
            break
        groups = out
    if sum(_area(b) for b, _ in groups) * 2 >= _area(whole):
        return [(whole, [i for _, members in groups for i in members])]
    return groups
