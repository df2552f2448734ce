"""Finding the Leica XML description beside exported image files.

The registry asks every collection of image files whether Leica software
exported it (:func:`claims`); this module answers from the folder listing and
the first bytes of candidate XML files, without importing the Leica reader
(:mod:`imfun.readers.leica`, which parses the description) or pathlib, so a
glob of plain PNG or TIFF files opens as fast as a bare loop opens them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from .registry import Source

_MARKERS = (b"<Data>", b"<Image", b"LeicaImage", b"ImageDescription")
_HEAD_BYTES = 4096
_PROPERTIES = "_Properties"


def looks_like_leica_xml(path: str | os.PathLike) -> bool:
    """Cheap check: does the start of the file name a Leica image description?"""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return False
    return any(m in head for m in _MARKERS)


def _stem(name: str) -> str:
    """A file name without its last ending (pathlib's ``stem``)."""
    i = name.rfind(".")
    return name[:i] if 0 < i < len(name) - 1 else name


def _matches(xml_stem: str, image_stem: str) -> bool:
    """Whether an XML's name is a prefix of an image's, ending at a separator."""
    x, im = xml_stem.lower(), image_stem.lower()
    if not im.startswith(x):
        return False
    return len(im) == len(x) or not im[len(x)].isalnum()


def _xml_files(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [e.path for e in entries if e.name.lower().endswith(".xml") and e.is_file()]
    except OSError:
        return []


def find_leica_xml(image: str | os.PathLike, check: bool = True) -> Path | None:
    """The Leica XML description that belongs to an image file, or None.

    Looks beside the image and in a ``MetaData/`` subfolder for ``.xml`` files
    whose name (without ``_Properties``) is the longest prefix of the image's
    name; prefers ``<name>.xml`` to ``<name>_Properties.xml``.  With ``check``,
    only files whose first bytes look like a Leica description count.

    Examples
    --------
    >>> find_leica_xml('export/Series003_t000_ch00.tif')       # doctest: +SKIP
    PosixPath('export/MetaData/Series003.xml')
    """
    folder, name = os.path.split(os.fspath(image))
    folder = folder or os.curdir
    image_stem = _stem(name)
    best: tuple | None = None
    for xml in _xml_files(folder) + _xml_files(os.path.join(folder, "MetaData")):
        xml_stem = _stem(os.path.basename(xml))
        properties = xml_stem.endswith(_PROPERTIES)
        stem = xml_stem[: -len(_PROPERTIES)] if properties else xml_stem
        if not _matches(stem, image_stem):
            continue
        key = (len(stem), not properties)
        if (best is None or key > best[0]) and (not check or looks_like_leica_xml(xml)):
            best = (key, xml)
    if best is None:
        return None
    from pathlib import Path

    return Path(best[1])


def claims(src: Source) -> bool:
    """Registry hook: image files with a Leica description beside them (or in ``MetaData/``)."""
    return find_leica_xml(src.names[0]) is not None
