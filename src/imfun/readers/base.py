"""The reader contract: a reader knows only its source and only reads.

A reader exposes ``shape`` (frames, rows, cols[, channels]), ``dtype``,
``axes`` (physical scales from the file, see :mod:`imfun.fseq.axes`) and raw
``metadata``, and answers :meth:`Reader.read` for a run of frame indices with
an optional spatial crop.  Everything else (pipelines, projections, traces,
exports) lives above it, in the engine and the ``FrameSequence`` façade.

Readers are picklable: they pickle the arguments they were made with, never an
open handle, and reopen their source in the new process.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from _thread import RLock  # threading.RLock itself, without importing threading
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..axes import Axes
from ..errors import FrameIndexError, MissingDependencyError
from ..selection import unique_sorted

Crop = tuple[slice, slice] | None


def require(module: str, extra: str, package: str | None = None):
    """Import an optional dependency or raise an error that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pkg = package or module.split(".")[0]
        raise MissingDependencyError(
            f"this needs the optional package '{pkg}', which is not installed: "
            f"pip install 'imfun[{extra}]' (or pip install {pkg})") from exc


def as_slice(frames: np.ndarray) -> slice | None:
    """Return an equivalent ``slice`` if the indices are an increasing arithmetic run."""
    n = len(frames)
    if n == 0:
        return None
    start = int(frames[0])
    if n == 1:
        return slice(start, start + 1)
    step = int(frames[1]) - start
    if step <= 0:
        return None
    stop = start + step * (n - 1) + 1
    if not np.array_equal(frames, np.arange(start, stop, step)):
        return None
    return slice(start, stop, step)


def apply_crop(block: np.ndarray, crop: Crop) -> np.ndarray:
    """Crop a block of frames ``(n, rows, cols[, c])`` spatially."""
    return block if crop is None else block[(slice(None), *crop)]


