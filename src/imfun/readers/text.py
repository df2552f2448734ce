"""Text files, one frame per file (``np.loadtxt``): a file, a glob, a folder or a list.

The first file is parsed at opening to learn the frame's shape; the others are
parsed when read, in threads, and must have the same shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..axes import Axes
from ..errors import CorruptFileError
from ..fseq.sequence import FrameSequence
from .base import FilesReader
from .registry import register, resolve


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


@register("txt", (".txt",), collection=True, single=True,
          description="text files of numbers, one frame per file")
class FSeq_txt(FrameSequence):
    """Frames from text files, one frame per file (read with ``np.loadtxt``).

    Parameters
    ----------
    pattern : str, Path, glob pattern or list of paths
        The files: ``'data/frame*.txt'``, a folder, a list, or one file (one frame).
        Numbers are separated by whitespace or commas; ``#`` starts a comment.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata, e.g. ``{'axes': [(0.1, 's'), (0.5, 'µm'), (0.5, 'µm')]}``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     np.savetxt(os.path.join(folder, f'f{i}.txt'), np.full((4, 5), i))
    >>> fs = FSeq_txt(os.path.join(folder, 'f*.txt'))
    >>> len(fs), fs.frame_shape, fs[2][0, 0]
    (3, (4, 5), np.float64(2.0))
    """

    def __init__(self, pattern, fns=None, meta=None):
        super().__init__(TextReader(pattern), fns=fns, meta=meta)


__all__ = ["FSeq_txt", "TextReader", "load_text_frame"]
