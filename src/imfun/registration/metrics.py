"""Quality of a registration: crispness of the mean image and correlation with the template.

Examples
--------
>>> import numpy as np
>>> crispness(np.zeros((8, 8)))
0.0
"""

from __future__ import annotations

import numpy as np

from ..engine.reduce import Reduction
from .template import correlations


def shift_rmse(estimated: np.ndarray, truth: np.ndarray) -> float:
    """RMSE in pixels of estimated shifts against known ones, after removing the median error
    over frames (axis 0): the template's own offset (for piecewise shifts, each block's).

    >>> shift_rmse(np.array([[1.0, 2.0], [1.5, 2.0]]) + 3, np.array([[1.0, 2.0], [1.5, 2.0]]))
    0.0
    """
    err = np.asarray(estimated, float) - np.asarray(truth, float)
    err = err - np.median(err, axis=0)
    return float(np.sqrt((err**2).mean()))


def crispness(mean_image: np.ndarray, border: int = 0) -> float:
    """The norm of the gradient of an image (``np.gradient``), ``border`` pixels left out at each edge."""
    img = np.asarray(mean_image, np.float64)
    if border:
        img = img[border:img.shape[0] - border, border:img.shape[1] - border]
    if min(img.shape) < 2:
        return 0.0
    gy, gx = np.gradient(img)
    return float(np.sqrt(np.nansum(gy * gy + gx * gx)))


class MeanAndCorrelation(Reduction):
    """The mean image (NaNs ignored) and each frame's correlation with a template, in one pass."""

    def __init__(self, template: np.ndarray):
        self.template = template

    def map(self, start, block):
        ok = np.isfinite(block)
        return (np.where(ok, block, 0).sum(axis=0, dtype=np.float64), ok.sum(axis=0),
                [(start, correlations(block, self.template))])

    def combine(self, a, b):
        return a[0] + b[0], a[1] + b[1], a[2] + b[2]

    def finalize(self, partial):
        total, count, corr = partial
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return mean, np.concatenate([c for _, c in sorted(corr, key=lambda x: x[0])])


def compute_metrics(reg, budget=None, engine=None) -> dict:
    """The metrics of a :class:`~imfun.registration.RegisteredSequence` (see its ``metrics``)."""
    crop = reg._crop  # a lazily cropped registered sequence: the template and means are cropped too
    template = reg.template if reg.template is not None else reg.mean_frame(budget=budget, engine=engine)
    if reg.template is not None and crop is not None:
        template = template[crop]
    after, corr = reg._reduce(MeanAndCorrelation(np.asarray(template, np.float32)), None, None, budget,
                              "registration metrics", engine)
    positions = reg._positions()
    info = reg._info
    parent = reg.reader.parent
    whole = len(positions) == len(parent) and np.all(positions == np.arange(len(parent)))
    if "mean_before" in info and whole:
        before = info["mean_before"]
    else:
        before = parent.mean_frame(positions, budget=budget, engine=engine)
    if crop is not None:
        before = before[crop]
    border = int(np.ceil(np.abs(reg.shifts).max(initial=0)))
    if reg.block_shifts is not None:
        border = max(border, int(np.ceil(np.abs(reg.block_shifts).max(initial=0))))
    max_shift = info.get("max_shift")
    at_max = info.get("at_max")
    return {
        "crispness_before": crispness(before, border),
        "crispness_after": crispness(after, border),
        "corr_with_template": corr,
        "frames_at_max_shift": np.flatnonzero(at_max[positions]) if at_max is not None
        else np.empty(0, np.intp),
        "max_shift": max_shift,
        "mean_before": before,
        "mean_after": after,
        "bidi_phase": reg.bidi_phase,
    }
