"""``open_seq`` and the reference's module functions for collections of files."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import UnknownArgumentError
from ..readers import registry
from ..readers.dims import pick_channel
from ..readers.registry import sorted_file_names
from . import formats  # noqa: F401  (binds each format's public class in the registry)
from .sequence import FrameSequence, FSeq_arr


def open_seq(path, *args, **kwargs) -> FrameSequence:
    """Dispatch to an appropriate class constructor depending on the file name.

    Parameters
    ----------
    path : str, pathlib.Path, list of paths, array or FrameSequence
        Path to load data from: a glob-style pattern, a single file, a folder
        of frame files, or a list of file names.  A numpy array (or memmap,
        h5py/zarr/dask array) is wrapped as :class:`FSeq_arr`; an existing
        frame sequence is returned as is.
    **kwargs
        The format's reader options (``ch=``, ``z=``, ``series=``, ``dataset=`` ...:
        :mod:`imfun.readers.options`), ``fns=[...]`` and ``meta={...}``.  Unknown
        keywords are an error that lists what the format takes.
    *args
        Dispatched to the chosen class' ``__init__`` in its order (as the API
        reference says); deprecated, because the same position means ``ch`` for
        one format and ``series`` or ``dataset`` for another: pass options by keyword.

    Returns
    -------
    FrameSequence
        An instance of the frame sequence class for the format (``FSeq_tiff``, ...).

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
    src = registry.resolve(path)  # once: the reader gets the resolved source
    return open_source(src, registry.find_format(src), *args, **kwargs)


def open_source(src: registry.Source, entry: registry.FormatEntry, *args, **kwargs) -> FrameSequence:
    """:func:`open_seq` of a source already resolved and matched to its format (the command
    line checks its options against the format first)."""
    cls = entry.seq_class or FrameSequence
    if args:
        kwargs = _positional_to_keywords(cls, entry, args, kwargs)
    fns, meta = kwargs.pop("fns", None), kwargs.pop("meta", None)
    reader = entry.open(src, **kwargs)
    if cls is FrameSequence:  # a plug-in format without a class of its own
        return FrameSequence(reader, fns=fns, meta=meta)
    return cls.from_reader(reader, fns=fns, meta=meta)


def _positional_to_keywords(cls, entry, args, kwargs) -> dict:
    """``open_seq(path, x, ...)``: the class' positional parameters, with a warning naming them."""
    params = [name for name, p in inspect.signature(cls.__init__).parameters.items()
              if p.kind is p.POSITIONAL_OR_KEYWORD][2:]  # self and the path
    if len(args) > len(params):
        raise UnknownArgumentError(f"open_seq() got {len(args)} positional options for {entry.name} files, "
                                   f"which take at most {len(params)} ({', '.join(params)})")
    named = dict(zip(params, args, strict=False))
    twice = [k for k in named if k in kwargs]
    if twice:
        raise UnknownArgumentError(f"open_seq() got {', '.join(twice)} both by position and by keyword")
    warnings.warn(f"open_seq(path, {', '.join(map(repr, args))}): options by position are deprecated, "
                  f"since a position means another option for another format; write "
                  f"{', '.join(f'{k}={v!r}' for k, v in named.items())}", DeprecationWarning, stacklevel=3)
    return {**named, **kwargs}


def _construct(cls, path, args, kwargs) -> FrameSequence:
    """Call ``cls(path, *args, **kwargs)``, refusing unknown keywords by name first."""
    params = inspect.signature(cls.__init__).parameters
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        allowed = [name for name, p in params.items()
                   if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][1:]
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
    return pick_channel(frame, ch)


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
    return list(registry.resolve(pattern).names)


__all__ = ["fseq_from_glob", "img_getter", "iter_files", "open_seq", "sorted_file_names"]
