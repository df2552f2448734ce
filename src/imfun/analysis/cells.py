"""Cell detection from the activity of a movie: seeds in summary images, footprints by correlation.

:func:`detect_cells` makes two or three streaming passes over the frames (each an
engine :class:`~imfun.engine.reduce.Reduction`, so local threads or dask):

1. the mean, local-correlation and peak-to-noise images in one pass
   (:mod:`imfun.analysis.summary`).  Both images are smoothed with a Gaussian
   of SD ``diameter / 6``; their product is the *score*.  Seeds are the local
   maxima (in squares of ``0.25 * diameter``) of the score minus its Gaussian
   blur of SD ``diameter / 2`` — so that a cell on the smooth tail of a
   brighter neighbour, or a ring-shaped (donut) cell, keeps its own maximum —
   where the score exceeds the
   background level of the score by ``threshold`` robust SDs — the level and
   SD estimated from the score's 5th and 20th percentiles, i.e. from the
   pixels with the least activity, as if they were Gaussian.
2. for every seed, the Pearson correlation over time between the seed's trace
   (the mean of a disk of radius ``diameter / 4`` around it) and each pixel of
   a box of ``1.5 * diameter`` around it, and the correlations between the
   seed traces (:class:`SeedCorrelation`, Chan-merged co-moments again).
   Seeds closer than a diameter whose traces correlate above 0.5 are one
   cell (the stronger seed is kept).  A footprint is the connected part of
   the correlation map around the seed, inside ``0.75 * diameter`` of it,
   above ``max(0.35 * peak, 3 / sqrt(n_frames))``; its weights are the
   correlations divided by the peak, clipped to [0, 1].  Pixels that two
   footprints claim go to the one where they weigh more, so the label image
   has no overlaps, while ``weights`` keep the soft, overlapping footprints.
3. a dim cell beside a bright one may have no maximum of its own on the
   bright one's smoothed tail: the score is searched again with the cells
   found (and a margin of ``diameter / 6``) taken out; new seeds must pass
   ``3 * threshold`` and lie at least a diameter from every cell, and when
   there are any, step 2 runs once more over all seeds.

With ``time_bin=k`` every pass works on the means of runs of ``k``
consecutive frames (:class:`~imfun.analysis.summary.TimeBinned`; the PNR
then without further smoothing), as suite2p bins its movie by the
indicator's decay time: the work after reading drops about ``k``-fold.  The
default, ``'auto'``, bins :data:`AUTO_BIN_SECONDS` of frames (about half the
decay of a fast indicator such as GCaMP6f) when the frame interval is known,
keeping at least :data:`MIN_BINS` runs.

Cells without activity in the selected frames cannot be found this way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse
from scipy import ndimage, optimize

from ..engine.reduce import Reduction
from ..errors import InvalidArgumentError, ShapeMismatchError
from .summary import SummaryImages, TimeBinned, summary_images

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

METHODS = ("corr",)
PEAK_WINDOW = 0.25  # seeds are the maxima of the score in squares of this many diameters a side
MERGE_CORRELATION = 0.5  # seed traces this correlated, closer than a diameter: one cell
_CHUNK_VALUES = 2**22  # float32 box values (16 MiB) gathered at a time in the seed pass


@dataclass
class Cells:
    """Detected cells: a label image, centres and soft footprints.

    Attributes
    ----------
    labels : numpy.ndarray
        ``(rows, cols)`` int32, 0 background, ``k + 1`` for cell ``k``; no overlaps.
    centers : numpy.ndarray
        ``(n, 2)`` float, ``(row, col)`` centroids of the footprints (weighted, inside the label).
    footprints : scipy.sparse.csr_matrix
        ``(n, rows * cols)`` soft weights in [0, 1] (they may overlap).
    diameter_px : float
        The cell diameter used, in pixels.
    scores : numpy.ndarray
        ``(n,)`` the seed score of each cell (higher: clearer).
    """

    labels: np.ndarray
    centers: np.ndarray
    footprints: scipy.sparse.csr_matrix
    diameter_px: float
    scores: np.ndarray

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.centers)

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    @property
    def names(self) -> list[str]:
        """``'1'`` .. ``'n'``, the labels as strings."""
        return [str(k + 1) for k in range(self.n)]

    @property
    def masks(self) -> np.ndarray:
        """``(n, rows, cols)`` bool, disjoint: ``labels == k + 1`` (a dense stack: n x frame size)."""
        return self.labels[None] == np.arange(1, self.n + 1, dtype=np.int32)[:, None, None]

    @property
    def weights(self) -> np.ndarray:
        """``(n, rows, cols)`` float32 soft footprints in [0, 1] (a dense stack)."""
        return self.footprints.toarray().reshape(self.n, *self.shape)

    def __repr__(self) -> str:
        return f"<Cells: {self.n} cells of ~{self.diameter_px:.3g} px in {self.shape} frames>"

    def outlines(self) -> list[np.ndarray]:
        """One closed polygon per cell, ``(m, 2)`` (row, col) through the pixel edges' midpoints."""
        import contourpy

        out = []
        for k in range(self.n):
            rows, cols = np.nonzero(self.labels == k + 1)
            r0, c0 = rows.min() - 1, cols.min() - 1
            patch = np.zeros((rows.max() - r0 + 2, cols.max() - c0 + 2))
            patch[rows - r0, cols - c0] = 1.0
            lines = contourpy.contour_generator(z=patch).lines(0.5)
            line = max(lines, key=len)  # (x, y) = (col, row) in the patch
            out.append(np.column_stack([line[:, 1] + r0, line[:, 0] + c0]))
        return out

    def to_labels(self, path: str | os.PathLike, overwrite: bool = False) -> str:
        """Write the label image as a TIFF (uint16 when it fits, so ImageJ opens it).

        Examples
        --------
        >>> import numpy as np, tempfile, os, tifffile
        >>> lab = np.zeros((6, 6), np.int32); lab[1:3, 1:3] = 1
        >>> cells = cells_from_labels(lab)
        >>> p = cells.to_labels(os.path.join(tempfile.mkdtemp(), 'cells.tif'))
        >>> tifffile.imread(p).max()
        np.uint16(1)
        """
        import tifffile

        from ..export.atomic import atomic_target

        dtype = np.uint16 if self.n < 65536 else np.int32
        with atomic_target(path, overwrite=overwrite) as tmp:
            tifffile.imwrite(tmp, self.labels.astype(dtype), imagej=dtype == np.uint16)
        return os.fspath(path)

    def to_imagej(self, path: str | os.PathLike, overwrite: bool = False) -> str:
        """Write the cells' outlines as an ImageJ ROI set (``RoiSet.zip``), named ``1`` .. ``n``.

        Each outline runs through the midpoints of the label's edge pixels'
        edges, so ImageJ (and :func:`imfun.analysis.rois.load_rois`) fill it
        back to the same pixels (pixel centres inside the polygon).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from imfun.analysis.rois import load_rois
        >>> lab = np.zeros((8, 9), np.int32); lab[1:4, 2:6] = 1; lab[5:7, 1:3] = 2
        >>> p = cells_from_labels(lab).to_imagej(os.path.join(tempfile.mkdtemp(), 'RoiSet.zip'))
        >>> masks, names = load_rois(p, (8, 9))
        >>> names, bool((masks == cells_from_labels(lab).masks).all())
        (['1', '2'], True)
        """
        from ..export.atomic import atomic_target
        from ..readers.base import require

        roifile = require("roifile", "rois")
        rois = []
        for name, line in zip(self.names, self.outlines(), strict=True):
            # ImageJ coordinates: x = col, y = row, at pixel corners (a pixel centre is at +0.5)
            roi = roifile.ImagejRoi.frompoints(np.column_stack([line[:, 1] + 0.5, line[:, 0] + 0.5]))
            roi.roitype = roifile.ROI_TYPE.POLYGON
            roi.name = name
            rois.append(roi)
        if not rois:
            raise InvalidArgumentError("there are no cells to write as ImageJ ROIs")
        with atomic_target(path, overwrite=overwrite) as tmp:
            roifile.roiwrite(tmp, rois, mode="w")  # a list of ROIs: always a zip
        return os.fspath(path)


