"""Analysis methods of ``FrameSequence`` (ΔF/F, z-score, binning ...), mixed into the class.

The methods are thin: derived sequences are made in :mod:`imfun.analysis.transforms`
and :mod:`imfun.analysis.dfof`, ROI files are read in :mod:`imfun.analysis.rois`.
Every derived sequence is lazy: it reads its parent in blocks when its own
frames are read, and its ``meta['axes']`` follow the transform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence


class AnalysisMixin:
    """Methods that derive new, lazy sequences from a sequence."""

    # -- geometry ---------------------------------------------------------------------------------
    def bin(self, factor, *, dtype=None, budget=None) -> FrameSequence:
        """Spatial binning: each output pixel is the mean of a ``fy x fx`` block of pixels.

        Rows and columns that do not fill a whole block at the bottom/right edge
        are dropped.  ``meta['axes']`` rows and columns scales are multiplied by
        the factors.

        Parameters
        ----------
        factor : int or (int, int)
            The binning factor, the same for rows and columns or ``(fy, fx)``.
        dtype : numpy dtype or None
            Of the result (default float32 for 8/16-bit and float32 data, else float64).
        budget : int or str or None
            Memory budget for reading the parent (default: the global one at read time).

        Returns
        -------
        FrameSequence
            A lazy sequence; nothing is read until its frames are.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> axes = [(1, "s"), (0.5, "um"), (0.5, "um")]
        >>> fs = FSeq_arr(np.arange(32.0).reshape(2, 4, 4), meta={"axes": axes})
        >>> b = fs.bin(2)
        >>> b.frame_shape, b.meta['axes'][1]
        ((2, 2), AxisScale(scale=1.0, unit='µm'))
        >>> b[0]
        array([[ 2.5,  4.5],
               [10.5, 12.5]])
        """
        from .transforms import bin_space

        return bin_space(self, factor, dtype=dtype, budget=budget)

    def bin_time(self, factor: int, *, dtype=None, budget=None) -> FrameSequence:
        """Temporal binning: each output frame is the mean of ``factor`` consecutive frames.

        The last ``len(fs) % factor`` frames are dropped; ``dt`` is multiplied by
        ``factor`` and a binned frame's time is the mean time of its frames.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.arange(5.0).reshape(5, 1, 1), meta={'axes': [(0.1, 's')]})
        >>> b = fs.bin_time(2)
        >>> np.asarray(b).ravel(), b.meta['axes'][0].scale, b.frame_idx()
        (array([0.5, 2.5]), 0.2, array([0.05, 0.25]))
        """
        from .transforms import bin_time

        return bin_time(self, factor, dtype=dtype, budget=budget)

    def crop_frames(self, rows=None, cols=None) -> FrameSequence:
        """A lazy sequence of a part of each frame: ``frame[rows, cols]``.

        The crop is pushed down to the reader, so memory-mapped and chunked
        files read only the cropped pixels.  Scales are kept (multiplied by the
        step of a strided crop).

        Parameters
        ----------
        rows, cols : slice or None
            e.g. ``slice(10, 50)``; None keeps all.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.zeros((3, 10, 12)))
        >>> fs.crop_frames(slice(2, 6), slice(0, 12, 2)).frame_shape
        (4, 6)
        """
        from .transforms import crop_frames

        return crop_frames(self, rows, cols)

    def cropped(self, crop) -> FrameSequence:
        """``crop_frames`` with a ``crop`` tuple of slices as elsewhere in the API (``(rows, cols)``)."""
        from ..errors import InvalidArgumentError

        if isinstance(crop, slice):
            crop = (crop,)
        if not isinstance(crop, tuple) or not 1 <= len(crop) <= 2:
            raise InvalidArgumentError(f"crop must be a tuple of one or two slices, got {crop!r}")
        return self.crop_frames(*crop)

    def resample_time(self, dt: float | None = None, factor: float | None = None, *, dtype=None,
                      budget=None) -> FrameSequence:
        """Resample in time by linear interpolation onto a regular grid.

        The new frames are at ``t0 + k * dt`` up to the last frame's time
        (frame times from :meth:`frame_idx`, so irregular ``frame_times`` are
        honoured).  Give either the new interval ``dt`` (in the frame axis'
        unit, which must be set) or ``factor`` (how many times more frames:
        ``2`` halves ``dt``).

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.arange(3.0).reshape(3, 1, 1), meta={'axes': [(1.0, 's')]})
        >>> np.asarray(fs.resample_time(dt=0.5)).ravel()
        array([0. , 0.5, 1. , 1.5, 2. ])
        """
        from .transforms import resample_time

        return resample_time(self, dt=dt, factor=factor, dtype=dtype, budget=budget)

    # -- ΔF/F and z-scores ----------------------------------------------------------------------
    def dfof(self, baseline_seconds: float | None = None, percentile: float = 10.0,
             method: str = "fast", *, baseline_frames: int | None = None, mode: str = "inside",
             dtype=None, budget=None) -> FrameSequence:
        """ΔF/F per pixel, ``(F - F0) / F0``, with a running baseline ``F0``; lazy and out of core.

        ``F0`` at frame ``t`` is a statistic of the frames in a window of
        ``baseline_seconds`` centred on ``t``: by default the ``percentile``
        (rank order, as ``scipy.ndimage.percentile_filter``) evaluated every
        quarter window and interpolated (``'fast'``, within 1 % of ``'exact'`` on
        smooth baselines), or exactly at every frame, suite2p's maximin, or the
        mean (:mod:`imfun.analysis.baseline`).  Near the edges the window is the
        first (last) full window of the recording, so no frame is its own
        baseline.  Spans of frames are read with the overlap they need, so the
        result equals the whole-movie computation
        (:func:`imfun.analysis.dfof.dfof_array`) whatever the memory budget, and
        its working memory is a fraction of the budget.  0 where ``F0 == 0``.

        Parameters
        ----------
        baseline_seconds : float
            Window length in seconds (the frame axis must be in seconds);
            rounded to an odd number of frames, at most the recording's length.
        percentile : float
            For the percentile methods (default 10).
        method : 'fast', 'exact', 'maximin' or 'mean'
            ``'percentile'`` is ``'exact'``.
        baseline_frames : int
            The window in frames instead of seconds.
        mode : 'inside', 'nearest', 'reflect' or 'mirror'
            Edges: windows inside the recording (default), or the recording
            extended by half a window as ``scipy.ndimage`` pads.
        dtype, budget :
            As for :meth:`bin`.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> x = np.ones((9, 2, 2)); x[4] = 3.0
        >>> fs = FSeq_arr(x, meta={'axes': [(0.5, 's')]})
        >>> np.asarray(fs.dfof(baseline_seconds=1.5, percentile=10))[:, 0, 0]
        array([0., 0., 0., 0., 2., 0., 0., 0., 0.])
        """
        from .dfof import dfof

        return dfof(self, baseline_seconds, percentile, method, baseline_frames, mode, dtype, budget)

    def zscore(self, window_seconds: float | None = None, *, window_frames: int | None = None,
               mode: str = "inside", dtype=None, budget=None) -> FrameSequence:
        """Z-score per pixel, ``(F - mean) / SD``; lazy and out of core.

        With a window (``window_seconds`` or ``window_frames``), the mean and SD
        are running ones over a centred window, with the edge ``mode`` of
        :meth:`dfof` (default: the first and last full window); without one,
        the mean and SD of the whole sequence per pixel (two engine passes, done
        on first read).  0 where the SD is 0.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1))
        >>> np.asarray(fs.zscore()).ravel().round(3)
        array([-1.225,  0.   ,  1.225])
        """
        from .dfof import zscore

        return zscore(self, window_seconds, window_frames, mode, dtype, budget)

    # -- summary images and cells (analysis/summary.py, analysis/cells.py) -------------------------
    def correlation_image(self, neighbours: int = 8, *, fslice=None, budget=None, engine=None
                          ) -> np.ndarray:
        """Mean Pearson correlation of each pixel with its 4 or 8 neighbours over time, in one pass.

        See :func:`imfun.analysis.summary.correlation_image`.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> FSeq_arr(np.random.default_rng(0).random((5, 3, 3))).correlation_image().shape
        (3, 3)
        """
        from .summary import correlation_image

        return correlation_image(self, neighbours, fslice=fslice, budget=budget, engine=engine)

    def pnr_image(self, smooth_frames: int = 3, *, fslice=None, budget=None, engine=None) -> np.ndarray:
        """Peak-to-noise ratio of each pixel's trace, in one pass.

        See :func:`imfun.analysis.summary.pnr_image` for the definition.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> FSeq_arr(np.random.default_rng(0).random((5, 3, 3))).pnr_image().shape
        (3, 3)
        """
        from .summary import pnr_image

        return pnr_image(self, smooth_frames, fslice=fslice, budget=budget, engine=engine)

    def enhanced_mean(self, sigma: float = 10.0, *, fslice=None, budget=None, engine=None) -> np.ndarray:
        """The mean image, high-passed and locally normalised, in [0, 1].

        See :func:`imfun.analysis.summary.enhanced_mean`.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> FSeq_arr(np.random.default_rng(0).random((5, 8, 8))).enhanced_mean(2).max()
        np.float32(1.0)
        """
        from .summary import enhanced_mean

        return enhanced_mean(self, sigma, fslice=fslice, budget=budget, engine=engine)

    def detect_cells(self, diameter: float | None = None, *, diameter_px: float | None = None,
                     method: str = "corr", threshold: float | None = None, max_cells: int | None = None,
                     fslice=None, budget=None, engine=None, border: int = 0, time_bin="auto"):
        """Find cells: seeds in the correlation and PNR images, footprints grown by correlation.

        See :func:`imfun.analysis.cells.detect_cells`; returns a
        :class:`imfun.analysis.cells.Cells`.

        Examples
        --------
        >>> from imfun.synthdata import two_photon_movie
        >>> sm = two_photon_movie(n_frames=200, shape=(48, 48), n_cells=3, seed=2, spike_rate=1.0)
        >>> cells = sm.to_fseq().detect_cells(diameter=10)
        >>> cells.n
        3
        """
        from .cells import detect_cells

        return detect_cells(self, diameter, diameter_px=diameter_px, method=method, threshold=threshold,
                            max_cells=max_cells, fslice=fslice, budget=budget, engine=engine, border=border,
                            time_bin=time_bin)

    # -- ROIs from files ---------------------------------------------------------------------------
    def roi_traces(self, rois, *, neuropil: str | None = None, neuropil_coef: float = 0.7,
                   inner_gap: int = 2, min_neuropil_pixels: int = 350, weights: bool = False,
                   components: bool = False, fslice=None, budget=None, engine=None):
        """Traces of ROIs (from a file, masks, labels or detected cells), with neuropil, in one pass.

        See :func:`imfun.analysis.traces.roi_traces`; returns a
        :class:`imfun.analysis.traces.Traces` (``.F``, ``.Fneu``, ``.corrected``,
        ``.names``, ``.times``, ``.dfof()``, ``.to_csv()``, ``.to_dataframe()``, ``.plot()``).

        Parameters
        ----------
        rois : str or path, array, or Cells
            A ROI file for :func:`imfun.analysis.rois.load_rois` (label/mask
            image, ``.npy``, ImageJ ``.roi``/``.zip``), a 2-D label image, a
            3-D stack of masks, or :class:`imfun.analysis.cells.Cells`.
        neuropil : None or 'annulus'
            Also measure a neuropil annulus around each ROI (clear of all ROIs).
        neuropil_coef : float
            ``corrected = F - neuropil_coef * Fneu``.
        inner_gap, min_neuropil_pixels : int
            Gap between ROIs and annuli; pixels each annulus grows to.
        weights : bool
            Weigh pixels by the soft footprints of Cells.
        components : bool
            Split a single mask into connected components.

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> lab = np.zeros((4, 4), int); lab[:2] = 3
        >>> t = FSeq_arr(np.ones((5, 4, 4))).roi_traces(lab)
        >>> t.F.shape, t.names
        ((1, 5), ['3'])
        """
        from .traces import roi_traces

        return roi_traces(self, rois, neuropil=neuropil, neuropil_coef=neuropil_coef, inner_gap=inner_gap,
                          min_neuropil_pixels=min_neuropil_pixels, weights=weights, components=components,
                          fslice=fslice, budget=budget, engine=engine)
