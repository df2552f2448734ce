"""Estimating the shifts of every frame: one streaming pass on the block engine.

:class:`ShiftEstimation` is a :class:`~imfun.engine.reduce.Reduction`: ``map``
turns a block of frames into the shifts of its frames (bidi phase corrected,
FFTs vectorised over sub-blocks that fit the budget), ``combine`` keeps the
parts in order, ``finalize`` concatenates them.  It runs in threads here or as
block tasks on dask (``engine=``); the template travels once with the
reduction and each worker prepares its spectrum on first use.

Examples
--------
>>> import numpy as np
>>> from scipy import ndimage
>>> from imfun.fseq import FSeq_arr
>>> rng = np.random.default_rng(0)
>>> base = ndimage.gaussian_filter(rng.standard_normal((64, 64)), 1)
>>> truth = np.array([[0, 0], [1.5, -2.25], [-3, 0.5]])
>>> fs = FSeq_arr(np.stack([ndimage.shift(base, s, order=3, mode="nearest") for s in truth]))
>>> reg = register(fs, base, max_shift=6)
>>> np.round(reg.shifts, 1) + 0.0  # + 0.0: no negative zeros
array([[ 0. ,  0. ],
       [ 1.5, -2.2],
       [-3. ,  0.5]])
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import config
from ..engine.reduce import Reduction
from ..errors import InvalidArgumentError
from ..selection import fslice_positions
from .apply import bidi_correct, check_fill
from .phasecorr import Reference
from .piecewise import BlockReference, Grid, block_shape
from .template import check_finite, make_template


def default_max_shift(frame_shape) -> int:
    """10 % of the smaller side of the frame, at least 1 pixel."""
    return max(1, int(0.1 * min(frame_shape[:2])))


def check_max_shift(max_shift, frame_shape) -> int:
    if max_shift is None:
        return default_max_shift(frame_shape)
    if isinstance(max_shift, bool) or not isinstance(max_shift, numbers.Real) or not np.isfinite(max_shift) \
            or max_shift < 1:
        raise InvalidArgumentError(f"max_shift must be a number of pixels >= 1, got {max_shift!r}")
    limit = min(frame_shape[:2]) // 2
    if max_shift >= limit:
        raise InvalidArgumentError(
            f"max_shift={max_shift} is too large for frames of {tuple(frame_shape[:2])}: phase "
            f"correlation sees shifts below half the smaller side ({limit} pixels); use a smaller max_shift")
    return int(np.ceil(max_shift))


def nonrigid_radius(size: tuple[int, int]) -> int:
    """How far (pixels) a block's shift is searched around the rigid shift."""
    return max(3, min(size) // 16)


class ShiftEstimation(Reduction):
    """Shifts of each block's frames relative to a template (rigid, and per block when ``grid``)."""

    def __init__(self, template: np.ndarray, max_shift: int, bidi_phase: float = 0.0,
                 block_size: tuple[int, int] | None = None, budget=None):
        self.template = np.asarray(template, np.float32)
        self.max_shift, self.bidi_phase = int(max_shift), float(bidi_phase)
        self.block_size, self.budget = block_size, budget
        self._refs = None

    def __getstate__(self):  # the spectra are made again where the reduction runs
        state = dict(self.__dict__)
        state["_refs"] = None
        return state

    def _references(self):
        if self._refs is None:
            rigid = Reference(self.template, self.max_shift)
            blocks = None
            if self.block_size is not None:
                grid = Grid(self.template.shape, self.block_size)
                blocks = BlockReference(self.template, grid, nonrigid_radius(self.block_size))
            self._refs = (rigid, blocks)
        return self._refs

    def _chunk(self) -> int:
        """Frames estimated at once: their FFT temporaries take about an eighth of the budget."""
        h, w = self.template.shape
        factor = 24 if self.block_size is None else 64  # float32 bytes of temporaries per pixel
        return max(1, int(config.resolve_budget(self.budget) // 8 // (h * w * factor)))

    def map(self, start, block):
        check_finite(block, start)
        rigid, blocks = self._references()
        parts = {"shifts": [], "at_max": [], "peak": [], "block_shifts": [], "block_at_max": []}
        step = self._chunk()
        for a in range(0, len(block), step):
            frames = bidi_correct(block[a:a + step], self.bidi_phase)
            p = rigid.estimate(frames)
            parts["shifts"].append(p.shifts)
            parts["at_max"].append(p.at_max)
            parts["peak"].append(p.value)
            if blocks is not None:
                b, b_max = blocks.estimate(frames, p.shifts)
                parts["block_shifts"].append(b)
                parts["block_at_max"].append(b_max)
        # the per-frame results, and the sum of the raw frames (one image, whatever the length)
        return [(start, {k: np.concatenate(v) for k, v in parts.items() if v})], \
            block.sum(axis=0, dtype=np.float64)

    def combine(self, a, b):
        return a[0] + b[0], a[1] + b[1]

    def finalize(self, partial):
        parts = [p for _, p in sorted(partial[0], key=lambda x: x[0])]
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        out["mean"] = partial[1] / len(out["shifts"])
        return out


def register(fs, template=None, *, nonrigid=False, block_size=128, max_shift=None, bidi=None,
             fill="edge", fslice=None, order: int = 3, budget=None, engine=None):
    """Estimate the motion of a sequence and return the lazy registered sequence.

    See :meth:`imfun.registration.methods.RegistrationMixin.register` for the parameters.
    """
    from .reader import RegisteredReader, RegisteredSequence

    fill = check_fill(fill)
    if len(fs.frame_shape) != 2:
        raise InvalidArgumentError(
            f"registration works on 2-D frames, these are {fs.frame_shape}; register one channel "
            "(e.g. open it with ch=) and apply its shifts to the others with apply_shifts")
    src = fs if fslice is None else fs._subsequence(fslice_positions(fslice, len(fs)))
    if len(src) < 2:
        raise InvalidArgumentError(
            f"registration needs at least 2 frames, the sequence has {len(src)}")
    shape = src.frame_shape
    max_shift = check_max_shift(max_shift, shape)
    size = block_shape(block_size, shape) if nonrigid else None
    tmpl, phase = make_template(src, template, max_shift, bidi, budget)
    est = src._reduce(ShiftEstimation(tmpl, max_shift, phase, size, budget), None, None, budget,
                      "register", engine)
    reader = RegisteredReader(src, est["shifts"], est.get("block_shifts"), size, phase, fill, order, budget)
    at_max = est["at_max"] if size is None else est["at_max"] | est["block_at_max"].any(axis=(1, 2))
    info = {"max_shift": max_shift, "mean_before": est["mean"], "at_max": at_max, "peak": est["peak"]}
    return RegisteredSequence(reader, tmpl, info)


def apply_shifts(fs, shifts, *, block_shifts=None, block_size=None, bidi_phase=0.0, fill="edge",
                 order: int = 3, budget=None):
    """A lazy sequence of ``fs`` moved back by given shifts (see ``RegistrationMixin.apply_shifts``)."""
    from .io import Shifts
    from .reader import RegisteredReader, RegisteredSequence

    if isinstance(shifts, RegisteredSequence):
        shifts = Shifts.of(shifts)
    if isinstance(shifts, Shifts):
        return RegisteredSequence(
            RegisteredReader(fs, shifts.shifts, shifts.block_shifts, shifts.block_size, shifts.bidi_phase,
                             fill, order, budget), shifts.template)
    return RegisteredSequence(RegisteredReader(fs, shifts, block_shifts, block_size, bidi_phase, fill,
                                               order, budget))
