"""The lazy registered sequence: a derived reader that applies shifts when frames are read.

``RegisteredReader(parent, shifts, ...)`` reads the parent's frames (only the
rows and columns a crop needs, plus a margin as wide as the largest shift),
corrects the line-scan phase, and moves each frame back by its rigid shift or
its smooth piecewise-rigid field (:mod:`imfun.registration.apply`).  Frames are
float32.  :class:`RegisteredSequence` is the ``FrameSequence`` around it, with
what was estimated as attributes; writers, projections, ROI traces, ``dfof``
and ``to_dask`` treat it as any other sequence.

Examples
--------
>>> import numpy as np
>>> from imfun.fseq import FSeq_arr
>>> fs = FSeq_arr(np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5))
>>> reg = fs.apply_shifts(np.array([[0.0, 0.0], [0.0, 1.0]]), fill=-1)
>>> reg[1]
array([[21., 22., 23., 24., -1.],
       [26., 27., 28., 29., -1.],
       [31., 32., 33., 34., -1.],
       [36., 37., 38., 39., -1.]], dtype=float32)
>>> reg.shifts.shape, reg.dtype
((2, 2), dtype('float32'))
"""

from __future__ import annotations

import numpy as np

from ..analysis.transforms import DerivedReader, sub_runs
from ..errors import InvalidArgumentError, ShapeMismatchError
from ..fseq.sequence import FrameSequence
from ..selection import as_range
from .apply import bidi_correct, check_fill, shift_rigid, warp
from .piecewise import Grid, frame_field

MARGIN = 3  # pixels read beyond the sources a crop needs (interpolation neighbours)


def check_shifts(shifts, n: int, what: str = "shifts") -> np.ndarray:
    s = np.asarray(shifts, dtype=float)
    if s.ndim != 2 or s.shape[1] != 2:
        raise ShapeMismatchError(f"{what} must be an (n_frames, 2) array of (dy, dx), got shape {s.shape}")
    if len(s) != n:
        raise ShapeMismatchError(f"{what} are given for {len(s)} frames but the sequence has {n}")
    if not np.all(np.isfinite(s)):
        raise InvalidArgumentError(f"{what} hold NaN or infinite values")
    return s


def _local(r: range, start: int):
    """Indices of a range relative to ``start``: a slice when it goes forward (no copy)."""
    if r.step > 0:
        return slice(r[0] - start, r[-1] - start + 1, r.step)
    return np.asarray(r) - start


