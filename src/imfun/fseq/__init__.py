"""``imfun.fseq``: frame sequences, as documented in the API reference.

Open any supported source with :func:`open_seq`; wrap an array with
:class:`FSeq_arr`.  Format classes (``FSeq_tiff``, ``FSeq_glob``, ...) are
defined in :mod:`imfun.fseq.formats` over the readers of :mod:`imfun.readers`.
"""

from ..axes import Axes, AxisScale
from ..export import to_movie
from .opening import fseq_from_glob, img_getter, iter_files, open_seq, sorted_file_names
from .sequence import FrameSequence, FSeq_arr

__all__ = ["Axes", "AxisScale", "FSeq_arr", "FrameSequence", "fseq_from_glob", "img_getter",
           "iter_files", "open_seq", "sorted_file_names", "to_movie"]



def __getattr__(name: str):
    """Format classes (``FSeq_tiff``, ``FSeq_hdf5`` ...) load on first use."""
    if name.startswith("FSeq_"):
        from . import formats

        if hasattr(formats, name):
            return getattr(formats, name)
    raise AttributeError(f"module 'imfun.fseq' has no attribute {name!r}")
