"""ROI traces with neuropil correction: :class:`Traces` and neuropil annuli.

:func:`roi_traces` reads every ROI and every neuropil annulus in one pass of
the engine (:class:`~imfun.engine.reduce.RoiTraces`, sparse weights on the
ROIs' bounding box only).  A neuropil *annulus* of an ROI is the set of pixels
around it, at more than ``inner_gap`` pixels (Euclidean distance) from the
ROI, that belong to no ROI and lie at more than ``inner_gap`` pixels from every
other ROI; it grows outwards, ring after ring of distance, until it holds
``min_neuropil_pixels`` pixels (or the whole frame is used).  The corrected
trace is ``F - neuropil_coef * Fneu`` (suite2p's convention, 0.7 by default).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..errors import InvalidArgumentError, ShapeMismatchError

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

NEUROPIL = (None, "annulus")


@dataclass
class Traces:
    """Traces of ROIs, one row per ROI, and their neuropil.

    Attributes
    ----------
    F : numpy.ndarray
        ``(n_rois, n_frames)`` mean (or weighted mean) inside each ROI.
    Fneu : numpy.ndarray or None
        ``(n_rois, n_frames)`` mean in each ROI's neuropil annulus (None without neuropil).
    names : list of str
    times : numpy.ndarray
        ``(n_frames,)`` frame times (s when the frame axis is in seconds, else frame numbers).
    time_unit : str
        ``'s'``, or ``''`` when the times are frame numbers.
    neuropil_coef : float
        The coefficient of ``corrected``.
    neuropil_masks : numpy.ndarray or None
        ``(n_rois, rows, cols)`` bool, the annuli.
    frames : numpy.ndarray or None
        ``(n_frames,)`` the source frame number of each column (None: 0, 1, 2 ...).
    """

    F: np.ndarray
    Fneu: np.ndarray | None
    names: list[str]
    times: np.ndarray
    time_unit: str = "s"
    neuropil_coef: float = 0.7
    neuropil_masks: np.ndarray | None = None
    frames: np.ndarray | None = None

    @property
    def corrected(self) -> np.ndarray:
        """``F - neuropil_coef * Fneu`` (``F`` itself without neuropil)."""
        return self.F if self.Fneu is None else self.F - self.neuropil_coef * self.Fneu

    @property
    def n(self) -> int:
        return len(self.F)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        neu = f", neuropil x {self.neuropil_coef:g}" if self.Fneu is not None else ""
        return f"<Traces: {self.n} ROIs x {self.F.shape[1]} frames{neu}>"

    @property
    def dt(self) -> float | None:
        """The mean frame interval in seconds (None when times are frame numbers or there is 1 frame)."""
        if self.time_unit != "s" or len(self.times) < 2:
            return None
        return float((self.times[-1] - self.times[0]) / (len(self.times) - 1))

    def dfof(self, baseline_seconds: float | None = None, percentile: float = 10.0, method: str = "fast",
             *, baseline_frames: int | None = None) -> np.ndarray:
        """ΔF/F of the corrected traces on a running baseline (:func:`imfun.analysis.baseline.dfof_traces`).

        Examples
        --------
        >>> import numpy as np
        >>> t = Traces(np.array([[1.0, 1, 3, 1, 1]]), None, ["a"], np.arange(5) * 0.5)
        >>> t.dfof(baseline_frames=3, method="exact", percentile=0)
        array([[0., 0., 2., 0., 0.]])
        """
        from .baseline import dfof_traces

        return dfof_traces(self.corrected, self.dt, baseline_seconds, percentile, method,
                           baseline_frames=baseline_frames)

    def index(self) -> dict[str, np.ndarray]:
        """The table's leading columns: ``frame`` (source frame numbers), ``time_s`` (with seconds)."""
        frames = np.arange(self.F.shape[1]) if self.frames is None else np.asarray(self.frames)
        return {"frame": frames, **({"time_s": self.times} if self.time_unit == "s" else {})}

    def to_csv(self, path: str | os.PathLike, which: str = "corrected", overwrite: bool = False,
               values: np.ndarray | None = None, sources=()) -> Path:
        """Write a table: ``frame`` (source frame number), ``time_s`` (with seconds), one column per ROI.

        ``which`` is ``'corrected'``, ``'F'`` or ``'Fneu'``; or give ``values``
        (``(n_rois, n_frames)``, e.g. :meth:`dfof`).  Read back with
        :func:`read_csv`.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> t = Traces(np.array([[1.0, 2.0], [3.0, 4.5]]), None, ["a", "b"], np.array([0.0, 0.1]))
        >>> p = t.to_csv(os.path.join(tempfile.mkdtemp(), "t.csv"))
        >>> from pathlib import Path; print(Path(p).read_text().strip())
        frame,time_s,a,b
        0,0,1,3
        1,0.1,2,4.5
        """
        from ..export.atomic import atomic_target

        data = self._table(which) if values is None else np.asarray(values)
        if data.ndim != 2 or data.shape != self.F.shape:
            raise ShapeMismatchError(f"values must be (n_rois, n_frames) = {self.F.shape}, got {data.shape}")
        index = self.index()
        with atomic_target(path, overwrite=overwrite, sources=sources) as tmp, \
                open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow([*index, *self.names])
            for k, row in enumerate(data.T):
                w.writerow([*(f"{v[k]:.10g}" for v in index.values()), *(f"{v:.9g}" for v in row)])
        return Path(path)

    def _table(self, which: str) -> np.ndarray:
        if which not in ("corrected", "F", "Fneu"):
            raise InvalidArgumentError(f"which must be 'corrected', 'F' or 'Fneu', got {which!r}")
        if which == "Fneu" and self.Fneu is None:
            raise InvalidArgumentError("these traces have no neuropil (roi_traces(..., neuropil='annulus'))")
        data = self.corrected if which == "corrected" else getattr(self, which)
        if data.ndim != 2:
            raise ShapeMismatchError("traces of colour frames do not make one table; choose a channel")
        return data

    def to_dataframe(self, which: str = "corrected"):
        """A pandas DataFrame indexed by time, one column per ROI (pandas must be installed).

        Examples
        --------
        >>> import numpy as np
        >>> t = Traces(np.array([[1.0, 2.0]]), None, ["a"], np.array([0.0, 0.1]))
        >>> t.to_dataframe().columns.tolist()
        ['a']
        """
        from ..readers.base import require

        pd = require("pandas", "all")
        df = pd.DataFrame(self._table(which).T, columns=list(self.names))
        df.index = pd.Index(self.times, name="time_s" if self.time_unit == "s" else "frame")
        return df

    def plot(self, ax=None, which: str = "corrected", values: np.ndarray | None = None, offset: bool = True):
        """Draw one line per ROI against time (s), offset for display; returns the matplotlib axes.

        Without ``ax``, a new figure (not shown, not kept by pyplot) is made.

        Examples
        --------
        >>> import numpy as np
        >>> t = Traces(np.array([[1.0, 2.0, 1.0]]), None, ["a"], np.array([0.0, 0.1, 0.2]))
        >>> t.plot().get_xlabel()
        'time, s'
        """
        data = self._table(which) if values is None else np.asarray(values)
        if ax is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(10, 1.2 + 0.45 * min(self.n, 40)), layout="constrained")
            FigureCanvasAgg(fig)
            ax = fig.subplots()
        spread = np.nanpercentile(np.ptp(data, axis=1), 75) if self.n and offset else 0.0
        step = float(spread) or (1.0 if offset else 0.0)
        for k in range(self.n):
            base = np.median(data[k]) if offset else 0.0
            ax.plot(self.times, data[k] - base + (self.n - 1 - k) * step, lw=0.8, label=self.names[k])
        if offset:
            ax.set_yticks([(self.n - 1 - k) * step for k in range(self.n)], self.names,
                          fontsize=7 if self.n > 20 else 9)
        ax.set_xlabel("time, s" if self.time_unit == "s" else "frame")
        if len(self.times) > 1:
            ax.set_xlim(self.times[0], self.times[-1])
        return ax