class RegisteredReader(DerivedReader):
    """Frames of ``parent`` moved back by ``shifts`` (n, 2) or by the smooth field of
    ``block_shifts`` (n, nby, nbx, 2) of blocks of ``block_size``, after correcting the
    line-scan phase ``bidi_phase``; pixels from outside the frame become ``fill``."""

    def __init__(self, parent: FrameSequence, shifts, block_shifts=None, block_size=None,
                 bidi_phase: float = 0.0, fill="edge", order: int = 3, budget=None):
        self._init_parent(parent, "registered", budget)
        if len(parent.frame_shape) != 2:
            raise InvalidArgumentError(
                f"registration works on 2-D frames, these are {parent.frame_shape}; register one "
                "channel (e.g. open it with ch=) and apply its shifts to the others")
        if order not in (1, 3):
            raise InvalidArgumentError(f"order must be 1 (bilinear) or 3 (cubic), got {order!r}")
        self.shifts = check_shifts(shifts, len(parent))
        self.fill, self.order, self.bidi_phase = check_fill(fill), int(order), float(bidi_phase)
        self.grid = None
        self.block_shifts = None
        if block_shifts is not None:
            self.grid = Grid(parent.frame_shape[:2], tuple(block_size))
            b = np.asarray(block_shifts, float)
            if b.shape != (len(parent), *self.grid.n_blocks, 2):
                raise ShapeMismatchError(
                    f"block shifts of shape {b.shape} do not fit {len(parent)} frames with blocks of "
                    f"{tuple(block_size)} ({self.grid.n_blocks} blocks); expected "
                    f"{(len(parent), *self.grid.n_blocks, 2)}")
            self.block_shifts = b
        self.shape = (len(parent), *parent.frame_shape[:2])
        self.dtype = np.dtype(np.float32)
        self.metadata["registration"] = {"rigid": block_shifts is None, "bidi_phase": self.bidi_phase,
                                         "fill": self.fill}

    def _reach(self, frames: np.ndarray) -> tuple[int, int]:
        """How far (rows, cols) the sources of these frames' outputs lie from them."""
        s = self.shifts[frames] if self.block_shifts is None else self.block_shifts[frames].reshape(-1, 2)
        ry, rx = np.ceil(np.abs(s).max(axis=0)).astype(int)
        # the spline prefilter of a warp: a neighbour's influence decays by 0.27 a pixel
        pad = 12 if self.order == 3 and self.block_shifts is not None else 0
        bidi = int(np.ceil(abs(self.bidi_phase))) + 1 if self.bidi_phase else 0
        return int(ry) + MARGIN + pad, int(rx) + MARGIN + pad + bidi

    def _read(self, frames, crop):
        h, w = self.shape[1:3]
        rows, cols = (range(h), range(w)) if crop is None else (as_range(crop[0]), as_range(crop[1]))
        r0, r1 = min(rows[0], rows[-1]), max(rows[0], rows[-1]) + 1
        c0, c1 = min(cols[0], cols[-1]), max(cols[0], cols[-1]) + 1
        frame_nbytes = (r1 - r0 + 2 * 16) * (c1 - c0 + 2 * 16) * 4 * 6
        parts = sub_runs(len(frames), frame_nbytes, self._budget())
        whole = len(rows) == r1 - r0 and len(cols) == c1 - c0 and rows.step > 0 and cols.step > 0
        if len(parts) == 1 and whole:  # the usual engine block: no copy
            return self._register(frames, (r0, r1), (c0, c1))
        out = np.empty((len(frames), len(rows), len(cols)), np.float32)
        for a, b in parts:
            res = self._register(frames[a:b], (r0, r1), (c0, c1))
            out[a:b] = res[:, _local(rows, r0)][:, :, _local(cols, c0)]
        return out

    def _register(self, frames: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        h, w = self.shape[1:3]
        my, mx = self._reach(frames)
        y0, y1 = max(0, rows[0] - my), min(h, rows[1] + my)
        x0, x1 = max(0, cols[0] - mx), min(w, cols[1] + mx)
        window = (slice(y0, y1, 1), slice(x0, x1, 1))
        whole = (y0, y1, x0, x1) == (0, h, 0, w)
        block = self.parent._read_positions(frames, None if whole else window)
        block = bidi_correct(block, self.bidi_phase, row0=y0, offset_x=x0, width=w)
        kw = {"fill": self.fill, "order": self.order, "offset": (y0, x0), "frame_shape": (h, w),
              "out_rows": rows, "out_cols": cols}
        if self.block_shifts is None:
            return shift_rigid(block, self.shifts[frames], **kw)
        weights, shifts = self.grid.weights(rows, cols), self.block_shifts[frames]
        return warp(block, lambda k: frame_field(shifts[k], *weights), **kw)


class RegisteredSequence(FrameSequence):
    """A registered sequence (lazy): its frames are the parent's, moved back by the shifts.

    Attributes
    ----------
    shifts : numpy.ndarray
        ``(n_frames, 2)`` rigid ``(dy, dx)`` in pixels: how far each frame's content is displaced
        relative to the template.
    block_shifts, block_centers : numpy.ndarray or None
        ``(n_frames, nby, nbx, 2)`` piecewise-rigid shifts at the block centres
        ``(nby, nbx, 2)`` (pixel coordinates); None for rigid registration.
    template : numpy.ndarray or None
        The 2-D reference image (None when the shifts were given).
    bidi_phase : float
        The line-scan phase corrected before registration (0 when off).
    """

    def __init__(self, reader: RegisteredReader, template=None, info: dict | None = None):
        super().__init__(reader)
        self.template = None if template is None else np.asarray(template, np.float32)
        self._info = dict(info or {})
        self._metrics: dict | None = None

    def _positions(self) -> np.ndarray:
        return self.source_frames(np.arange(len(self)))

    @property
    def shifts(self) -> np.ndarray:
        return self.reader.shifts[self._positions()]

    @property
    def block_shifts(self) -> np.ndarray | None:
        b = self.reader.block_shifts
        return None if b is None else b[self._positions()]

    @property
    def block_centers(self) -> np.ndarray | None:
        return None if self.reader.grid is None else self.reader.grid.centers.copy()

    @property
    def block_size(self) -> tuple[int, int] | None:
        return None if self.reader.grid is None else self.reader.grid.size

    @property
    def bidi_phase(self) -> float:
        return self.reader.bidi_phase

    @property
    def max_shift(self) -> int | None:
        return self._info.get("max_shift")

    def metrics(self, budget=None, engine=None) -> dict:
        """Quality of the registration (two passes over the frames the first time, then cached).

        Returns
        -------
        dict
            ``crispness_before`` / ``crispness_after``: the norm of the gradient of the mean image
            of the raw and the registered frames, inside the border that the largest shift can
            reach; ``corr_with_template`` (n_frames,): Pearson correlation of each registered frame
            with the template (NaN-filled pixels ignored); ``frames_at_max_shift``: frames whose
            estimated shift reached ``max_shift``; ``max_shift``; ``bidi_phase``; ``mean_before``
            and ``mean_after``, the two mean images.
        """
        from .metrics import compute_metrics

        # sub-sequences and crops share this object's attributes: the cache knows what it is of
        key = (None if self._frames is None else self._frames.tobytes(), self._crop)
        if self._metrics is None or self._metrics[0] != key:
            self._metrics = (key, compute_metrics(self, budget, engine))
        return dict(self._metrics[1])

    def save_shifts(self, path, overwrite: bool = False) -> str:
        """Save the shifts (and block shifts, centres, bidi phase, template) as ``.npz`` or ``.csv``;
        :func:`imfun.registration.load_shifts` reads them back."""
        from .io import save_shifts

        return save_shifts(path, self, overwrite)