def array_root(a: np.ndarray) -> np.ndarray:
    """The array whose memory ``a`` views (``a`` itself when it owns its data)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def forward_slice(s: slice) -> slice:
    """The same indices as a resolved slice, in increasing order (step > 0)."""
    if s.step > 0:
        return s
    r = range(s.start, -1 if s.stop is None else s.stop, s.step)[::-1]
    return slice(r.start, r.stop, r.step) if len(r) else slice(0, 0)


class Reader(ABC):
    """Base class of all readers.  Subclasses set the attributes in ``__init__``.

    Attributes
    ----------
    shape : tuple
        ``(n_frames, rows, cols)`` or ``(n_frames, rows, cols, channels)``.
    dtype : numpy.dtype
        Data type of the frames as read.
    axes : Axes
        ``(scale, unit)`` for frames, rows and columns, as the source states them.
    metadata : dict
        Raw metadata of the source (for humans and for ``fs.meta``).
    thread_safe : bool
        Whether :meth:`read` may be called from several threads at once.  When
        False, the base class serialises calls with a lock.
    cheap_crop : bool
        Whether reading a spatial crop costs much less than reading whole
        frames (memory maps, chunked stores).  The engine uses it to read only
        the rows an ROI spans and to cut pixel tiles without a full pass.
    natural_block : int
        Frames per storage chunk; blocks are aligned to multiples of it.
    source : str
        What the frames come from (a path, ``'array'``), for ``repr``.
    paths : tuple of str
        The files the frames are read from.
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    axes: Axes
    metadata: dict[str, Any]
    thread_safe: bool = True
    cheap_crop: bool = False
    natural_block: int = 1
    source: str = ""
    paths: tuple = ()  # files the frames are read from (writers refuse to overwrite them)
    any_order: bool = False  # _read takes indices in any order, with repeats
    # the parsed layout (plain data, handles in FileManagers) pickles as it is: a worker that
    # unpickles the reader reads frames without parsing the file's headers again
    portable_layout: bool = False

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        # remembered for pickling: a reader pickles how it was made, not its handles
        self._init_args = (args, kwargs)
        self._lock = RLock()
        return self

    # -- reading ---------------------------------------------------------
    def read(self, frames: np.ndarray | slice, crop: Crop = None) -> np.ndarray:
        """Read frames (indices or a slice of the reader's frames), optionally cropped.

        Returns an array ``(n, rows, cols[, c])``; it may be a read-only view.
        """
        if isinstance(frames, slice):
            frames = np.arange(*frames.indices(self.shape[0]))
        frames = np.asarray(frames, dtype=np.intp).ravel()
        if len(frames) and (frames.min() < 0 or frames.max() >= self.shape[0]):
            raise FrameIndexError(
                f"frame index out of range 0..{self.shape[0] - 1} in {self.source or 'source'}")
        if len(frames) == 0:
            empty = np.empty((0, *self.shape[1:]), self.dtype)
            return apply_crop(empty, crop)
        if self.any_order:
            return self._read_locked(frames, crop)
        if len(frames) == 1 or np.all(frames[1:] > frames[:-1]):
            return self._read_locked(frames, crop)
        # readers see sorted, unique indices; repeats and order are restored here
        unique, inverse = unique_sorted(frames, return_inverse=True)
        return self._read_locked(unique, crop)[inverse]

    def _read_locked(self, frames, crop):
        if self.thread_safe:
            return self._read(frames, crop)
        with self._lock:
            return self._read(frames, crop)

    @abstractmethod
    def _read(self, frames: np.ndarray, crop: Crop) -> np.ndarray:
        """Read the frames at the given valid, sorted, unique indices; apply ``crop`` if given.

        ``as_slice(frames)`` tells whether the run is regular, so contiguous
        formats can answer with one slice.
        """

    def is_fresh(self, block: np.ndarray) -> bool:
        """Whether a block from :meth:`read` is a new array that nothing else holds (not a
        view of a memory map or of a wrapped array), so it may be handed out without a copy."""
        root = array_root(block)
        return root.flags.owndata and not isinstance(root, np.memmap)

    @property
    def n_frames(self) -> int:
        return self.shape[0]

    # -- resources -------------------------------------------------------
    def close(self) -> None:
        """Release open handles (the reader reopens them if read again)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    # -- pickling --------------------------------------------------------
    def __getstate__(self):
        if self.portable_layout:
            return {"layout": {k: v for k, v in self.__dict__.items() if k not in self._transient}}
        return {"init_args": self._init_args}

    _transient = ("_lock", "_mm")  # rebuilt where the reader lands (a lock; a memory map)

    def __setstate__(self, state):
        if "layout" in state:
            self.__dict__.update(state["layout"])
            self._lock = RLock()
            self._mm = None
            return
        args, kwargs = state["init_args"]
        self._init_args = (args, kwargs)
        self._lock = RLock()
        self.__init__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.source!r} shape={self.shape} dtype={self.dtype}>"


def _time_chunk(arr) -> int:
    """Frames per storage chunk of an h5py/zarr (int) or dask (tuple of sizes) array."""
    chunks = None if isinstance(arr, np.ndarray) else getattr(arr, "chunks", None)
    if not chunks:
        return 1
    first = chunks[0]
    return int(first[0] if isinstance(first, tuple) else first)


class ArrayReader(Reader):
    """Reads frames from an array-like ``(n, rows, cols[, c])``: numpy arrays,
    memory maps, and anything with ``shape``, ``dtype`` and numpy indexing
    (h5py and zarr data sets, dask arrays)."""

    cheap_crop = True

    def __init__(self, arr, axes=None, metadata=None, source: str = "array"):
        if not hasattr(arr, "shape") or not hasattr(arr, "dtype"):
            arr = np.asarray(arr)
        if len(arr.shape) not in (3, 4):
            from ..errors import ShapeMismatchError

            raise ShapeMismatchError(
                f"a frame sequence needs a 3-D (frames, rows, cols) or 4-D (frames, rows, cols, "
                f"channels) array, got shape {tuple(arr.shape)}")
        self.arr = arr
        self.shape = tuple(int(s) for s in arr.shape)
        self.dtype = np.dtype(arr.dtype)
        self.axes = Axes(axes)
        self.metadata = dict(metadata or {})
        self.source = source
        self.natural_block = _time_chunk(arr)
        self.any_order = isinstance(arr, np.ndarray)  # numpy indexes in any order itself

    def __getstate__(self):
        # a C-contiguous memory map travels as its file, offset and shape, never as its pixels
        where = _memmap_location(self.arr)
        if where is None:
            return super().__getstate__()
        args, kwargs = self._init_args
        return {"init_args": ((None, *args[1:]), kwargs), "memmap": where}

    def __setstate__(self, state):
        where = state.get("memmap")
        if where is not None:
            filename, offset, dtype, shape = where
            args, kwargs = state["init_args"]
            arr = np.memmap(filename, dtype=np.dtype(dtype), mode="r", offset=offset, shape=tuple(shape))
            state = {"init_args": ((arr, *args[1:]), kwargs)}
        super().__setstate__(state)

    def is_fresh(self, block: np.ndarray) -> bool:
        # a slice of a wrapped numpy array views the user's own array
        wrapped = isinstance(self.arr, np.ndarray) and array_root(block) is array_root(self.arr)
        return super().is_fresh(block) and not wrapped

    def _read(self, frames, crop):
        sl = as_slice(frames)
        key = sl if sl is not None else frames
        if crop is not None and not isinstance(self.arr, np.ndarray):
            # chunked stores read only the crop (forwards: h5py and zarr refuse negative steps)
            forward = tuple(forward_slice(s) for s in crop)
            block = np.asarray(self.arr[(key, *forward)])
            flips = tuple(slice(None, None, -1) if s.step < 0 else slice(None) for s in crop)
            return block[(slice(None), *flips)]
        if isinstance(self.arr, np.ndarray):
            return gather(self.arr, frames, crop)
        return apply_crop(np.asarray(self.arr[key]), crop)


def _memmap_location(arr) -> tuple | None:
    """``(filename, byte offset, dtype, shape)`` of a C-contiguous ``np.memmap`` (or a
    contiguous view of one), or None for anything else."""
    import mmap

    mm = getattr(arr, "_mmap", None)
    if not isinstance(arr, np.memmap) or mm is None or not arr.filename or not arr.flags.c_contiguous:
        return None
    start = np.frombuffer(mm, np.uint8).__array_interface__["data"][0]
    mapped_from = arr.offset - arr.offset % mmap.ALLOCATIONGRANULARITY  # where numpy's map begins
    offset = mapped_from + arr.__array_interface__["data"][0] - start
    return str(arr.filename), int(offset), arr.dtype.str, tuple(int(n) for n in arr.shape)


class ConcatReader(Reader):
    """The frames of several readers one after another (an acquisition split over files).

    All parts must have the same frame shape and dtype; the axes and metadata are
    the first part's.  The parts' files are open only while the process' file manager
    keeps them (:mod:`imfun.readers.files`), so thousands of parts do not exhaust the
    file descriptors.
    """

    def __init__(self, parts: list[Reader], source: str = ""):
        from ..errors import EmptySequenceError, ShapeMismatchError

        if not parts:
            raise EmptySequenceError("no parts to read frames from")
        first = parts[0]
        for part in parts[1:]:
            if part.shape[1:] != first.shape[1:] or part.dtype != first.dtype:
                raise ShapeMismatchError(
                    f"{part.source} holds frames of {part.shape[1:]} {part.dtype}, but "
                    f"{first.source} holds {first.shape[1:]} {first.dtype}; all files must match")
        self.parts = parts
        self.offsets = np.cumsum([0] + [p.shape[0] for p in parts])
        self.shape = (int(self.offsets[-1]), *first.shape[1:])
        self.dtype = first.dtype
        self.axes = Axes(first.axes)
        self.metadata = dict(first.metadata)
        self.metadata["parts"] = [p.source for p in parts]
        self.source = source or f"{first.source} ... ({len(parts)} files)"
        self.paths = tuple(path for p in parts for path in p.paths)
        self.cheap_crop = all(p.cheap_crop for p in parts)
        self.natural_block = first.natural_block
        for part in parts:  # headers are read; handles reopen when a part is read
            part.close()

    def _read(self, frames, crop):
        which = np.searchsorted(self.offsets, frames, side="right") - 1
        out = None
        for k in unique_sorted(which):
            sel = which == k
            block = self.parts[k].read(frames[sel] - self.offsets[k], crop)
            if out is None:
                out = np.empty((len(frames), *block.shape[1:]), block.dtype)
            out[sel] = block
        return out

    def close(self) -> None:
        for part in getattr(self, "parts", ()):
            part.close()


def concat_files(makers: list) -> ConcatReader:
    """One :class:`ConcatReader` over one reader per file, made by ``makers`` (callables); each
    part's handles are closed once its header is read, and all are closed if one fails."""
    parts: list[Reader] = []
    try:
        for make in makers:
            parts.append(make())
            parts[-1].close()
        return ConcatReader(parts, source=f"{parts[0].source} ... ({len(parts)} files)")
    except BaseException:
        for part in parts:
            part.close()
        raise


