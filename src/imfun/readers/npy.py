"""NumPy ``.npy`` files: one file holding a stack, or one file per frame.

A single file is memory-mapped (``np.load(mmap_mode='r')``): frame ``i`` and
any crop cost only their bytes.  A collection (glob, list or folder) holds one
frame per file; headers are checked at opening, frames are read in threads.
Files are never unpickled (``allow_pickle=False``).

A 3-D array is ambiguous: ``(frames, rows, cols)`` or one colour image
``(rows, cols, channels)`` as ``imageio``/``PIL`` give it.  It is read as one
RGB(A) frame when its last axis is 3 or 4 and both other axes are longer than
4 (no frame is 3 or 4 pixels wide in practice, while few stacks hold under 5
frames of 3 columns); the choice is stated in ``reader.metadata['layout']``
and a warning.  ``NpyReader(path, colour=False)`` forces frames,
``colour=True`` one colour frame: ``FrameSequence(NpyReader(path, colour=False))``.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from ..axes import Axes
from ..errors import (
    CorruptFileError,
    ImfunWarning,
    InvalidArgumentError,
    ShapeMismatchError,
    UnsupportedFormatError,
)
from .base import FilesReader, Reader, gather, thread_map
from .catalog import is_npy
from .registry import Source


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a ``.npy`` file, from its header only.

    Raises :class:`CorruptFileError` for a damaged or truncated file and
    :class:`UnsupportedFormatError` for an array of Python objects (which
    would need unpickling).
    """
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(fh)
            offset = fh.tell()
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptFileError(f"{path} is not a readable .npy file ({exc})") from exc
    if dtype.hasobject:
        raise UnsupportedFormatError(
            f"{path} holds Python objects (dtype {dtype}); imfun never unpickles files. "
            "Save a numeric array instead (np.save(path, np.asarray(data, dtype=float)))")
    # Python ints: np.prod would wrap around for a hostile header's huge shape
    nbytes = math.prod(int(n) for n in shape) * dtype.itemsize
    if os.path.getsize(path) < offset + nbytes:
        raise CorruptFileError(f"{path} is truncated: its header announces {shape} {dtype} "
                               f"({nbytes} bytes) but the file holds fewer")
    return tuple(int(n) for n in shape), dtype


def load_npy(path, mmap: bool = True) -> np.ndarray:
    """``np.load`` without pickles, memory-mapped by default."""
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"cannot read {path} ({exc})") from exc


def looks_like_colour_image(shape: tuple[int, ...]) -> bool:
    """Whether a 3-D shape is one ``(rows, cols, 3 or 4)`` colour image rather than frames.

    Examples
    --------
    >>> looks_like_colour_image((480, 640, 3)), looks_like_colour_image((100, 64, 64))
    (True, False)
    """
    return len(shape) == 3 and shape[2] in (3, 4) and shape[0] > 4 and shape[1] > 4


class NpyReader(Reader):
    """Reads one ``.npy`` file, memory-mapped: a 3-D ``(frames, rows, cols)`` or 4-D
    ``(..., channels)`` array, or a 2-D array (one frame).

    ``colour`` says how a 3-D array is read: None decides by
    :func:`looks_like_colour_image` (and says so in ``metadata['layout']`` and a
    warning), True reads it as one colour frame ``(rows, cols, channels)``, False
    as frames ``(frames, rows, cols)``.

    Examples
    --------
    >>> import numpy as np, tempfile, os, warnings
    >>> p = os.path.join(tempfile.mkdtemp(), 'rgb.npy'); np.save(p, np.zeros((48, 64, 3), np.uint8))
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter('ignore')
    ...     NpyReader(p).shape
    (1, 48, 64, 3)
    >>> NpyReader(p, colour=False).shape
    (48, 64, 3)
    """

    cheap_crop = True

    def __init__(self, path, colour: bool | None = None):
        path = Path(path)
        self.paths = (str(path),)
        self.source = str(path)
        self.axes = Axes()
        self.metadata = {}
        self._arr = None
        shape, self.dtype = npy_header(path)
        if colour is not None and len(shape) != 3:
            raise InvalidArgumentError(f"colour= chooses how a 3-D array is read, but {path} holds {shape}")
        guess = colour is None and looks_like_colour_image(shape)
        self._one_frame = len(shape) == 2 or bool(colour) or guess
        if len(shape) == 3:
            self._state_layout(path, shape, colour)
        if self._one_frame:
            shape = (1, *shape)  # one frame
        if len(shape) not in (3, 4):
            raise ShapeMismatchError(
                f"{path} holds an array of shape {shape}; a frame sequence needs 2-D "
                "(one frame), 3-D (frames, rows, cols) or 4-D (frames, rows, cols, channels)")
        self.shape = shape

    def _state_layout(self, path: Path, shape: tuple[int, ...], colour: bool | None) -> None:
        if self._one_frame:
            self.metadata["layout"] = f"one colour frame (rows, cols, channels) = {shape}"
        else:
            self.metadata["layout"] = f"{shape[0]} frames (frames, rows, cols) = {shape}"
        if colour is None and self._one_frame:
            warnings.warn(f"{path.name} holds {shape}: read as one colour frame of {shape[0]} x {shape[1]} "
                          f"pixels and {shape[2]} channels; for {shape[0]} frames of {shape[1]} x "
                          f"{shape[2]} use FrameSequence(NpyReader(path, colour=False))",
                          ImfunWarning, stacklevel=4)

    def _array(self) -> np.ndarray:
        if self._arr is None:
            arr = load_npy(self.paths[0])
            self._arr = arr[np.newaxis] if self._one_frame else arr
        return self._arr

    def _read(self, frames, crop):
        return gather(self._array(), frames, crop)

    def close(self) -> None:
        self._arr = None  # the memory map needs no open file; dropping it unmaps


class NpyFilesReader(FilesReader):
    """Reads a collection of ``.npy`` files of one frame each, 2-D or 3-D
    ``(rows, cols, channels)``, all of one shape and dtype (headers checked at opening)."""

    def __init__(self, files, source: str = ""):
        self.files = list(files)
        self.paths = tuple(str(f) for f in self.files)
        self.source = source or f"{self.files[0]} ... ({len(self.files)} files)"
        self.axes = Axes()
        self.metadata = {}
        headers = thread_map(npy_header, self.files)
        frame_shape, self.dtype = headers[0]
        if len(frame_shape) not in (2, 3):
            raise ShapeMismatchError(
                f"{self.files[0]} holds shape {frame_shape}; each file of a collection is one frame, "
                "2-D (rows, cols) or 3-D (rows, cols, channels)")
        for f, (shape, dtype) in zip(self.files, headers, strict=True):
            if shape != frame_shape or dtype != self.dtype:
                raise ShapeMismatchError(
                    f"{f} holds a frame of {shape} {dtype}, unlike {self.files[0]} "
                    f"({frame_shape} {self.dtype}); all frames must have the same shape and dtype")
        self.shape = (len(self.files), *frame_shape)

    def load(self, index: int) -> np.ndarray:
        return load_npy(self.files[index])  # a memory map: a crop reads only its rows


def open_npy(source: Source) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_npy`."""
    if len(source.files) == 1 and not source.is_collection:
        return NpyReader(source.files[0])
    return NpyFilesReader(source.files, f"{source.given} ({len(source.files)} files)")


__all__ = ["NpyFilesReader", "NpyReader", "is_npy", "load_npy", "npy_header", "open_npy"]