def cells_from_labels(labels: np.ndarray, diameter_px: float | None = None) -> Cells:
    """A :class:`Cells` from a label image (0 background; labels renumbered 1..n in order).

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.zeros((5, 5), int); lab[1:3, 1:3] = 7
    >>> c = cells_from_labels(lab)
    >>> c.n, c.centers.tolist(), c.labels.max()
    (1, [[1.5, 1.5]], np.int32(1))
    """
    lab = np.asarray(labels)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise InvalidArgumentError(f"labels must be a 2-D integer image, got {lab.dtype} {lab.shape}")
    values = np.unique(lab[lab > 0])
    new = np.zeros(lab.shape, np.int32)
    lut = np.zeros(int(lab.max(initial=0)) + 1, np.int32)
    lut[values] = np.arange(1, len(values) + 1)
    new[lab > 0] = lut[lab[lab > 0]]
    idx = np.arange(1, len(values) + 1)
    centers = np.array(ndimage.center_of_mass(np.ones(lab.shape), new, idx)).reshape(-1, 2)
    rows = np.flatnonzero(new.ravel() > 0)
    foot = scipy.sparse.csr_matrix((np.ones(len(rows), np.float32), (new.ravel()[rows] - 1, rows)),
                                   shape=(len(values), new.size))
    if diameter_px is None:
        areas = np.bincount(new.ravel(), minlength=len(values) + 1)[1:]
        diameter_px = float(2 * np.sqrt(np.median(areas) / np.pi)) if len(values) else 0.0
    return Cells(new, centers, foot, float(diameter_px), np.ones(len(values)))


