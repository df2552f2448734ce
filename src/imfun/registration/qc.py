"""The quality-control figure of a registration: mean before/after, shifts, correlation.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from imfun.fseq import FSeq_arr
>>> from imfun.synthdata import two_photon_movie
>>> reg = FSeq_arr(two_photon_movie(n_frames=12, shape=(48, 48), n_cells=3).movie).register()
>>> path = qc_figure(reg, os.path.join(tempfile.mkdtemp(), "qc.png"))
>>> path.name
'qc.png'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _limits(*images) -> tuple[float, float]:
    values = np.concatenate([np.ravel(i)[np.isfinite(np.ravel(i))] for i in images])
    lo, hi = np.percentile(values, [0.5, 99.5]) if len(values) else (0.0, 1.0)
    return float(lo), float(hi if hi > lo else lo + 1)


def qc_figure(reg, path, overwrite: bool = False, budget=None, dpi: int = 100) -> Path:
    """Write a figure (any matplotlib format, by the ending): the mean image before and after
    registration with their crispness, the shifts over time (rigid, and the range of the block
    shifts), and each frame's correlation with the template."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..export.atomic import atomic_target

    m = reg.metrics(budget=budget)
    before = m["mean_before"]
    after = m["mean_after"]
    t = np.asarray(reg.frame_idx(), float)
    unit = reg.meta["axes"][0].unit or "frame"
    fig = Figure(figsize=(11, 7), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=[1.3, 1])
    lo, hi = _limits(before, after)
    for k, (img, name, key) in enumerate(((before, "mean before", "crispness_before"),
                                          (after, "mean after", "crispness_after"))):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(f"{name} (crispness {m[key]:.4g})")
        ax.set_axis_off()
    ax = fig.add_subplot(grid[1, 0])
    for i, label in enumerate(("dy", "dx")):
        ax.plot(t, reg.shifts[:, i], lw=0.9, label=f"{label} (rigid)")
        if reg.block_shifts is not None:
            b = reg.block_shifts[..., i].reshape(len(t), -1)
            ax.fill_between(t, b.min(axis=1), b.max(axis=1), alpha=0.25, label=f"{label} blocks (range)")
    if m["max_shift"]:
        for s in (-m["max_shift"], m["max_shift"]):
            ax.axhline(s, color="0.6", lw=0.6, ls="--")
    ax.set_xlabel(unit)
    ax.set_ylabel("shift (pixels)")
    ax.legend(fontsize=8, ncols=2)
    ax = fig.add_subplot(grid[1, 1])
    ax.plot(t, m["corr_with_template"], lw=0.9, color="k")
    ax.set_xlabel(unit)
    ax.set_ylabel("correlation with template")
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    with atomic_target(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return Path(path)
