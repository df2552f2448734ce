"""The template (reference image) of a registration.

``template=None`` estimates it from a sample of frames spread evenly over the
recording: the frame whose strongest correlations with the other sampled
frames are highest is chosen with its best-correlated partners (a quarter of
the sample), they are averaged, and the average is refined ``n_iter`` times by
registering the sample to it (rigidly) and averaging the better-correlated
half of the registered frames; it is then moved to the sample's median
position, so the shifts are centred on 0.  A 2-D array is used as given; a frame slice
(``fslice`` form: an int, a tuple, a ``slice``) is averaged.

With ``bidi='auto'`` the line-scan phase is estimated once from the raw
template candidate (the first average of the sample, the sliced mean, or the array)
and every frame, the template included, is corrected before registration.

Examples
--------
>>> import numpy as np
>>> from imfun.fseq import FSeq_arr
>>> from imfun.synthdata import two_photon_movie
>>> fs = FSeq_arr(two_photon_movie(n_frames=20, shape=(48, 48), n_cells=3, seed=2).movie)
>>> t, phase = make_template(fs, None, max_shift=4, bidi=None)
>>> t.shape, phase
((48, 48), 0.0)
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import config
from ..engine.blocks import default_workers
from ..errors import InvalidArgumentError, ShapeMismatchError
from .apply import bidi_correct, shift_rigid
from .phasecorr import Reference, bidi_offset

N_SAMPLE = 64  # frames sampled for an estimated template (fewer when the budget is small)
N_ITER = 3


def check_finite(block: np.ndarray, first: int = 0, positions: np.ndarray | None = None) -> None:
    """An error naming the first frame that holds NaN or infinity (``first + i``, or
    ``positions[i]`` for a sample of frames)."""
    bad = ~np.isfinite(block.reshape(len(block), -1).sum(axis=1, dtype=np.float64))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        k = int(positions[i]) if positions is not None else first + i
        raise InvalidArgumentError(
            f"frame {k} holds NaN or infinite values; registration needs finite frames "
            "(replace them first, e.g. with np.nan_to_num in fs.fns)")


def _sample_positions(n: int, frame_nbytes: int, budget: int) -> np.ndarray:
    k = int(min(n, N_SAMPLE, max(8, budget // max(8 * frame_nbytes, 1))))
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.intp))


def _zscored(frames: np.ndarray) -> np.ndarray:
    z = frames.reshape(len(frames), -1).astype(np.float32)
    z -= z.mean(axis=1, keepdims=True)
    z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-12
    return z


def _corr(x: np.ndarray, t: np.ndarray) -> float:
    ok = np.isfinite(x)
    if not ok.all():
        x, t = x[ok], t[ok]
    if len(x) < 2:
        return 0.0
    x = x - x.mean()
    t = t - t.mean()
    # einsum, not BLAS: BLAS threads inside the engine's threads oversubscribe the cores
    den = np.sqrt(np.einsum("i,i->", x, x) * np.einsum("i,i->", t, t))
    return float(np.einsum("i,i->", x, t) / den) if den > 0 else 0.0


def correlations(frames: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Pearson correlation of each frame ``(n, H, W)`` with a template (NaN pixels left out)."""
    t = np.asarray(template, np.float64).ravel()
    # one frame at a time: temporaries of one frame, whatever the block
    return np.array([_corr(np.asarray(f, np.float64).ravel(), t) for f in frames])