def file_workers(n: int) -> int:
    """Threads that read or decode ``n`` files at once (file reads and decoders release the GIL)."""
    return max(1, min(8, os.cpu_count() or 1, n))


def thread_map(fn, items: list) -> list:
    """``[fn(x) for x in items]``, in threads when there are several; the first error is raised."""
    workers = file_workers(len(items))
    if workers == 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor  # when needed: fresh processes start faster

    with ThreadPoolExecutor(workers, thread_name_prefix="imfun-files") as pool:
        return list(pool.map(fn, items))


THREADED_COPY_BYTES = 64 * 1024**2  # frames to copy above which threads share the copying


def copy_frames(arr: np.ndarray, frames: np.ndarray | None = None) -> np.ndarray:
    """A fresh C-contiguous copy of ``arr[frames]`` (all frames when None), the frames split
    among threads when it is large: page faults and copying run on every core.

    >>> a = np.arange(40).reshape(10, 2, 2)
    >>> copy_frames(a[:, :1], np.array([7, 2]))[:, 0, 1]
    array([29,  9])
    """
    n = len(arr) if frames is None else len(frames)
    workers = file_workers(n)
    if n * (arr[0].nbytes if len(arr) else 0) < THREADED_COPY_BYTES or workers == 1:
        return np.array(arr, order="C") if frames is None else arr[frames]  # fancy indexing copies
    out = np.empty((n, *arr.shape[1:]), arr.dtype)
    bounds = np.linspace(0, n, 2 * workers + 1).astype(int)

    def copy(i: int) -> None:
        a, b = bounds[i], bounds[i + 1]
        if frames is None:
            out[a:b] = arr[a:b]
        else:  # indices are valid: mode='clip' spares take's buffered copy
            np.take(arr, frames[a:b], axis=0, out=out[a:b], mode="clip")

    thread_map(copy, list(range(2 * workers)))
    return out


