"""The format registry: which reader opens a source.

Each format module registers an *opener* — a function ``(source, **options) ->
Reader`` — with the endings it takes, an optional check of a file's first bytes
(``sniff``), whether it reads a collection of files, and the options it takes
(:mod:`imfun.readers.options`).  :func:`imfun.fseq.open_seq` resolves its
argument into a :class:`Source` once, asks the registry for the format, builds
the reader with the opener and wraps it in a ``FrameSequence``; there is no
chain of ``if`` on extensions anywhere else.

Readers in other packages plug in through the ``imfun.readers`` entry-point
group: an entry point names a module whose import registers its formats (or a
callable that does).  A plug-in that is missing or fails to load is a warning
that names it, never a silent skip.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import SourceAccessError, SourceNotFoundError, UnsupportedFormatError

if TYPE_CHECKING:
    from pathlib import Path

SNIFF_BYTES = 512
_GLOB_MAGIC = re.compile(r"[*?[]")  # glob.has_magic's test, without importing glob and pathlib


# plain classes, not dataclasses: making a dataclass costs ``import imfun.fseq`` about a millisecond
class Source:
    """A path argument resolved: the files it names, and where it came from.

    ``names`` are the files' paths as strings and ``files`` the same as ``pathlib.Path``
    objects (made on first use: TIFF, image and video files open without importing pathlib,
    which costs a fresh process about 5 ms).
    """

    def __init__(self, files: Sequence[str | os.PathLike], given: str, is_collection: bool):
        self.names = [os.fspath(f) for f in files]
        self.given = given
        self.is_collection = is_collection  # a glob, a list or a directory, as opposed to one file

    def __repr__(self) -> str:
        return f"Source({self.given!r}, {len(self.names)} file(s), is_collection={self.is_collection})"

    @functools.cached_property
    def files(self) -> list[Path]:
        """The files as ``pathlib.Path`` objects."""
        from pathlib import Path

        return [Path(n) for n in self.names]

    @functools.cached_property
    def ending(self) -> str | None:
        """The common lower-case ending of all files ('.tif'), or None if they differ."""
        endings = {file_ending(f) for f in self.names}
        return endings.pop() if len(endings) == 1 else None

    @functools.cached_property
    def first_bytes(self) -> bytes:
        """The first bytes of the first file (empty if unreadable), read once for every sniff."""
        try:
            with open(self.names[0], "rb") as fh:
                return fh.read(SNIFF_BYTES)
        except OSError:
            return b""

    def head(self) -> bytes:
        return self.first_bytes


class FormatEntry:
    """A registered format: how to recognise its sources and how to open them.

    ``opener`` is ``(source, **options) -> Reader`` or a ``"module:function"`` reference
    (imported on use), as are ``claims`` (an extra test, e.g. a Leica XML nearby) and
    ``contents`` (path -> list of dicts: what a file holds, for ``imfun info``).
    ``collection``/``single``: it reads collections of files / single files; ``directory``:
    a single source stored as a folder (a ``.zarr`` store); ``extra``: the pip extra it needs;
    ``options``: the :class:`~imfun.readers.options.Option` objects its readers take;
    ``seq_name``: its public ``FrameSequence`` class in :mod:`imfun.fseq`, if any;
    ``container``: the option choosing one of several images in a file.
    """

    def __init__(self, name: str, opener: Callable | str, endings: tuple[str, ...],
                 sniff: Callable[[bytes], bool] | None = None, collection: bool = False,
                 single: bool = True, claims: Callable[[Source], bool] | str | None = None,
                 priority: int = 0, extra: str | None = None, description: str = "",
                 directory: bool = False, options: tuple = (), contents: Callable | str | None = None,
                 seq_name: str = "", container: str = "series"):
        self.name, self.opener, self.endings, self.sniff = name, opener, endings, sniff
        self.collection, self.single, self.claims, self.priority = collection, single, claims, priority
        self.extra, self.description, self.directory, self.options = extra, description, directory, options
        self.contents, self.seq_name, self.container = contents, seq_name, container

    def __repr__(self) -> str:
        return f"FormatEntry({self.name!r}, endings={self.endings!r}, priority={self.priority})"

    def option_names(self) -> set[str]:
        """The options it takes, with ``series`` for whatever chooses its container."""
        names = {o.name for o in self.options}
        return names | {"series"} if self.container in names else names

    @property
    def seq_class(self) -> type | None:
        """The format's public class (``FSeq_tiff`` ...), once :mod:`imfun.fseq` has bound it."""
        return _CLASSES.get(self.seq_name)

    def open(self, source: Source, **options):
        """The reader of ``source`` with the given options (checked against :attr:`options`)."""
        if "series" in options and self.container != "series":
            # one name for the choice of a container: series= is dataset= for HDF5, record= for MES ...
            if self.container in options:
                from ..errors import UnknownArgumentError

                raise UnknownArgumentError(f"give series= or {self.container}= for {self.name} files, "
                                           "not both (they are the same choice)")
            options = dict(options)
            options[self.container] = options.pop("series")
        known = {o.name for o in self.options}
        unknown = [k for k in options if k not in known]
        if unknown:
            from ..errors import UnknownArgumentError

            takes = "; ".join(f"{o.name}= ({o.help})" for o in self.options) or "no reader options"
            raise UnknownArgumentError(
                f"{self.name} files got unknown keyword argument(s) {', '.join(map(repr, unknown))}; "
                f"they take {takes}, and fns=, meta=")
        return _function(self.opener)(source, **options)

    def accepts(self, src: Source) -> bool:
        if src.is_collection and not self.collection:
            return False
        if not src.is_collection and not self.single:
            return False
        if src.ending not in self.endings and not (self.sniff and self.sniff(src.head())):
            return False
        return self.claims is None or _function(self.claims)(src)

    def list_contents(self, path) -> list[dict] | None:
        """What a file of this format holds (series, data sets, planes), if the format can tell."""
        return None if self.contents is None else _function(self.contents)(path)


