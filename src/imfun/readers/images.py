"""A collection of image files, one frame per file (PNG, JPEG, BMP, TIFF, PNM, GIF).

Opening decodes only the first file (its shape and dtype are the sequence's);
the others are checked when they are read (or at open with ``check_headers``).
Frames are decoded when asked for, a block of them in parallel threads: zlib,
libjpeg and tifffile release the GIL, so decoding scales with cores.  The
uncompressed TIFF files of a glob that are byte for byte the first file outside
its pixels are read without parsing (:class:`TiffTemplate`).
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


class TiffTemplate:
    """The layout of the first file of a TIFF glob, to read the others without parsing them.

    Files written one per frame by the same program are usually the same bytes except the
    pixels: then every byte outside the first file's pixel data equals the first file's (the
    whole TIFF structure is the same), and the pixels are read from the same place with one
    read of the file.  Any other file is decoded by tifffile.  None when the first file's
    pixels are not stored uncompressed in one piece.
    """

    def __init__(self, raw: bytes, frame: np.ndarray, offset: int, nbytes: int, dtype: np.dtype):
        self.offset, self.nbytes, self.size = offset, nbytes, len(raw)
        self.dtype, self.shape = dtype, frame.shape
        self.before, self.after = raw[:offset], raw[offset + nbytes:]

    @classmethod
    def of(cls, path: str, frame: np.ndarray) -> TiffTemplate | None:
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages.first
                whole = page.compression == 1 and bool(page.is_contiguous)  # strips back to back
                offset, nbytes = int(page.dataoffsets[0]), int(sum(page.databytecounts))
                dtype = np.dtype(page.dtype).newbyteorder(tif.byteorder)
        except Exception:  # decode_image has read it: anything odd here just means no template
            return None
        if not whole or nbytes != frame.nbytes:
            return None
        with open(path, "rb") as fh:
            raw = fh.read()
        template = cls(raw, frame, offset, nbytes, dtype)
        return template if np.array_equal(template.frame_of(raw), frame) else None

    def read(self, path: str) -> np.ndarray | None:
        """The frame of a file laid out as the first, else None (decode it)."""
        with open(path, "rb") as fh:
            return self.frame_of(fh.read(self.size + 1))

    def frame_of(self, raw: bytes) -> np.ndarray | None:
        """The frame in a file's bytes when they are the first file's outside its pixels."""
        end = self.offset + self.nbytes
        if len(raw) != self.size or raw[:self.offset] != self.before or raw[end:] != self.after:
            return None
        return np.frombuffer(raw, self.dtype, self.nbytes // self.dtype.itemsize,
                             self.offset).reshape(self.shape)


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
        decoded = decode_image(self.files[0])
        first = pick_channel(decoded, ch)  # ChannelError here, at open time
        is_tiff = len(self.files) > 1 and registry.file_ending(self.files[0]) in _TIFF
        self._template = TiffTemplate.of(self.files[0], decoded) if is_tiff else None
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
        path = self.files[index]
        frame = None
        if self._template is not None:
            try:
                frame = self._template.read(path)
            except FileNotFoundError:
                raise SourceNotFoundError(f"the image file {path} has disappeared since the sequence "
                                          "was opened") from None
        return pick_channel(decode_image(path) if frame is None else frame, self.ch)


def open_images(source: Source, ch=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_glob`."""
    return ImageFilesReader(source.names, ch=ch, source=source.given)


__all__ = ["ENDINGS", "ImageFilesReader", "decode_image", "open_images"]
