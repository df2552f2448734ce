"""``FrameSequence``: the façade.  It routes; readers read and the engine computes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import reduce as _reduce
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

from .. import config
from ..analysis.methods import AnalysisMixin
from ..axes import Axes
from ..dist.methods import DaskMixin
from ..engine import execute
from ..engine import pixels as _pixels
from ..engine import reduce as _reduce_ops
from ..engine.blocks import frames_per_block, read_ahead, spans
from ..engine.progress import progress
from ..errors import (
    EmptySequenceError,
    FrameIndexError,
    InvalidArgumentError,
    ShapeMismatchError,
    UnknownArgumentError,
)
from ..export.methods import ExportMixin
from ..readers.base import ArrayReader, Reader, apply_crop, copy_frames
from ..registration.methods import RegistrationMixin
from ..selection import crop_shape, fslice_positions, index_positions, normalize_crop


class BlockPlan(NamedTuple):
    """The frames a call reads (positions in the sequence), the resolved crop, and
    how many frames go in one block."""

    positions: np.ndarray
    crop: tuple[slice, slice] | None
    frames_per_block: int


def check_kwargs(func_name: str, kwargs: dict, allowed: Sequence[str] = ()) -> None:
    """Refuse keyword arguments that a function does not know (never drop them silently)."""
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        hint = f"; it accepts {', '.join(allowed)}" if allowed else ""
        raise UnknownArgumentError(
            f"{func_name}() got unknown keyword argument(s): {', '.join(map(repr, unknown))}{hint}")


def _identity(frame):
    return frame


def _compose2(f, g):
    return lambda frame: g(f(frame))


class FrameSequence(ExportMixin, AnalysisMixin, DaskMixin, RegistrationMixin):
    """Base class for sequence of frames.

    A frame sequence is an ordered stack of 2-D frames (``rows x cols``, or
    ``rows x cols x channels`` for colour) read lazily from a :class:`Reader`,
    passed through a per-frame pipeline (``fns``), with physical axes in
    ``meta['axes']``.  Every computing method reads frames in blocks sized by
    the memory budget (:mod:`imfun.config`), so memory stays bounded whatever
    the length of the sequence.

    Examples
    --------
    >>> import numpy as np
    >>> from imfun.fseq import FSeq_arr
    >>> fs = FSeq_arr(np.arange(24.0).reshape(6, 2, 2))
    >>> fs.meta['axes'][0] = (0.5, 's')
    >>> fs.mean_frame()
    array([[10., 11.],
           [12., 13.]])
    >>> fs.frame_idx()
    array([0. , 0.5, 1. , 1.5, 2. , 2.5])
    >>> np.asarray(fs[::2]).shape
    (3, 2, 2)
    """

    def __init__(self, reader: Reader, fns: Sequence[Callable] | None = None,
                 meta: dict | None = None):
        if reader.shape[0] == 0:
            raise EmptySequenceError(f"{reader.source or 'the source'} holds no frames")
        self.reader = reader
        self.fns = list(fns) if fns is not None else []
        self.meta = self._make_meta(reader, meta)
        self._frames: np.ndarray | None = None  # source frame of each position; None: all, in order
        self._crop = None  # a crop fixed by a lazy transform (see `crop_frames`)
        self._probe_cache: tuple | None = None

    @staticmethod
    def _make_meta(reader: Reader, meta: dict | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out.update(getattr(reader, "metadata", {}) or {})
        out.update(meta or {})
        out["axes"] = Axes(out["axes"]) if "axes" in (meta or {}) else Axes(reader.axes)
        return out

    # -- what the frames look like -----------------------------------------
    def pipeline(self) -> Callable:
        """Return the composite function to process frames based on self.fns."""
        if not self.fns:
            return _identity
        return _reduce(_compose2, self.fns)

    def _probe(self) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype of a frame after the pipeline (and the fixed crop)."""
        key = (tuple(map(id, self.fns)), self._crop)
        if self._probe_cache is None or self._probe_cache[0] != key:
            if self.fns:
                frame = self._read_positions(np.array([0]), None)[0]
                shape, dtype = frame.shape, frame.dtype
            else:
                shape, dtype = crop_shape(self._crop, self.reader.shape[1:]), self.reader.dtype
            self._probe_cache = (key, (tuple(shape), np.dtype(dtype)))
        return self._probe_cache[1]

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """Shape of one (pipelined) frame: ``(rows, cols)`` or ``(rows, cols, channels)``."""
        return self._probe()[0]

    @property
    def dtype(self) -> np.dtype:
        """Data type of a (pipelined) frame."""
        return self._probe()[1]

    @property
    def ndim(self) -> int:
        return 1 + len(self.frame_shape)

    def shape(self, crop=None) -> tuple[int, ...]:
        """Return the shape of frames in the sequence (of ``frame[crop]`` if crop is given)."""
        return crop_shape(normalize_crop(crop, self.frame_shape), self.frame_shape)

    def length(self) -> int:
        """Return number of frames in the sequence."""
        return len(self)

    def __len__(self) -> int:
        return self.reader.shape[0] if self._frames is None else len(self._frames)

    def source_frames(self, positions: np.ndarray) -> np.ndarray:
        """The reader's frame indices behind positions of this sequence."""
        return positions if self._frames is None else self._frames[positions]

    def frame_idx(self) -> np.ndarray:
        """Return a vector of time stamps, if frame sequence is timelapse and dt is set,
        or just arange(nframes).

        Time stamps come from ``meta['frame_times']`` when the source recorded
        them, otherwise from the frame axis: ``t0 + i * dt``.
        """
        times = self.meta.get("frame_times")
        if times is not None and len(times) == len(self):
            return np.asarray(times, dtype=float)
        dt, unit = self.meta["axes"][0]
        if not unit:
            return np.arange(len(self))
        return self.meta.get("t0", 0.0) + np.arange(len(self)) * dt

    def source_paths(self) -> list[Path]:
        """Files that the frames are read from (empty for in-memory arrays)."""
        from pathlib import Path  # on use: pathlib costs ``import imfun.fseq`` ~5 ms

        paths = getattr(self.reader, "paths", None)
        return [Path(p) for p in paths] if paths else []

    # -- reading --------------------------------------------------------------
    def _read_positions(self, positions: np.ndarray, crop) -> np.ndarray:
        """Frames at the given positions, pipelined and cropped: ``(n, rows, cols[, c])``."""
        src = self.source_frames(positions)
        if not self.fns:
            from ..selection import compose_crops

            return self.reader.read(src, compose_crops(self._crop, crop))
        out = execute.apply_pipeline(self.reader.read(src), self.pipeline())
        out = apply_crop(out, self._crop)
        return apply_crop(out, crop)

    def plan(self, fslice=None, crop=None, budget=None, in_flight: int = 2,
             values_per_frame: int | None = None, work_itemsize: int = 8) -> BlockPlan:
        """How the engine will read a selection: its positions, the resolved crop,
        and the number of frames per block under the budget (``in_flight`` blocks
        alive at once; ``values_per_frame`` when a reduction reads fewer values of each
        frame than the crop holds; ``work_itemsize`` bytes a value for the work's copy, 0 when
        it needs none)."""
        positions = fslice_positions(fslice, len(self))
        crop = normalize_crop(crop, self.frame_shape)
        shape = self.shape(crop)
        n_values = int(np.prod(shape)) if values_per_frame is None else int(values_per_frame)
        per_block = frames_per_block(n_values * self.dtype.itemsize, n_values,
                                     config.resolve_budget(budget), self.reader.natural_block,
                                     in_flight, work_itemsize)
        return BlockPlan(positions, crop, per_block)

    def iter_blocks(self, fslice=None, crop=None, dtype=None, *, budget=None,
                    desc: str | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(start, block)``: the selected frames, pipelined and cropped, in blocks.

        ``start`` is the position of the block's first frame among the selected
        frames.  Blocks are sized by the memory budget and the next block is
        read in a background thread while the current one is used.  This is
        the one road by which every method reads data.
        """
        positions, crop, per_block = self.plan(fslice, crop, budget)

        from ..dtypes import check_cast  # never wraps: narrowing is checked (imfun.dtypes)

        def read(start, stop):
            block = self._read_positions(positions[start:stop], crop)
            return block if dtype is None else check_cast(block, dtype, f"frames {start}-{stop - 1}",
                                                          rescale=False)

        runs = spans(len(positions), per_block)
        # a bar on a terminal for work that lasts (named by the caller), quiet otherwise
        with progress(len(positions), desc or "", enable=None if desc else False) as bar:
            for (start, _), block in read_ahead(read, runs):
                yield start, block
                bar.update(len(block))

    def asiter(self, fslice=None, crop=None) -> Iterator[np.ndarray]:
        """Return an iterator over the frames taking frames from fslice and f[crop] for each frame."""
        for _, block in self.iter_blocks(fslice, crop):
            yield from block

    def frames(self) -> Iterator[np.ndarray]:
        """Return iterator over frames.

        The composition of functions in ``self.fns`` is applied to each frame.
        Examples of function "hooks" to put into ``self.fns`` are
        :func:`imfun.lib.DFoSD`, :func:`imfun.lib.DFoF` or functions from
        ``scipy.ndimage``.
        """
        return self.asiter()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.asiter()

    def frame_slices(self, crop=None) -> Iterator[np.ndarray]:
        """Return iterator over subframes (slices defined by crop parameter).
        When crop is None, full frames are returned."""
        return self.asiter(crop=crop)

    def aslist(self, max_frames=None, crop=None) -> list[np.ndarray]:
        """Return the frames as a list up to max_frames frames taking f[crop] slices."""
        return list(self.asiter(max_frames, crop))

    def as3darray(self, fslice=None, crop=None, dtype=np.float64, budget=None) -> np.ndarray:
        """Return the frames as a 3D array (4D for colour frames).

        An alternative way is to use the ``__getitem__`` interface:
        ``data = np.asarray(fs[10:100])``.

        Parameters
        ----------
        fslice : int, tuple-like, slice or None
            ``[start,] stop [, step]`` to go through frames.
        crop : tuple of slices or None
            A crop to take from each frame.
        dtype : numpy dtype or None
            Data type of the result (default ``np.float64``; None keeps the frames' own).

        Returns
        -------
        numpy.ndarray
            ``d`` with ``d[0]`` the first selected frame.
        """
        positions, crop_r, _ = self.plan(fslice, crop, budget)
        dtype = np.dtype(dtype or self.dtype)
        if not self.fns and dtype == self.dtype and self.reader.cheap_crop:
            # a memory map or chunked store fills the result in one read: no block copies
            block = self._read_positions(positions, crop_r)
            return block if self.reader.is_fresh(block) else copy_frames(block)
        out = None
        # blocks come converted (checked: a narrowing conversion never wraps, see imfun.dtypes)
        for start, block in self.iter_blocks(fslice, crop_r, dtype=dtype, budget=budget):
            if start == 0 and len(block) == len(positions) and block.flags.owndata:
                return block  # one fresh block: no second copy
            if out is None:
                out = np.empty((len(positions), *block.shape[1:]), dtype)
            out[start:start + len(block)] = block
        return out

    def __array__(self, dtype=None, copy=None):
        return self.as3darray(dtype=dtype or self.dtype)

    def __getitem__(self, index):
        if isinstance(index, int | np.integer):
            n = len(self)
            if not -n <= index < n:
                raise FrameIndexError(f"frame index {index} is out of range for {n} frames")
            return self._read_positions(np.array([index % n]), None)[0]
        if isinstance(index, slice):
            positions = np.arange(*index.indices(len(self)))
        elif isinstance(index, tuple):
            raise FrameIndexError(
                "index frames with one int, slice, list or mask, then crop with "
                "as3darray(crop=...) or np.asarray(fs[...])[:, rows, cols]")
        else:
            positions = index_positions(index, len(self))
        if len(positions) == 0:
            raise EmptySequenceError(f"the index {index!r} selects no frames of the {len(self)}")
        return self._subsequence(positions, index)

    def _subsequence(self, positions: np.ndarray, index=None) -> FrameSequence:
        """A lazy sequence of some of this one's frames (same reader, pipeline, meta)."""
        import copy

        new = copy.copy(self)
        new._frames = self.source_frames(positions)
        new.fns = list(self.fns)
        new.meta = dict(self.meta)
        new.meta["axes"] = self.meta["axes"].copy()
        recorded = self.meta.get("frame_times")
        if recorded is not None and len(recorded) == len(self):
            # recorded (possibly irregular) time stamps travel with their frames
            new.meta["frame_times"] = np.asarray(recorded, dtype=float)[positions]
        elif self.meta["axes"][0].unit:
            times = self.frame_idx()
            steps = np.diff(positions) if len(positions) > 1 else np.array([1])
            if steps.min() == steps.max() > 0:  # a regular run forward: a new frame interval
                dt, unit = self.meta["axes"][0]
                new.meta["axes"][0] = (dt * int(steps[0]), unit)
                new.meta["t0"] = float(times[positions[0]])
            else:
                new.meta["frame_times"] = times[positions]
        return new

    # -- resources ----------------------------------------------------------
    def close(self) -> None:
        """Close the source file(s); reading again reopens them."""
        self.reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        try:
            shape, dtype = self.frame_shape, self.dtype
        except Exception as exc:
            shape, dtype = f"? ({exc})", "?"
        fn_names = [getattr(f, "__name__", type(f).__name__) for f in self.fns]
        pipe = f"\n  pipeline: {' -> '.join(fn_names)}" if fn_names else ""
        # a reader's guess about the layout is said where the user looks
        guess = f"\n  note: {self.meta['axes_guess']}" if self.meta.get("axes_guess") else ""
        return (f"<{type(self).__name__}: {len(self)} frames of {shape} {dtype}\n"
                f"  axes: {self.meta['axes'].describe()}\n"
                f"  source: {self.reader.source}{pipe}{guess}>")

    def _repr_html_(self) -> str:
        """The summary table and a thumbnail of one frame, for Jupyter (:mod:`imfun.display`)."""
        from ..display import html_summary

        return html_summary(self)

    # -- projections and statistics ------------------------------------------
    def _reduce(self, reduction, fslice, crop, budget, desc: str, engine=None):
        """Run a reduction over the selected frames: locally, or on dask when asked
        (``engine='dask'``, a ``Client``) or when a ``dask.distributed`` client is active."""
        return execute.run_reduction(self, reduction, fslice, crop, budget, desc, engine)

    def mean_frame(self, fslice=None, *, crop=None, budget=None, engine=None) -> np.ndarray:
        """Return average image over a number of frames (all by default).

        Frame range is given as argument ``fslice``: if it's an int, use N first
        frames, if it's tuple-like, it can be of the form ``[start,] stop [,step]``.
        The mean divides by the number of frames N.
        """
        return self._reduce(_reduce_ops.Mean(), fslice, crop, budget, "mean_frame", engine)

    def max_project(self, fslice=None, *, crop=None, budget=None, engine=None) -> np.ndarray:
        """Return max-projection image over a number of frames (all by default).

        See :meth:`mean_frame` for ``fslice``.
        """
        return self._reduce(_reduce_ops.Extreme(np.maximum), fslice, crop, budget, "max_project", engine)

    def min_project(self, fslice=None, *, crop=None, budget=None, engine=None) -> np.ndarray:
        """Return min-projection image over a number of frames (all by default)."""
        return self._reduce(_reduce_ops.Extreme(np.minimum), fslice, crop, budget, "min_project", engine)

    def std(self, axis=None, *, fslice=None, crop=None, budget=None, engine=None):
        """Get standard deviation of the data.

        ``axis=None`` gives the standard deviation of all values (per channel
        for colour frames); ``axis=0`` a standard-deviation projection image.
        Both divide by N (as ``numpy.std``).
        """
        if axis not in (None, 0):
            raise InvalidArgumentError(
                f"std(axis=...) takes None (all data) or 0 (a projection), got {axis!r}")
        return self._reduce(_reduce_ops.Std(axis, colour=len(self.frame_shape) == 3),
                            fslice, crop, budget, "std", engine)

    def data_range(self, *, fslice=None, crop=None, budget=None, engine=None):
        """Return global range ``(min, max)`` values for the sequence.

        For colour frames, a ``(channels, 2)`` array of per-channel ranges.
        """
        return self._reduce(_reduce_ops.Range(colour=len(self.frame_shape) == 3),
                            fslice, crop, budget, "data_range", engine)

    def data_percentile(self, p, *, fslice=None, crop=None, budget=None, engine=None):
        """Return a percentile p value on data.

        Exact (equal to ``numpy.percentile`` with linear interpolation) for
        integer and float data, without holding all data in memory when it
        exceeds the budget.  Per channel for colour frames (last axis).

        Parameters
        ----------
        p : float in range of [0,100] (or sequence of floats)
            Percentile to compute which must be between 0 and 100 inclusive.
        """
        p_arr = np.asarray(p, dtype=float)
        if np.any(~np.isfinite(p_arr)) or np.any((p_arr < 0) | (p_arr > 100)):
            raise InvalidArgumentError(f"percentiles must be within [0, 100], got {p!r}")
        positions, crop_r, _ = self.plan(fslice, crop, budget)
        shape = self.shape(crop_r)
        colour = len(shape) == 3
        n_values = len(positions) * shape[0] * shape[1]
        if n_values * self.dtype.itemsize * (shape[2] if colour else 1) <= config.resolve_budget(budget) // 2:
            # small enough to hold: numpy itself, in one read
            data = self.as3darray(fslice, crop_r, dtype=None, budget=budget)
            q = p_arr.item() if p_arr.ndim == 0 else p_arr  # numpy treats a scalar q as a Python float
            if colour:
                return np.percentile(data.reshape(-1, shape[2]), q, axis=0)
            return np.percentile(data, q)

        def run(reduction):
            return self._reduce(reduction, fslice, crop_r, budget, "data_percentile", engine)

        return _reduce_ops.percentile(run, p_arr, self.dtype, n_values,
                                      shape[2] if colour else 1, colour)

    # -- ROI traces -------------------------------------------------------------
    def _roi_traces(self, weights: list[np.ndarray], fslice, budget, engine=None) -> np.ndarray:
        reduction = _reduce_ops.RoiTraces(weights)
        # read only the rows and columns that the ROIs span (free for memory maps)
        return self._reduce(reduction, fslice, reduction.bbox, budget, "ROI traces", engine)

    def _as_mask(self, mask, soft: bool) -> np.ndarray:
        shape = self.frame_shape[:2]
        if isinstance(mask, slice | tuple) and not isinstance(mask, np.ndarray):
            crop = normalize_crop(mask, shape) or (slice(0, shape[0]), slice(0, shape[1]))
            m = np.zeros(shape, bool)
            m[crop] = True
            return m
        m = np.asarray(mask)
        if m.shape != shape:
            raise ShapeMismatchError(f"the mask has shape {m.shape} but frames are {shape}")
        if soft:
            m = m.astype(float)
            if np.any(~np.isfinite(m)) or m.min() < 0 or m.max() > 1:
                raise InvalidArgumentError("soft-mask weights must lie in [0, 1]")
            if m.sum() == 0:
                raise InvalidArgumentError("the soft mask has no positive weight")
            return m
        if m.dtype != bool:
            raise InvalidArgumentError(
                f"a mask must be boolean (got {m.dtype}); use softmask_reduce for weights")
        if not m.any():
            raise InvalidArgumentError("the mask selects no pixels")
        return m

    def mask_reduce(self, mask, *, fslice=None, budget=None, engine=None) -> np.ndarray:
        """Return 1D vector from a mask (or slice), taking average value within
        this mask in each frame (``(n_frames, channels)`` for colour frames)."""
        return self._roi_traces([self._as_mask(mask, soft=False)], fslice, budget, engine)[0]

    def softmask_reduce(self, mask, *, fslice=None, budget=None, engine=None) -> np.ndarray:
        """Return 1D vector from a mask (or slice), taking average value within
        this mask in each frame, weighted by mask values between 0 and 1:
        ``sum(w * f) / sum(w)``."""
        return self._roi_traces([self._as_mask(mask, soft=True)], fslice, budget, engine)[0]

    def multi_mask_reduce(self, masks, *, fslice=None, budget=None, engine=None) -> np.ndarray:
        """Mean inside each of many masks, in one pass over the data.

        Parameters
        ----------
        masks : sequence of 2-D boolean arrays (or slices), or a 3-D boolean array
            One mask per ROI.

        Returns
        -------
        numpy.ndarray
            ``(n_rois, n_frames)`` (``(n_rois, n_frames, channels)`` for colour).
        """
        masks = list(masks)
        if not masks:
            raise InvalidArgumentError("multi_mask_reduce needs at least one mask")
        return self._roi_traces([self._as_mask(m, soft=False) for m in masks], fslice, budget, engine)

    def labels_reduce(self, labels, *, fslice=None, budget=None, engine=None) -> np.ndarray:
        """Mean inside each labelled region of a label image (0 is background).

        Returns an ``(n_rois, n_frames)`` array, rows in increasing label order (the labels
        are ``np.unique(labels[labels > 0])``; :meth:`roi_traces` gives them as names).
        """
        lab = np.asarray(labels)
        if lab.shape != self.frame_shape[:2]:
            raise ShapeMismatchError(f"the label image has shape {lab.shape} but frames are "
                                     f"{self.frame_shape[:2]}")
        if not np.issubdtype(lab.dtype, np.integer):
            raise InvalidArgumentError(f"labels must be integers, got {lab.dtype}")
        values = np.unique(lab[lab > 0])
        if len(values) == 0:
            raise InvalidArgumentError("the label image holds no labels (all pixels are 0)")
        return self._roi_traces([lab == v for v in values], fslice, budget, engine)

    # -- per-pixel work ------------------------------------------------------
    def time_project(self, fslice=None, fn=np.mean, crop=None, *, budget=None, engine=None) -> np.ndarray:
        """Apply an f(vector) -> scalar function for each pixel.

        When ``fn`` accepts an ``axis`` argument (numpy reductions), it is
        applied to whole tiles of pixels at once; otherwise once per pixel.
        Pixels are read in time-contiguous tiles within the memory budget.

        Parameters
        ----------
        fslice : int, tuple-like or None
            ``[start,] stop [, step]`` go through these frames.
        fn : callable
            Function to apply (``np.mean`` by default).

        Returns
        -------
        numpy.ndarray
            A projected frame.
        """
        return execute.time_project(self, fslice, fn, crop, budget, engine)

    def pix_iter(self, pmask=None, fslice=None, rand=False, crop=None, **kwargs):
        """Return iterator over time signals from each pixel.

        Parameters
        ----------
        pmask : 2D bool array or None
            Skip pixels where mask is False; if None, take all pixels.
        fslice : int, slice or None
            ``[start,] stop [, step]`` to go through frames.
        rand : bool
            Whether to go through pixels in a random order.
        crop : tuple of slices or None
            Take pixels of this crop only (rows and columns are then within the crop).
        **kwargs
            ``dtype`` (of the yielded vectors, default float64) and ``budget``,
            as for :meth:`as3darray`.

        Yields
        ------
        tuple
            ``(v, row, col)``, where v is the time-series in a pixel at row, col.
        """
        check_kwargs("pix_iter", kwargs, ("dtype", "budget"))
        return _pixels.pix_iter(self, pmask, fslice, rand, crop,
                                kwargs.get("dtype", np.float64),
                                config.resolve_budget(kwargs.get("budget")))

    def pw_transform(self, pwfn, verbose=False, vectorized=False, engine=None, **kwargs) -> FrameSequence:
        """Spawn another frame sequence, pixelwise applying a user-provided function.

        Parameters
        ----------
        pwfn : callable
            A ``f(vector) -> vector`` function (the output length may differ
            from the input's).  With ``vectorized=True`` it is called on
            ``(T, n_pixels)`` tiles and must work along axis 0.  Its input is
            a private copy, which it may change in place to save memory.
        verbose : bool
            Show a progress bar while going through the pixels.
        **kwargs
            ``pmask``, ``fslice``, ``crop``, ``dtype`` (of the vectors given to
            ``pwfn``, float64 by default), ``budget`` as for :meth:`pix_iter`;
            pixels outside ``pmask`` are 0 in the result.

        Returns
        -------
        FSeq_arr
            The transformed frames (held in memory, or in a temporary memory-mapped
            file when they exceed a quarter of the machine's memory).
        """
        check_kwargs("pw_transform", kwargs, ("pmask", "fslice", "crop", "dtype", "budget", "rand"))
        kwargs.pop("rand", None)  # order does not change the result
        out = execute.pw_transform(self, pwfn, verbose, vectorized, pmask=kwargs.get("pmask"),
                                   fslice=kwargs.get("fslice"), crop=kwargs.get("crop"),
                                   dtype=kwargs.get("dtype"), budget=kwargs.get("budget"), engine=engine)
        meta = {"axes": self.meta["axes"].copy()}
        return FSeq_arr(out, meta=meta)


class FSeq_arr(FrameSequence):
    """A FrameSequence class as a wrapper around a 3D Numpy array.

    Parameters
    ----------
    arr : array_like
        ``(frames, rows, cols)`` or ``(frames, rows, cols, channels)``; numpy
        arrays and memory maps are used without a copy.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata; ``meta['axes']`` as ``[(dt, 's'), (dy, 'µm'), (dx, 'µm')]``.

    Examples
    --------
    >>> import numpy as np
    >>> fs = FSeq_arr(np.zeros((10, 4, 5), np.uint16), meta={'axes': [(0.1, 's'), (0.5, 'um'), (0.5, 'um')]})
    >>> len(fs), fs.frame_shape, fs.meta['axes'][1]
    (10, (4, 5), AxisScale(scale=0.5, unit='µm'))
    """

    def __init__(self, arr, fns=None, meta=None):
        super().__init__(ArrayReader(arr), fns=fns, meta=meta)

    @property
    def data(self):
        """The wrapped array."""
        return self.reader.arr