def _function(ref: Callable | str) -> Callable:
    """A callable, or the function a ``"module:function"`` reference names (imported now)."""
    if callable(ref):
        return ref
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


_REGISTRY: list[FormatEntry] = []
_CLASSES: dict[str, type] = {}  # public class name -> class, bound by imfun.fseq.formats
_loaded = False
ENTRY_POINT_GROUP = "imfun.readers"


def register(name: str, endings: Sequence[str], *, sniff=None, collection=False, single=True,
             claims=None, priority=0, extra=None, description="", directory=False, options=(),
             contents=None, seq_name="", container="series"):
    """Decorator: register an opener ``(source, **options) -> Reader`` as a format.

    ``options`` lists the :class:`~imfun.readers.options.Option` objects the format takes
    (besides ``fns`` and ``meta``): ``open_seq`` checks keywords against them and the command
    line makes its options from them.  ``contents(path)`` lists what a file holds (series,
    data sets, planes, channels) for ``imfun info``.  ``seq_name`` names the format's public
    ``FrameSequence`` class in :mod:`imfun.fseq` (plug-ins may leave it out).  ``container``
    names the option that chooses one of several images of a file (``'dataset'`` for HDF5,
    ``'record'`` for MES): ``series=`` is accepted for it, the one name for that choice.

    Examples
    --------
    >>> from imfun.readers.base import ArrayReader
    >>> @register("example-npz", (".example-npz",), description="an example")
    ... def open_example(source):
    ...     import numpy as np
    ...     return ArrayReader(np.load(source.files[0])["frames"], source=str(source.files[0]))
    >>> entry("example-npz").description
    'an example'
    >>> unregister("example-npz")
    """

    def deco(opener):
        unregister(name)  # registering a name again replaces it (a reloaded plug-in)
        _REGISTRY.append(FormatEntry(name, opener, tuple(e.lower() for e in endings), sniff,
                                     collection, single, claims, priority, extra, description,
                                     directory, tuple(options), contents, seq_name, container))
        return opener

    return deco


def unregister(name: str) -> None:
    """Remove a format from the registry (plug-ins in tests)."""
    _REGISTRY[:] = [e for e in _REGISTRY if e.name != name]


def bind_class(seq_name: str, cls: type) -> None:
    """Make ``cls`` the public class that ``open_seq`` returns for formats naming ``seq_name``."""
    _CLASSES[seq_name] = cls


def entry(name: str) -> FormatEntry:
    """The registered format called ``name``."""
    load_builtin_readers()
    for e in _REGISTRY:
        if e.name == name:
            return e
    raise UnsupportedFormatError(f"no format called {name!r} is registered; known: "
                                 f"{', '.join(e.name for e in _REGISTRY)}")


def load_builtin_readers() -> None:
    """Put the built-in formats of :mod:`imfun.readers.catalog` in the registry, once (their
    modules are imported only when a source of theirs is opened)."""
    global _loaded
    if not _loaded:
        _loaded = True
        from .catalog import BUILTIN

        known = {e.name for e in _REGISTRY}
        for spec in BUILTIN:
            if spec["name"] not in known:
                _REGISTRY.append(FormatEntry(**spec))


_plugins_loaded = False


def load_plugins(again: bool = False) -> None:
    """Load the readers that other packages register through the ``imfun.readers`` entry points
    (once, or ``again``); one that cannot be loaded is an :class:`~imfun.errors.ImfunWarning`
    naming it.  Looking the entry points up costs tens of milliseconds with many packages
    installed, so :func:`find_format` does it only when no built-in format takes a source."""
    global _plugins_loaded
    if _plugins_loaded and not again:
        return
    _plugins_loaded = True
    import warnings
    from importlib.metadata import entry_points

    from ..errors import ImfunWarning

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
            if callable(loaded):
                loaded()
        except Exception as exc:  # a broken plug-in must not stop the built-in formats
            warnings.warn(f"the imfun reader plug-in {ep.name!r} ({ep.value}) could not be loaded and "
                          f"is skipped: {type(exc).__name__}: {exc}", ImfunWarning, stacklevel=3)


