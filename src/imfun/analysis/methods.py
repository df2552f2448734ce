"""Analysis methods of ``FrameSequence`` (ΔF/F, z-score, binning ...), mixed into the class.

The methods are thin: derived sequences are made in :mod:`imfun.analysis.transforms`
and :mod:`imfun.analysis.dfof`, ROI files are read in :mod:`imfun.analysis.rois`.
Every derived sequence is lazy: it reads its parent in blocks when its own
frames are read, and its ``meta['axes']`` follow the transform.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence


class AnalysisMixin:
    """Methods that derive new, lazy sequences from a sequence."""

    # -- geometry ---------------------------------------------------------------------------------
    def bin(self, factor, dtype=None, budget=None) -> FrameSequence:
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

    def bin_time(self, factor: int, dtype=None, budget=None) -> FrameSequence:
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

    def resample_time(self, dt: float | None = None, factor: float | None = None, dtype=None,
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
             method: str = "percentile", *, baseline_frames: int | None = None, mode: str = "nearest",
             dtype=None, budget=None) -> FrameSequence:
        """ΔF/F per pixel, ``(F - F0) / F0``, with a running baseline ``F0``; lazy and out of core.

        ``F0`` at frame ``t`` is the ``percentile`` (rank order, as
        ``scipy.ndimage.percentile_filter``) or the mean of the frames in a window
        of ``baseline_seconds`` centred on ``t``.  Blocks are read with half a
        window of overlap on each side, so the result equals the whole-movie
        computation (:func:`imfun.analysis.dfof.dfof_array`) whatever the
        memory budget.  0 where ``F0 == 0``.

        Parameters
        ----------
        baseline_seconds : float
            Window length in seconds (the frame axis must be in seconds);
            rounded to an odd number of frames.
        percentile : float
            For ``method='percentile'`` (default 10).
        method : 'percentile' or 'mean'
        baseline_frames : int
            The window in frames instead of seconds.
        mode : 'nearest', 'reflect' or 'mirror'
            How the first and last half-window are padded (``scipy.ndimage`` modes).
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
               mode: str = "nearest", dtype=None, budget=None) -> FrameSequence:
        """Z-score per pixel, ``(F - mean) / SD``; lazy and out of core.

        With a window (``window_seconds`` or ``window_frames``), the mean and SD
        are running ones over a centred window (as :meth:`dfof`); without one,
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

    # -- ROIs from files ---------------------------------------------------------------------------
    def roi_traces(self, rois, fslice=None, budget=None, components: bool = False
                   ) -> tuple[np.ndarray, list[str]]:
        """Mean inside each ROI in each frame, with ROIs from a file or masks, in one pass.

        Parameters
        ----------
        rois : str or path, or array
            A ROI file for :func:`imfun.analysis.rois.load_rois` (label/mask
            image, ``.npy``, ImageJ ``.roi``/``.zip``), a 2-D label image or a
            3-D stack of masks.
        components : bool
            Split a single mask into connected components.

        Returns
        -------
        traces : numpy.ndarray
            ``(n_rois, n_frames)``.
        names : list of str

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> lab = np.zeros((4, 4), int); lab[:2] = 3
        >>> traces, names = FSeq_arr(np.ones((5, 4, 4))).roi_traces(lab)
        >>> traces.shape, names
        ((1, 5), ['3'])
        """
        from .rois import labels_to_masks, load_rois

        if isinstance(rois, str | os.PathLike):
            masks, names = load_rois(rois, self.frame_shape, components=components)
        else:
            arr = np.asarray(rois)
            if arr.ndim == 3:
                masks, names = arr.astype(bool), [str(i + 1) for i in range(len(arr))]
            else:
                masks, names = labels_to_masks(arr, components=components)
        return self.multi_mask_reduce(list(masks), fslice=fslice, budget=budget), names