def initial_template(sample: np.ndarray) -> np.ndarray:
    """Mean of the most mutually correlated frames of a sample (the best frame and its partners)."""
    if len(sample) <= 2:
        return sample.mean(axis=0)
    # 2 x 2 binned frames are enough to compare frames
    h, w = (sample.shape[1] // 2) * 2, (sample.shape[2] // 2) * 2
    small = sample[:, :h, :w].reshape(len(sample), h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    z = _zscored(small)
    c = z @ z.T
    np.fill_diagonal(c, -np.inf)
    m = max(1, len(sample) // 4)
    best = np.sort(c, axis=1)[:, -m:]
    i = int(np.argmax(best.mean(axis=1)))
    members = np.concatenate([[i], np.argsort(c[i])[-m:]])
    return sample[members].mean(axis=0)


def refine(sample: np.ndarray, template: np.ndarray, max_shift: int, n_iter: int = N_ITER,
           budget: int | None = None) -> np.ndarray:
    """Register the sample to the template and average its better-correlated half, ``n_iter`` times
    (FFTs in chunks whose temporaries take about a quarter of the ``budget``); then move the
    template to the sample's median position, so shifts are centred on 0 and ``max_shift``
    reaches as far both ways."""
    frame_nbytes = sample[0].size * 4
    step = max(1, int(config.resolve_budget(budget) // 4 // (24 * frame_nbytes // 4)))
    registered = np.empty(sample.shape, np.float32)
    shifts = np.zeros((len(sample), 2))
    for _ in range(n_iter):
        ref = Reference(template, max_shift)
        for a in range(0, len(sample), step):
            part = sample[a:a + step]
            # this runs alone (not in the engine's threads): FFTs on every core
            shifts[a:a + step] = ref.estimate(part, workers=default_workers()).shifts
            registered[a:a + step] = shift_rigid(part, shifts[a:a + step])
        corr = correlations(registered, template)
        keep = np.argsort(corr)[len(corr) // 2:] if len(corr) > 3 else np.arange(len(corr))
        template = registered[keep].mean(axis=0)
    # the content of the new template sits where the old one's was: the median frame is at
    # `median` from it
    median = np.median(shifts, axis=0)
    return shift_rigid(template[None], -median[None])[0]


def _bidi_phase(bidi, raw: np.ndarray) -> float:
    if bidi is None:
        return 0.0
    if isinstance(bidi, str):
        if bidi != "auto":
            raise InvalidArgumentError(f"bidi must be None, 'auto' or a number of pixels, got {bidi!r}")
        return bidi_offset(raw)
    if isinstance(bidi, numbers.Real) and not isinstance(bidi, bool) and np.isfinite(bidi):
        if abs(bidi) >= raw.shape[1] // 4:
            raise InvalidArgumentError(f"bidi={bidi} pixels is too large for frames {raw.shape[1]} wide")
        return float(bidi)
    raise InvalidArgumentError(f"bidi must be None, 'auto' or a number of pixels, got {bidi!r}")


def make_template(fs, template, max_shift: int, bidi=None, budget=None) -> tuple[np.ndarray, float]:
    """The template (float32, bidi-corrected) and the line-scan phase of a sequence."""
    shape = fs.frame_shape[:2]
    if isinstance(template, list | np.ndarray) and np.ndim(template) == 2:
        t = np.asarray(template, np.float64)
        if t.shape != shape:
            raise ShapeMismatchError(f"the template has shape {t.shape} but the frames are {shape}")
        if not np.all(np.isfinite(t)):
            raise InvalidArgumentError("the template holds NaN or infinite values")
        phase = _bidi_phase(bidi, t)
        return bidi_correct(t[None], phase)[0], phase
    if template is not None:
        if isinstance(template, np.ndarray) and template.ndim != 1:
            raise ShapeMismatchError(
                f"a template array must be 2-D {shape}, got shape {template.shape}")
        t = fs.mean_frame(template, budget=budget)
        check_finite(t[None])
        phase = _bidi_phase(bidi, t)
        return bidi_correct(t[None], phase)[0], phase
    budget_b = config.resolve_budget(budget)
    positions = _sample_positions(len(fs), shape[0] * shape[1] * 4, budget_b)
    sample = np.asarray(fs._read_positions(positions, None), np.float32)
    check_finite(sample, positions=positions)
    first = initial_template(sample)  # sharper than the sample's mean when the frames move
    phase = _bidi_phase(bidi, first)
    if phase:
        sample = bidi_correct(sample, phase)
        first = bidi_correct(first[None], phase)[0]
    return refine(sample, first, max_shift, budget=budget).astype(np.float32), phase
