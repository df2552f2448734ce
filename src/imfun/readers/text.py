"""Text files, one frame per file (``np.loadtxt``): a file, a glob, a folder or a list.

The first file is parsed at opening to learn the frame's shape; the others are
parsed when read, in threads, and must have the same shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..axes import Axes
from ..errors import CorruptFileError
from .base import FilesReader, Reader
from .registry import Source, resolve


def load_text_frame(path: Path) -> np.ndarray:
    """One frame from a text file of numbers (whitespace- or comma-separated)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
        first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
        frame = np.loadtxt(lines, delimiter="," if "," in first else None, ndmin=2, dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"cannot read a frame of numbers from {path} ({exc})") from exc
    if frame.size == 0:
        raise CorruptFileError(f"{path} holds no numbers")
    return frame


class TextReader(FilesReader):
    """Reads one 2-D frame per text file.

    Parameters
    ----------
    pattern : str, Path, glob pattern, folder or list of paths
        The text files, in natural order (``frame2`` before ``frame10``).
    """

    def __init__(self, pattern):
        src = resolve(pattern)
        self.files = src.files
        self.paths = tuple(str(f) for f in self.files)
        self.source = src.given if src.is_collection else str(self.files[0])
        first = load_text_frame(self.files[0])
        self.shape = (len(self.files), *first.shape)
        self.dtype = np.dtype(np.float64)
        self.axes = Axes()
        self.metadata = {}

    def load(self, index: int) -> np.ndarray:
        return load_text_frame(self.files[index])


def open_text(source: Source) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_txt`."""
    return TextReader(source.files)


__all__ = ["TextReader", "load_text_frame", "open_text"]