# -- the seed pass ------------------------------------------------------------------------------

class SeedCorrelation(Reduction):
    """Correlations of each seed's trace with the pixels of its box, and between seed traces.

    Each seed has a box of ``2 half + 1`` pixels a side centred on it (``seeds``
    ``(n, 2)`` rows and columns in a frame of ``shape``); ``disk`` (that box,
    flat) marks the pixels whose mean is the seed's trace.  The frames are read
    through a box of the same size moved inside the frame (plain slices, no
    gather); ``finalize`` puts the results back in the centred layout.
    Partials are Chan co-moments: ``(n, pixel means, trace means, pixel sq. dev.,
    trace sq. dev., pixel x trace, trace x trace)``.
    """

    def __init__(self, seeds: np.ndarray, half: int, shape: tuple[int, int], disk: np.ndarray):
        seeds = np.asarray(seeds, int).reshape(-1, 2)
        self.index, self.valid = _boxes(seeds, half, shape)  # the centred layout
        self.box = (min(2 * half + 1, shape[0]), min(2 * half + 1, shape[1]))
        self.origin = np.clip(seeds - half, 0, np.subtract(shape, self.box))  # the moved boxes' corners
        rr, cc = np.divmod(self.index, shape[1])
        self.pos = np.where(self.valid, (rr - self.origin[:, :1]) * self.box[1] + cc - self.origin[:, 1:], 0)
        on = self.valid & disk[None]
        w = np.zeros((len(seeds), self.box[0] * self.box[1]), np.float32)
        w[np.nonzero(on)[0], self.pos[on]] = 1
        self.disk_w = w / w.sum(axis=1, keepdims=True)
        self.chunk = int(np.clip(_CHUNK_VALUES // max(w.size, 1), 4, 64))

    def _chunk(self, frames: np.ndarray) -> tuple:
        n, (br, bc) = len(frames), self.box
        x = np.empty((len(self.origin), n, br, bc), np.float32)
        for k, (r, c) in enumerate(self.origin):
            x[k] = frames[:, r:r + br, c:c + bc]
        x = x.reshape(len(self.origin), n, br * bc)
        m32 = x.sum(axis=1) / np.float32(n)
        x -= m32[:, None]
        rg = x.sum(axis=1, dtype=np.float64)  # not 0: the float32 mean is rounded
        t = np.matmul(x, self.disk_w[:, :, None])[..., 0]  # (seeds, n) the centred traces
        rt = t.sum(axis=1) / np.float32(n)
        t -= rt[:, None]
        mt = (m32 * self.disk_w).sum(axis=1, dtype=np.float64) + rt
        qg = np.einsum("snp,snp->sp", x, x).astype(np.float64) - rg**2 / n
        cgt = np.matmul(t[:, None, :], x)[:, 0].astype(np.float64)
        t64 = t.astype(np.float64)
        return n, m32 + rg / n, mt, qg, (t64 * t64).sum(axis=1), cgt, t64 @ t64.T

    def map(self, start: int, block: np.ndarray) -> tuple:
        acc = None
        for s in range(0, len(block), self.chunk):
            part = self._chunk(block[s:s + self.chunk])
            acc = part if acc is None else self.combine(acc, part)
        return acc

    def combine(self, a: tuple, b: tuple) -> tuple:
        na, mga, mta, qga, qta, cga, tta = a
        nb, mgb, mtb, qgb, qtb, cgb, ttb = b
        n = na + nb
        w = na * nb / n
        dg, dt = mgb - mga, mtb - mta
        return (n, mga + dg * (nb / n), mta + dt * (nb / n), qga + qgb + dg**2 * w, qta + qtb + dt**2 * w,
                cga + cgb + dg * dt[:, None] * w, tta + ttb + np.outer(dt, dt) * w)

    def finalize(self, partial: tuple) -> tuple[np.ndarray, np.ndarray]:
        """``(pixel correlations (seeds, box), seed-trace correlations (seeds, seeds))``."""
        _, _, _, qg, qt, cgt, tt = partial
        den = np.sqrt(qg * qt[:, None])
        rho = np.divide(cgt, den, out=np.zeros_like(cgt), where=den > 0)
        rho = np.where(self.valid, np.take_along_axis(rho, self.pos, axis=1), 0.0)
        dtt = np.sqrt(np.outer(qt, qt))
        rtt = np.divide(tt, dtt, out=np.zeros_like(tt), where=dtt > 0)
        return rho, rtt


# -- detection ------------------------------------------------------------------------------------

def diameter_in_pixels(fs: FrameSequence, diameter: float | None, diameter_px: float | None) -> float:
    """The cell diameter in pixels from µm (``diameter``, needs µm axes) or pixels (``diameter_px``)."""
    if (diameter is None) == (diameter_px is None):
        raise InvalidArgumentError("give the cell diameter either in µm (diameter=) or in pixels "
                                   "(diameter_px=), one of the two")
    if diameter is not None:
        axes = fs.meta["axes"]
        (dy, uy), (dx, ux) = axes[1], axes[2]
        if uy != "µm" or ux != "µm":
            raise InvalidArgumentError(
                f"diameter= is in µm but the rows/columns axes are in {uy or 'no unit'!r}; set "
                f"fs.meta['axes'] or give diameter_px=")
        value, px = float(diameter), float(diameter) / np.sqrt(dy * dx)
    else:
        value = px = float(diameter_px)
    rows, cols = fs.frame_shape[:2]
    if not np.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"the cell diameter must be positive, got {value!r}")
    if px >= min(rows, cols):
        raise InvalidArgumentError(
            f"a cell diameter of {px:.3g} pixels does not fit the {rows}x{cols} frames; "
            f"check the diameter and its unit")
    return px


def score_image(correlation: np.ndarray, pnr: np.ndarray, diameter_px: float) -> np.ndarray:
    """Smoothed correlation times smoothed PNR (Gaussians of SD ``diameter / 6``)."""
    sigma = diameter_px / 6
    return ndimage.gaussian_filter(correlation.astype(np.float64), sigma) * \
        ndimage.gaussian_filter(pnr.astype(np.float64), sigma)


def background(score: np.ndarray) -> tuple[float, float]:
    """Level and SD of the score's background, from its 5th and 20th percentiles (as a Gaussian's)."""
    p5, p20 = np.percentile(score, [5, 20])
    sd = (p20 - p5) / 0.8  # the 5th and 20th percentiles of a Gaussian are 0.8 SD apart
    return float(p20 + 0.84 * sd), float(max(sd, 1e-12))


def find_seeds(score: np.ndarray, diameter_px: float, threshold: float, max_cells: int | None,
               level: tuple[float, float] | None = None) -> np.ndarray:
    """``(n, 2)`` seed pixels (row, col), strongest first: local maxima above the background level
    (of ``score``, or ``level = (level, sd)``)."""
    size = int(PEAK_WINDOW * diameter_px) | 1
    # maxima of the score minus its blur: a neighbour's smooth tail (locally linear) does not hide them
    sharp = score - ndimage.gaussian_filter(score, diameter_px / 2)
    peak = sharp == ndimage.maximum_filter(sharp, size=size, mode="nearest")
    mu, sd = level or background(score)
    seeds = np.argwhere(peak & (score > mu + threshold * sd))
    seeds = seeds[np.argsort(-score[seeds[:, 0], seeds[:, 1]], kind="stable")]
    return seeds if max_cells is None else seeds[:max_cells]


def _boxes(seeds: np.ndarray, half: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices ``(seeds, (2 half + 1)**2)`` of each seed's box, clipped, and which are inside."""
    off = np.arange(-half, half + 1)
    rr = seeds[:, 0, None, None] + off[None, :, None]
    cc = seeds[:, 1, None, None] + off[None, None, :]
    valid = (rr >= 0) & (rr < shape[0]) & (cc >= 0) & (cc < shape[1])
    index = np.clip(rr, 0, shape[0] - 1) * shape[1] + np.clip(cc, 0, shape[1] - 1)
    return index.reshape(len(seeds), -1), valid.reshape(len(seeds), -1)


def _merge(seeds: np.ndarray, rtt: np.ndarray, diameter_px: float) -> np.ndarray:
    """Indices of the seeds kept (strongest first) once seeds of one cell are merged."""
    dist = np.hypot(*(seeds[:, None, :] - seeds[None, :, :]).transpose(2, 0, 1))
    same = (dist < diameter_px) & (rtt > MERGE_CORRELATION)
    alive = np.ones(len(seeds), bool)
    for i in range(len(seeds)):  # seeds are sorted by score: a seed removes the weaker ones it matches
        if alive[i]:
            later = np.arange(len(seeds)) > i
            alive[same[i] & later] = False
    return np.flatnonzero(alive)


def _footprint(rho: np.ndarray, half: int, diameter_px: float, n_frames: int) -> np.ndarray:
    """Soft footprint in a seed's box (see the module): weights in [0, 1], 0 outside."""
    side = 2 * half + 1
    r = ndimage.gaussian_filter(rho.reshape(side, side), 1.0, mode="constant")
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    dist = np.hypot(yy, xx)
    near = np.where(dist <= max(diameter_px / 4, 1), r, -np.inf)
    top = np.unravel_index(np.argmax(near), r.shape)  # the footprint's peak, near the seed
    peak, noise = r[top], 3 / np.sqrt(n_frames)
    if peak <= noise:
        return np.zeros_like(r)
    keep = (r > max(0.35 * peak, noise)) & (dist <= 0.75 * diameter_px)
    comp, _ = ndimage.label(keep)
    return np.where(comp == comp[top], np.clip(r / peak, 0, 1), 0.0)


def _cat(parts: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def _assemble(seeds, rho, keep, half, shape, diameter_px, n_frames, scores) -> Cells:
    """Footprints of the kept seeds into a label image without overlaps, centres and weights."""
    side = 2 * half + 1
    feet = [_footprint(rho[k], half, diameter_px, n_frames) for k in keep]
    best = np.zeros(shape)
    owner = np.zeros(shape, np.int32)
    boxes = []
    for j, (k, w) in enumerate(zip(keep, feet, strict=True)):
        r0, c0 = seeds[k] - half
        box = (slice(max(r0, 0), min(r0 + side, shape[0])), slice(max(c0, 0), min(c0 + side, shape[1])))
        w = w[box[0].start - r0:box[0].stop - r0, box[1].start - c0:box[1].stop - c0]
        boxes.append((box, w))
        take = w > best[box]
        best[box][take] = w[take]
        owner[box][take] = j + 1
    min_area = 0.1 * np.pi * (diameter_px / 2) ** 2
    labels = np.zeros(shape, np.int32)
    rows, cols, vals, centers, kept_scores = [], [], [], [], []
    for j, (box, w) in enumerate(boxes):
        mine = owner[box] == j + 1
        comp, n = ndimage.label(mine)
        if n > 1:  # a footprint cut in two by a neighbour keeps its heavier part
            mine = comp == np.argmax(ndimage.sum(w, comp, np.arange(1, n + 1))) + 1
        if mine.sum() < min_area:
            continue
        label = len(centers) + 1
        labels[box][mine] = label
        yy, xx = np.mgrid[box]
        wm = w * mine
        centers.append((float((wm * yy).sum() / wm.sum()), float((wm * xx).sum() / wm.sum())))
        nz = np.nonzero(w)
        rows.append(np.full(len(nz[0]), label - 1))
        cols.append(np.ravel_multi_index((nz[0] + box[0].start, nz[1] + box[1].start), shape))
        vals.append(w[nz].astype(np.float32))
        kept_scores.append(scores[keep[j]])
    n = len(centers)
    foot = scipy.sparse.csr_matrix((_cat(vals, np.float32), (_cat(rows, np.int64), _cat(cols, np.int64))),
                                   shape=(n, shape[0] * shape[1]))
    return Cells(labels, np.array(centers, float).reshape(n, 2), foot, float(diameter_px),
                 np.array(kept_scores, float))


AUTO_BIN_SECONDS = 0.2  # time_bin='auto': about half the decay time of GCaMP6f
MIN_BINS = 100  # ... but never fewer runs than this to correlate


def auto_time_bin(fs: FrameSequence, n_frames: int) -> int:
    """Frames per run for ``time_bin='auto'``: :data:`AUTO_BIN_SECONDS` of them when the frame
    axis is in seconds, at most ``n_frames // MIN_BINS``, at least 1.

    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> fs = FSeq_arr(np.zeros((2000, 8, 8)), meta={"axes": [(0.05, "s"), (1, "µm"), (1, "µm")]})
    >>> auto_time_bin(fs, 2000), auto_time_bin(fs, 250)
    (4, 2)
    """
    dt, unit = fs.meta["axes"][0]
    if unit != "s" or not dt or dt <= 0:
        return 1
    return max(1, min(round(AUTO_BIN_SECONDS / float(dt)), n_frames // MIN_BINS))


def detect_cells(fs: FrameSequence, diameter: float | None = None, *, diameter_px: float | None = None,
                 method: str = "corr", threshold: float | None = None, max_cells: int | None = None,
                 fslice=None, budget=None, engine=None, summary: SummaryImages | None = None,
                 border: int = 0, time_bin: int | str = "auto") -> Cells:
    """Find active cells in a movie, in two or three streaming passes (see the module for the method).

    Parameters
    ----------
    fs : FrameSequence
        Grey frames, at least 3 selected (many more in practice: cells are
        found by their activity).
    diameter : float
        Typical cell diameter in µm (the rows/columns axes must be in µm) ...
    diameter_px : float
        ... or in pixels: one of the two.
    method : 'corr'
        Seeds from the correlation x PNR image, footprints by correlation.
    threshold : float or None
        How many robust SDs above the background level of the score a seed
        must be (default 5); lower finds dimmer cells and more false ones.
    max_cells : int or None
        Keep at most this many seeds (the strongest).
    fslice, budget, engine :
        Frames to use, memory budget, ``'dask'`` to run on dask.
    summary : SummaryImages or None
        The summary images of the same frames, when already computed
        (:func:`imfun.analysis.summary.summary_images` with the defaults): saves the first pass.
    border : int
        No seeds within this many pixels of the frame's edge: e.g. the largest shift of a
        registered movie, whose edge pixels repeat (and so correlate perfectly).
    time_bin : int or 'auto'
        Detect in the means of runs of this many consecutive frames (as suite2p
        bins its movie): several times faster, and dim cells rise above the
        noise, as long as a run is shorter than a transient (e.g. half the
        indicator's decay time, in frames).  1: every frame; ``'auto'`` (default):
        0.2 s of frames when the frames' interval is known in seconds, else 1.

    Returns
    -------
    Cells

    Examples
    --------
    >>> from imfun.synthdata import two_photon_movie
    >>> sm = two_photon_movie(n_frames=200, shape=(48, 48), n_cells=3, seed=2, spike_rate=1.0)
    >>> cells = detect_cells(sm.to_fseq(), diameter=10)
    >>> cells.n, cells.labels.max(), cells.weights.shape
    (3, np.int32(3), (3, 48, 48))
    """
    if len(fs.frame_shape) != 2:
        raise ShapeMismatchError(f"detect_cells needs grey frames, got {fs.frame_shape}; choose a channel")
    d = diameter_in_pixels(fs, diameter, diameter_px)
    if method not in METHODS:
        raise InvalidArgumentError(f"method must be one of {METHODS}, got {method!r}")
    threshold = 5.0 if threshold is None else float(threshold)
    if max_cells is not None and int(max_cells) < 1:
        raise InvalidArgumentError(f"max_cells must be a positive integer, got {max_cells!r}")
    shape = fs.frame_shape
    if time_bin == "auto":
        time_bin = auto_time_bin(fs, len(fs.plan(fslice)[0]))
    if isinstance(time_bin, str) or int(time_bin) != time_bin or time_bin < 1:
        raise InvalidArgumentError(f"time_bin must be a positive whole number of frames, got {time_bin!r}")
    s = summary or summary_images(fs, fslice=fslice, budget=budget, engine=engine,
                                  smooth_frames=3 if time_bin == 1 else 1, time_bin=int(time_bin))
    if s.correlation.shape != shape:
        raise ShapeMismatchError(f"the summary images are {s.correlation.shape}, the frames {shape}")
    score = score_image(s.correlation, s.pnr, d)
    if int(border) != border or not 0 <= border < min(shape) / 2:
        raise InvalidArgumentError(f"border must be a whole number of pixels in [0, {min(shape) / 2:g}), "
                                   f"got {border!r}")
    inside = np.zeros(shape, bool)
    inside[border:shape[0] - border, border:shape[1] - border] = True
    level = background(score[inside])
    score = np.where(inside, score, score[inside].min())
    seeds = find_seeds(score, d, threshold, max_cells, level)
    if len(seeds) == 0:
        return cells_from_labels(np.zeros(shape, np.int32), d)
    n_frames = -(-len(fs.plan(fslice)[0]) // int(time_bin))  # runs (only the last may be shorter)
    grow = (fs, score, d, n_frames, fslice, budget, engine, int(time_bin))
    cells, kept = _grow(seeds, *grow)
    # a dim cell beside a bright one can sit on the bright one's smoothed tail, with no maximum
    # of its own: look again with the cells found so far (and a margin) taken out of the score
    taken = ndimage.binary_dilation(cells.labels > 0, iterations=max(1, round(d / 6)))
    # (such seeds must be clearly stronger, and a diameter from every cell: not on a cell's rim)
    more = find_seeds(np.where(taken, 0.0, score), d, 3 * threshold, None, level)
    if len(more) and cells.n:
        far = np.hypot(*(more[:, None, :] - cells.centers[None]).transpose(2, 0, 1)).min(axis=1) >= d
        more = more[far]
    if max_cells is not None:
        more = more[:max(0, int(max_cells) - len(kept))]
    if len(more):
        cells, _ = _grow(np.concatenate([kept, more]), *grow)
    return cells


def _grow(seeds, fs, score, d, n_frames, fslice, budget, engine, time_bin) -> tuple[Cells, np.ndarray]:
    """The seed pass, merging and footprints: the cells and the seeds kept after merging."""
    half = int(np.ceil(0.75 * d)) + 1
    off = np.arange(-half, half + 1)
    disk = (np.hypot(off[:, None], off[None, :]) <= max(d / 4, 1)).ravel()
    red = SeedCorrelation(seeds, half, fs.frame_shape, disk)
    red = TimeBinned(red, time_bin) if time_bin > 1 else red
    rho, rtt = fs._reduce(red, fslice, None, budget, "cell footprints", engine)
    keep = _merge(seeds, rtt, d)
    cells = _assemble(seeds, rho, keep, half, fs.frame_shape, d, n_frames, score[seeds[:, 0], seeds[:, 1]])
    return cells, seeds[keep]


# -- scoring against a ground truth ---------------------------------------------------------------

def match_centers(true_centers: np.ndarray, found: np.ndarray, max_distance: float) -> dict[str, float]:
    """Precision, recall and F1 of found centres against true ones (one-to-one, Hungarian matching).

    A pair matches when its centres are at most ``max_distance`` apart.

    Examples
    --------
    >>> import numpy as np
    >>> match_centers(np.array([[5.0, 5], [20, 20]]), np.array([[6.0, 5], [40, 40]]), 3)
    {'n_true': 2, 'n_found': 2, 'matched': 1, 'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    t, f = np.asarray(true_centers, float).reshape(-1, 2), np.asarray(found, float).reshape(-1, 2)
    matched = 0
    if len(t) and len(f):
        dist = np.hypot(*(t[:, None, :] - f[None, :, :]).transpose(2, 0, 1))
        cost = np.where(dist <= max_distance, dist, 1e9)
        r, c = optimize.linear_sum_assignment(cost)
        matched = int((dist[r, c] <= max_distance).sum())
    precision = matched / len(f) if len(f) else 0.0
    recall = matched / len(t) if len(t) else 0.0
    f1 = 2 * matched / (len(t) + len(f)) if len(t) + len(f) else 1.0
    return {"n_true": len(t), "n_found": len(f), "matched": matched, "precision": precision,
            "recall": recall, "f1": f1}


def demo_cells(sm, fs: FrameSequence, **kwargs) -> dict:
    """Detect cells in a synthetic movie and score them against its ground truth (``sm.cell_masks``).

    The diameter is that of the true cells (median equivalent diameter)
    unless given in ``kwargs`` (passed to :func:`detect_cells`).  Returns the
    counts, precision, recall, F1 (match: centroids within half a diameter)
    and the time taken, with the :class:`Cells` under ``'cells'``.

    Examples
    --------
    >>> from imfun.synthdata import two_photon_movie
    >>> sm = two_photon_movie(n_frames=200, shape=(48, 48), n_cells=3, seed=2, spike_rate=1.0)
    >>> out = demo_cells(sm, sm.to_fseq())
    >>> out['f1'], out['n_found']
    (1.0, 3)
    """
    import time

    masks = np.asarray(sm.cell_masks, bool)
    true_centers = np.array([ndimage.center_of_mass(m) for m in masks]).reshape(-1, 2)
    areas = masks.reshape(len(masks), -1).sum(axis=1)
    d = float(2 * np.sqrt(np.median(areas) / np.pi)) if len(masks) else 10.0
    if "diameter" not in kwargs:
        kwargs.setdefault("diameter_px", d)
    t0 = time.perf_counter()
    cells = detect_cells(fs, **kwargs)
    seconds = time.perf_counter() - t0
    out = match_centers(true_centers, cells.centers, cells.diameter_px / 2)
    return {**out, "seconds": seconds, "cells": cells}


__all__ = ["Cells", "SeedCorrelation", "cells_from_labels", "demo_cells", "detect_cells", "match_centers"]