def read_csv(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """``(index columns, values (n_rois, n_frames), names)`` from a table of :meth:`Traces.to_csv`.

    The index columns are the leading ``frame`` and ``time_s`` columns there are.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> t = Traces(np.array([[1.0, 2.0]]), None, ["a"], np.array([0.0, 0.1]))
    >>> index, values, names = read_csv(t.to_csv(os.path.join(tempfile.mkdtemp(), "t.csv")))
    >>> list(index), values, names
    (['frame', 'time_s'], array([[1., 2.]]), ['a'])
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    n_index = next((i for i, name in enumerate(header) if name not in ("frame", "time_s")), len(header))
    table = np.array(rows[1:], float).reshape(-1, len(header))
    index = {name: table[:, i].astype(int) if name == "frame" else table[:, i]
             for i, name in enumerate(header[:n_index])}
    return index, table[:, n_index:].T.copy(), header[n_index:]


# -- ROIs and annuli ------------------------------------------------------------------------------

def roi_weights(fs: FrameSequence, rois, components: bool = False, weights: bool = False
                ) -> tuple[list[np.ndarray], list[str]]:
    """``(per-ROI weights or masks, names)`` from any accepted form of ``rois`` (see :func:`roi_traces`)."""
    from .cells import Cells
    from .rois import labels_to_masks, load_rois

    shape = tuple(fs.frame_shape[:2])
    if isinstance(rois, Cells):
        if rois.shape != shape:
            raise ShapeMismatchError(f"the cells were found in {rois.shape} frames, these are {shape}")
        return list(rois.weights if weights else rois.masks), rois.names
    if isinstance(rois, str | os.PathLike):
        masks, names = load_rois(rois, shape, components=components)
    else:
        arr = np.asarray(rois)
        if arr.shape[-2:] != shape or arr.ndim not in (2, 3):
            raise ShapeMismatchError(f"ROIs must be a {shape} label image or a (n, {shape[0]}, {shape[1]}) "
                                     f"stack of masks, got shape {arr.shape}")
        if arr.ndim == 3:
            masks, names = arr.astype(bool), [str(i + 1) for i in range(len(arr))]
        else:
            masks, names = labels_to_masks(arr, components=components)
    empty = ~masks.reshape(len(masks), -1).any(axis=1)
    if empty.any():
        raise InvalidArgumentError(f"ROI {names[int(np.flatnonzero(empty)[0])]!r} selects no pixels")
    return list(masks), names


def annuli(masks: np.ndarray, inner_gap: int = 2, min_pixels: int = 350) -> np.ndarray:
    """Neuropil annuli ``(n, rows, cols)`` bool of ROI masks (see the module for the definition).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((1, 21, 21), bool); m[0, 9:12, 9:12] = True
    >>> a = annuli(m, inner_gap=1, min_pixels=40)
    >>> int(a.sum()) >= 40, bool((a & m).any())
    (True, False)
    """
    masks = np.asarray(masks, bool)
    if int(inner_gap) != inner_gap or inner_gap < 0:
        raise InvalidArgumentError(f"inner_gap must be a whole number of pixels >= 0, got {inner_gap!r}")
    if int(min_pixels) != min_pixels or min_pixels < 1:
        raise InvalidArgumentError(f"min_neuropil_pixels must be a positive integer, got {min_pixels!r}")
    union = masks.any(axis=0)
    # pixels of no ROI and farther than inner_gap from every ROI
    free = ndimage.distance_transform_edt(~union) > inner_gap if union.any() else np.ones_like(union)
    if not free.any():
        raise InvalidArgumentError("the ROIs (with inner_gap around them) cover the whole frame: "
                                   "there is no pixel left for neuropil")
    out = np.zeros_like(masks)
    for k, m in enumerate(masks):  # a loop over ROIs; the work inside is on a window around each
        out[k] = _annulus(m, free, min_pixels)
    return out


def _annulus(mask: np.ndarray, free: np.ndarray, min_pixels: int) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    shape = mask.shape
    margin = int(np.ceil(np.sqrt((min_pixels + len(rows)) / np.pi))) + 4
    while True:
        win = (slice(max(rows.min() - margin, 0), min(rows.max() + margin + 1, shape[0])),
               slice(max(cols.min() - margin, 0), min(cols.max() + margin + 1, shape[1])))
        whole = win[0].stop - win[0].start == shape[0] and win[1].stop - win[1].start == shape[1]
        dist = ndimage.distance_transform_edt(~mask[win])
        cand = free[win]
        d = np.sort(dist[cand])
        # the window is big enough when the min_pixels-th nearest free pixel is nearer than its edge
        if whole or (len(d) >= min_pixels and d[min_pixels - 1] <= margin):
            radius = d[min(min_pixels, len(d)) - 1] if len(d) else 0.0
            out = np.zeros(shape, bool)
            out[win] = cand & (dist <= radius)
            return out
        margin *= 2


def roi_traces(fs: FrameSequence, rois, *, neuropil: str | None = None, neuropil_coef: float = 0.7,
               inner_gap: int = 2, min_neuropil_pixels: int = 350, weights: bool = False,
               components: bool = False, fslice=None, budget=None, engine=None) -> Traces:
    """Traces of ROIs and, with ``neuropil='annulus'``, of their neuropil annuli, in one pass.

    Parameters
    ----------
    fs : FrameSequence
    rois : path, array or Cells
        A ROI file for :func:`imfun.analysis.rois.load_rois`, a 2-D label
        image, a ``(n, rows, cols)`` stack of masks, or
        :class:`imfun.analysis.cells.Cells`.
    neuropil : None or 'annulus'
        Also measure each ROI's neuropil annulus (see the module).
    neuropil_coef : float
        ``corrected = F - neuropil_coef * Fneu``.
    inner_gap, min_neuropil_pixels : int
        The annulus starts more than ``inner_gap`` pixels from the ROIs and
        grows until it has ``min_neuropil_pixels`` pixels.
    weights : bool
        With Cells, weigh the pixels by the soft footprints (``F`` is then
        ``sum(w * f) / sum(w)`` over the footprint); else plain means over the masks.
    components : bool
        Split a single mask into connected components.
    fslice, budget, engine :
        Frames, memory budget, ``'dask'``.

    Returns
    -------
    Traces

    Examples
    --------
    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> x = np.ones((4, 30, 30)); x[:, 10:14, 10:14] = 5.0
    >>> lab = np.zeros((30, 30), int); lab[10:14, 10:14] = 1
    >>> t = roi_traces(FSeq_arr(x), lab, neuropil="annulus", min_neuropil_pixels=50)
    >>> t.F[0], t.Fneu[0], t.corrected[0]
    (array([5., 5., 5., 5.]), array([1., 1., 1., 1.]), array([4.3, 4.3, 4.3, 4.3]))
    """
    if neuropil not in NEUROPIL:
        raise InvalidArgumentError(f"neuropil must be None or 'annulus', got {neuropil!r}")
    if not np.isfinite(neuropil_coef):
        raise InvalidArgumentError(f"neuropil_coef must be a finite number, got {neuropil_coef!r}")
    w, names = roi_weights(fs, rois, components=components, weights=weights)
    # the annuli keep clear of every pixel an ROI weighs (soft footprints reach beyond the labels)
    rings = annuli(np.array([wi > 0 for wi in w]), inner_gap, min_neuropil_pixels) if neuropil else None
    all_w = w + (list(rings) if rings is not None else [])
    out = fs._roi_traces(all_w, fslice, budget, engine)
    n = len(w)
    positions = fs.plan(fslice)[0]
    frames = np.asarray(fs.source_frames(positions))
    timed = fs.meta["axes"][0].unit == "s"
    times = fs.frame_idx()[positions] if timed else frames
    return Traces(out[:n], out[n:] if rings is not None else None, names, np.asarray(times, float),
                  "s" if timed else "", float(neuropil_coef), rings, frames)


__all__ = ["Traces", "annuli", "read_csv", "roi_traces"]
