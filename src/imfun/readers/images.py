"""A collection of image files, one frame per file (PNG, JPEG, BMP, TIFF, PNM, GIF).

Opening decodes only the first file (its shape and dtype are the sequence's)
and checks the headers of the others with Pillow, which reads a few bytes per
file.  Frames are decoded when asked for, a block of them in parallel threads:
zlib, libjpeg and tifffile release the GIL, so decoding scales with cores.
"""

from __future__ import annotations

import os

import numpy as np

from ..axes import Axes
from ..errors import CorruptFileError, ShapeMismatchError, SourceNotFoundError
from . import registry
from .base import FilesReader, Reader
from .dims import pick_channel
from .registry import Source

ENDINGS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".gif")
_TIFF = (".tif", ".tiff")
_PNM = (".pgm", ".ppm")
# Pillow modes whose pixels numpy takes as they are; others (palette, CMYK, 1-bit ...)
# go through imageio, which converts them to RGB(A) or grey
_DIRECT_MODES = {"L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I", "F"}


def decode_image(path: str) -> np.ndarray:
    """Decode the first image of a file as a numpy array (rows x cols[, channels]).

    TIFF goes through tifffile (first page), everything else through Pillow;
    palette and other special modes through imageio, so that they come out
    as RGB(A) as imageio gives them.  16-bit PGM/PPM, which Pillow reads as
    int32, are returned as uint16, the type the format stores.
    """
    ending = registry.file_ending(path)
    try:
        if ending in _TIFF:
            import tifffile

            arr = tifffile.imread(path, key=0)
        else:
            from PIL import Image

            with Image.open(path) as im:
                mode = im.mode
                arr = np.asarray(im) if mode in _DIRECT_MODES else None
            if arr is None:
                import imageio.v3 as iio

                arr = iio.imread(path, index=0)
            elif mode == "I" and ending in _PNM:
                arr = arr.astype(np.uint16)
    except FileNotFoundError:
        raise SourceNotFoundError(f"the image file {path} has disappeared since the sequence "
                                  "was opened") from None
    except Exception as exc:  # decoders raise many kinds (OSError, SyntaxError, ValueError ...)
        raise CorruptFileError(f"cannot decode the image file {path}: {exc}") from exc
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _header(path: str):
    """``(size, mode)`` from the file's header via Pillow, or None if Pillow cannot tell."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size, im.mode
    except Exception:  # not for Pillow (some TIFFs): the check at read time covers it
        return None


class ImageFilesReader(FilesReader):
    """Reads one frame from each of a list of image files.

    Parameters
    ----------
    files : list of str
        The image files, in frame order.
    ch : int, str or None
        Colour channel to keep (``0``, ``'r'``, ``'g'``, ``'b'``), or None for all.
    source : str
        What to show as the source (the glob pattern, say).
    check_headers : bool
        Compare the headers of all files with the first one's when opening (by default a
        file is checked when it is read, so a glob of thousands of files opens at once).
    """

    def __init__(self, files, ch=None, source: str = "", check_headers: bool = False):
        self.files = [os.fspath(f) for f in files]
        if not self.files:
            raise SourceNotFoundError("no image files were given; give a glob, folder or list")
        self.ch = ch
        first = pick_channel(decode_image(self.files[0]), ch)  # ChannelError here, at open time
        self.shape = (len(self.files), *first.shape)
        self.dtype = first.dtype
        self.axes = Axes()
        self.metadata = {}
        self.source = source or (self.files[0] if len(self.files) == 1
                                 else f"{self.files[0]} ... ({len(self.files)} files)")
        self.paths = tuple(self.files)
        if check_headers and len(self.files) > 1:
            self._check_headers()

    def _check_headers(self) -> None:
        """Find a file whose size or pixel mode differs from the first's, reading headers only."""
        ref = _header(self.files[0])
        if ref is None:
            return
        for path in self.files[1:]:
            head = _header(path)
            if head is not None and head != ref:
                raise ShapeMismatchError(
                    f"the image file {path} differs from the first file {self.files[0]}: "
                    f"size {head[0][0]}x{head[0][1]} mode {head[1]} instead of "
                    f"{ref[0][0]}x{ref[0][1]} mode {ref[1]}; all frames must have the same shape "
                    "and type (select matching files with the glob pattern or a list)")

    def load(self, index: int) -> np.ndarray:
        """Decode frame ``index`` (channel selected)."""
        return pick_channel(decode_image(self.files[index]), self.ch)


def open_images(source: Source, ch=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_glob`."""
    return ImageFilesReader([str(f) for f in source.files], ch=ch, source=source.given)


__all__ = ["ENDINGS", "ImageFilesReader", "decode_image", "open_images"]
