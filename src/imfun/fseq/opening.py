"""``open_seq`` and the reference's module functions for collections of files."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import ChannelError, UnknownArgumentError
from ..readers import registry
from ..readers.registry import sorted_file_names
from .sequence import FrameSequence, FSeq_arr

CHANNEL_NAMES = {"r": 0, "g": 1, "b": 2, "a": 3}


def open_seq(path, *args, **kwargs) -> FrameSequence:
    """Dispatch to an appropriate class constructor depending on the file name.

    Parameters
    ----------
    path : str, pathlib.Path, list of paths, array or FrameSequence
        Path to load data from: a glob-style pattern, a single file, a folder
        of frame files, or a list of file names.  A numpy array (or memmap,
        h5py/zarr/dask array) is wrapped as :class:`FSeq_arr`; an existing
        frame sequence is returned as is.
    *args, **kwargs
        Dispatched to the chosen class' ``__init__`` (e.g. ``ch=0``,
        ``fns=[...]``, ``meta={...}``, ``dataset='data'``).  Unknown keywords
        are an error.

    Returns
    -------
    FrameSequence
        An instance of the frame sequence class for the format.

    Examples
    --------
    >>> import numpy as np
    >>> fs = open_seq(np.zeros((3, 4, 4)))
    >>> type(fs).__name__, len(fs)
    ('FSeq_arr', 3)
    """
    if isinstance(path, FrameSequence):
        if args or kwargs:
            raise UnknownArgumentError(
                "open_seq() got arguments for an existing frame sequence, which is returned as is")
        return path
    if hasattr(path, "shape") and hasattr(path, "dtype") and not isinstance(path, str | os.PathLike):
        return _construct(FSeq_arr, path, args, kwargs)
    src = registry.resolve(path)
    entry = registry.find_format(src)
    _check_options(entry, kwargs)
    arg = path if isinstance(path, str | os.PathLike) else [str(f) for f in src.files]
    return _construct(entry.seq_class, arg, args, kwargs)


def _check_options(entry, kwargs) -> None:
    """Refuse keywords that the format does not take, naming those it does (from the registry)."""
    known = {o.name for o in entry.options} | {"fns", "meta"}
    unknown = [k for k in kwargs if k not in known]
    if unknown:
        takes = "; ".join(f"{o.name}= ({o.help})" for o in entry.options) or "no reader options"
        raise UnknownArgumentError(
            f"{entry.name} files got unknown keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"they take {takes}, "
            "and fns=, meta=")


def _construct(cls, path, args, kwargs) -> FrameSequence:
    """Call ``cls(path, *args, **kwargs)``, refusing unknown keywords by name first."""
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        allowed = [name for name, p in params.items()
                   if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][1:]
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            raise UnknownArgumentError(
                f"{cls.__name__} got unknown keyword argument(s) {', '.join(map(repr, unknown))}; "
                f"it accepts: {', '.join(allowed)}")
    return cls(path, *args, **kwargs)


def img_getter(frame, ch):
    """A wrapper to extract color channel from image files.

    ``ch`` is an int, a name (``'r'``, ``'g'``, ``'b'``) or None (all channels).

    Returns
    -------
    numpy.ndarray
        2D matrix with intensity values (3D when ``ch`` is None and the image has colour).
    """
    frame = np.asarray(frame)
    if ch is None:
        return frame
    if isinstance(ch, str):
        if ch.lower() not in CHANNEL_NAMES:
            raise ChannelError(f"unknown channel name {ch!r}; use 'r', 'g', 'b', an int or None")
        ch = CHANNEL_NAMES[ch.lower()]
    if frame.ndim == 2:
        if ch == 0:
            return frame
        raise ChannelError(f"channel {ch} was asked of a grey (single-channel) image; use ch=0 or None")
    if not -frame.shape[-1] <= ch < frame.shape[-1]:
        raise ChannelError(f"channel {ch} was asked of an image with {frame.shape[-1]} channels")
    return frame[..., ch]


def iter_files(pattern, loadfn: Callable) -> Iterator:
    """Return iterator over data frames, file names matching a pattern, loaded by a
    user-provided function loadfn."""
    return (loadfn(name) for name in _files_or_error(pattern))


def fseq_from_glob(pattern, ch=None, loadfn: Callable = np.load) -> Iterator[np.ndarray]:
    """Return sequence of frames from filenames matching a glob.

    Parameters
    ----------
    pattern : str
        Glob-style pattern for file names.
    ch : int or None
        Color channel to extract if a number, all colors if None.
    loadfn : callable
        A function to load data from a file by its name (``np.load``; called
        with ``allow_pickle=False`` when it is ``np.load``).

    Returns
    -------
    iterator
        Iterator over frames: 2D if ch is int, 3D if ch is None.
    """
    if loadfn is np.load:
        def loadfn(name):
            return np.load(name, allow_pickle=False)
    return (img_getter(frame, ch) for frame in iter_files(pattern, loadfn))


def _files_or_error(pattern) -> list[str]:
    return [str(f) for f in registry.resolve(pattern).files]


__all__ = ["fseq_from_glob", "img_getter", "iter_files", "open_seq", "sorted_file_names"]