def gather(arr: np.ndarray, frames: np.ndarray | slice, crop: Crop = None) -> np.ndarray:
    """``arr[frames]`` cropped, for an array or memory map: a view for a regular run, else a
    copy of the cropped frames (:func:`copy_frames`).

    >>> a = np.arange(40).reshape(10, 2, 2)
    >>> gather(a, np.array([7, 2]), (slice(0, 1), slice(None)))[:, 0, 1]
    array([29,  9])
    """
    sl = as_slice(frames) if not isinstance(frames, slice) else frames
    if sl is not None:
        return apply_crop(arr[sl], crop)
    return copy_frames(arr if crop is None else arr[(slice(None), *crop)], frames)


class FilesReader(Reader):
    """Base of readers that hold one frame per file (image files, ``.npy`` or text files).

    Subclasses set ``files``, ``shape``, ``dtype`` (those of the first file's frame)
    and implement :meth:`load`.  A block of frames is loaded in parallel threads;
    a frame unlike the first is a :class:`ShapeMismatchError` naming its file.
    """

    files: list

    @abstractmethod
    def load(self, index: int) -> np.ndarray:
        """Frame ``index`` (``rows x cols[, channels]``); may be a memory map, so that a
        crop reads only its bytes."""

    def _read(self, frames, crop):
        from ..errors import ShapeMismatchError

        frame_shape = self.shape[1:]
        # a zero-stride view tells the cropped shape without allocating a frame
        shape = np.broadcast_to(np.zeros((), self.dtype), frame_shape)[crop or ()].shape
        out = np.empty((len(frames), *shape), self.dtype)

        def one(j: int) -> None:
            index = int(frames[j])
            frame = self.load(index)
            if frame.shape != frame_shape or frame.dtype != self.dtype:
                raise ShapeMismatchError(
                    f"the file {self.files[index]} differs from the first file {self.files[0]}: it holds a "
                    f"{frame.shape} {frame.dtype} frame instead of {frame_shape} {self.dtype}; all frames "
                    "must have the same shape and type (select matching files with the glob pattern or "
                    "a list)")
            out[j] = frame if crop is None else frame[crop]

        thread_map(one, range(len(frames)))
        return out
