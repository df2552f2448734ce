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
from ..fseq.opening import img_getter
from ..fseq.sequence import FrameSequence
from . import registry
from .base import FilesReader
from .options import CH

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
        Compare the headers of all files with the first one's when opening.
    """

    def __init__(self, files, ch=None, source: str = "", check_headers: bool = True):
        self.files = [os.fspath(f) for f in files]
        if not self.files:
            raise SourceNotFoundError("no image files were given; give a glob, folder or list")
        self.ch = ch
        first = img_getter(decode_image(self.files[0]), ch)  # ChannelError here, at open time
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
        return img_getter(decode_image(self.files[index]), self.ch)


class FSeq_img(FrameSequence):
    """A frame sequence from a collection of image files, one frame per file.

    Parameters
    ----------
    pattern : str, pathlib.Path or list
        A glob pattern (``'data/frame*.png'``), a folder holding the frames,
        or a list of file names.  Globs and folders are sorted naturally
        (``frame2`` before ``frame10``); a list is taken in its order.
    ch : int, str or None
        Colour channel to keep: an int or ``'r'``, ``'g'``, ``'b'`` gives 2-D
        frames; None keeps all channels (``rows x cols x channels`` for colour).
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata; ``meta['axes']`` as ``[(dt, 's'), (dy, 'µm'), (dx, 'µm')]``.

    Examples
    --------
    >>> import numpy as np, imageio.v3 as iio, tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     iio.imwrite(os.path.join(folder, f'frame{i}.png'), np.full((4, 5), i, np.uint8))
    >>> fs = FSeq_img(os.path.join(folder, 'frame*.png'))
    >>> len(fs), fs.frame_shape, fs.dtype
    (3, (4, 5), dtype('uint8'))
    >>> fs.mean_frame()[0, 0]
    np.float64(1.0)
    """

    def __init__(self, pattern, ch=None, fns=None, meta=None):
        src = registry.resolve(pattern)
        reader = ImageFilesReader([str(f) for f in src.files], ch=ch, source=src.given)
        super().__init__(reader, fns=fns, meta=meta)


# below the TIFF reader, which opens a single TIFF file whatever its pages
@registry.register("images", ENDINGS, collection=True, single=True, priority=-1,
                   options=(CH,),
                   description="image files, one frame per file (a glob, folder, list or one file)")
class FSeq_glob(FSeq_img):
    """A frame sequence from image files matching a glob pattern (see :class:`FSeq_img`).

    Examples
    --------
    >>> import numpy as np, imageio.v3 as iio, tempfile, os
    >>> from imfun.fseq import open_seq
    >>> folder = tempfile.mkdtemp()
    >>> for i in (1, 2, 10):
    ...     iio.imwrite(os.path.join(folder, f'f{i}.png'), np.full((2, 3, 3), i, np.uint8))
    >>> fs = open_seq(os.path.join(folder, '*.png'), ch='g')
    >>> type(fs).__name__, fs.frame_shape, [int(f[0, 0]) for f in fs]
    ('FSeq_glob', (2, 3), [1, 2, 10])
    """


__all__ = ["ENDINGS", "FSeq_glob", "FSeq_img", "ImageFilesReader", "decode_image"]