def formats(plugins: bool = True) -> list[FormatEntry]:
    """All registered formats, highest priority first (with those of the plug-ins, unless
    ``plugins=False``)."""
    load_builtin_readers()
    if plugins:
        load_plugins()
    return sorted(_REGISTRY, key=lambda e: -e.priority)


def file_ending(path: str | Path) -> str:
    """The lower-case ending of a file name ('.tif', '.ome.tif'), '' when it has none."""
    name = os.path.basename(os.fspath(path)).lower()
    for double in (".ome.tif", ".ome.tiff", ".ome.zarr", ".nii.gz"):
        if name.endswith(double):
            return double
    i = name.rfind(".")  # pathlib's rule for a suffix, without building Path objects
    return name[i:] if 0 < i < len(name) - 1 else ""


def natural_key(path: str | Path):
    """Sort key that puts frame2 before frame10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def sorted_file_names(pattern: str | os.PathLike) -> list[str]:
    """Return the file names matching a glob pattern, in natural order (frame2 before frame10)."""
    import glob

    return sorted(glob.glob(os.fspath(pattern)), key=natural_key)


def resolve(path) -> Source:
    """Turn a path, glob pattern, directory or list of paths into a :class:`Source`."""
    if isinstance(path, list | tuple):
        files = [os.fspath(p) for p in path]
        if not files:
            raise SourceNotFoundError("the list of files is empty; give at least one file")
        missing = [f for f in files if not os.path.exists(f)]
        if missing:
            raise SourceNotFoundError(f"file not found: {missing[0]} (and {len(missing) - 1} more)"
                                      if len(missing) > 1 else f"file not found: {missing[0]}")
        _check_readable(files)
        return Source(files, f"{files[0]} ... ({len(files)} files)", True)
    text = os.fspath(path)
    if _GLOB_MAGIC.search(text):
        files = [f for f in sorted_file_names(text) if os.path.isfile(f)]
        if not files:
            raise SourceNotFoundError(f"no files match the pattern {text!r}; check the folder "
                                      "and the pattern (e.g. 'data/*.tif')")
        _check_readable(files)
        return Source(files, text, True)
    if os.path.isdir(text) and not _is_directory_format(text):
        with os.scandir(text) as entries:
            files = sorted((e.path for e in entries if e.is_file()), key=natural_key)
        known = {e for entry in formats(plugins=False) if entry.collection for e in entry.endings}
        endings = [file_ending(f) for f in files if file_ending(f) in known]
        if not endings:
            raise SourceNotFoundError(
                f"the folder {text!r} holds no frame files of a known kind "
                f"({', '.join(sorted(known))})")
        common = max(set(endings), key=endings.count)
        return Source([f for f in files if file_ending(f) == common], text, True)
    if not os.path.exists(text):
        raise SourceNotFoundError(f"no such file or folder: {text!r}")
    _check_readable([text])
    return Source([text], text, False)


def _check_readable(files: list[str]) -> None:
    """Refuse files that exist but cannot be read, naming the first (readers would call it damaged)."""
    for f in files:  # they exist: one access() each, no stat
        if not os.access(f, os.R_OK):
            raise SourceAccessError(f"{str(f)!r} exists but cannot be read: permission denied; "
                                    "check the file's permissions (chmod) or its owner")


def _is_directory_format(path: str) -> bool:
    """Whether a folder is one source of a folder-based format (a Zarr store, say)."""
    src = Source([path], path, False)
    return any(e.directory and e.accepts(src) for e in formats(plugins=False))


def find_format(src: Source) -> FormatEntry:
    """The highest-priority registered format that accepts the source (the plug-ins' formats are
    looked up when no format known so far takes it)."""
    for entry in formats(plugins=False):
        if entry.accepts(src):
            return entry
    if not _plugins_loaded:
        known = set(map(id, _REGISTRY))
        load_plugins()
        for entry in formats(plugins=False):
            if id(entry) not in known and entry.accepts(src):
                return entry
    kinds = "many files" if src.is_collection else "a single file"
    supported = ", ".join(f"{e.name} ({' '.join(e.endings)})" for e in formats()
                          if (e.collection if src.is_collection else e.single))
    raise UnsupportedFormatError(
        f"cannot open {src.given!r}: no reader for {kinds} ending in "
        f"{src.ending or 'several different endings'!r}. Supported: {supported}")


def all_options(plugins: bool = True) -> list:
    """Every option some format takes, once each, in the order the formats declare them (those
    of the plug-ins too, unless ``plugins=False``)."""
    seen: dict[str, object] = {}
    for entry in formats(plugins):
        for option in entry.options:
            seen.setdefault(option.name, option)
    return list(seen.values())


def supported_formats() -> list[str]:
    """Short descriptions of the registered formats, for help texts."""
    return [f"{e.name}: {' '.join(e.endings)}" for e in formats()]


__all__ = ["ENTRY_POINT_GROUP", "FormatEntry", "Source", "all_options", "bind_class", "entry", "file_ending",
           "find_format", "formats", "load_plugins", "natural_key", "register", "resolve",
           "sorted_file_names", "supported_formats", "unregister"]
