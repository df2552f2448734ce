"""ScanImage TIFF headers: a minimal reader of TIFF directories, and whether a file is ScanImage's.

The registry asks every TIFF it opens whether ScanImage wrote it (:func:`claims`);
this module answers from the file's header and first IFD without importing the
ScanImage reader (:mod:`imfun.readers.scanimage`, which indexes the pages with
the same directory reader), so a plain TIFF opens as fast as tifffile opens it.
"""

from __future__ import annotations

import json
import os
import struct
import warnings

from ..errors import CorruptFileError, MetadataWarning
from .registry import Source

SI_MAGIC = 117637889  # 0x07030301, at byte 16 of a ScanImage 2016+ BigTIFF
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8}
_INT_FORMAT = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 16: "Q", 17: "q", 18: "Q"}
_KIND = {1: "u", 2: "i", 3: "f"}


# -- the TIFF structure, read directly ------------------------------------------------------
# plain classes, not dataclasses: making a dataclass costs a fresh process about a millisecond
class _Ifd:
    __slots__ = ("next", "offset", "size", "tags")

    def __init__(self, offset: int, next: int, tags: dict, size: int):
        self.offset, self.next = offset, next
        self.tags = tags  # tag -> (type, count, raw value field)
        self.size = size  # bytes of the IFD itself


class _Tiff:
    """An open TIFF file: byte order, classic or BigTIFF, first IFD."""

    __slots__ = ("big", "fh", "first", "order", "size")

    def __init__(self, fh, order: str, big: bool, first: int, size: int):
        self.fh, self.order, self.big = fh, order, big  # order: '<' or '>'
        self.first, self.size = first, size

    def ifd(self, offset: int) -> _Ifd:
        o, fh = self.order, self.fh
        fh.seek(offset)
        if self.big:
            (n,) = struct.unpack(o + "Q", fh.read(8))
            entry, head, tail = 20, 8, 8
        else:
            (n,) = struct.unpack(o + "H", fh.read(2))
            entry, head, tail = 12, 2, 4
        if not 0 < n < 4096:
            raise CorruptFileError(f"an IFD at byte {offset} holds {n} tags; the file is damaged")
        raw = fh.read(n * entry + tail)
        if len(raw) < n * entry + tail:
            raise CorruptFileError(f"the IFD at byte {offset} runs past the end of the file")
        tags = {}
        fmt = o + ("HHQ8s" if self.big else "HHI4s")
        for k in range(n):
            tag, typ, count, value = struct.unpack_from(fmt, raw, k * entry)
            tags[tag] = (typ, count, value)
        (nxt,) = struct.unpack_from(o + ("Q" if self.big else "I"), raw, n * entry)
        return _Ifd(offset, nxt, tags, head + n * entry + tail)

    def _value_bytes(self, ifd: _Ifd, tag: int) -> bytes:
        typ, count, value = ifd.tags[tag]
        nbytes = _TYPE_SIZE.get(typ, 1) * count
        if nbytes <= len(value):
            return value[:nbytes]
        (at,) = struct.unpack(self.order + ("Q" if self.big else "I"), value)
        self.fh.seek(at)
        return self.fh.read(nbytes)

    def ints(self, ifd: _Ifd, tag: int) -> list[int]:
        typ, count, _ = ifd.tags[tag]
        if typ not in _INT_FORMAT:
            raise CorruptFileError(f"tag {tag} of the IFD at byte {ifd.offset} has type {typ}, "
                                   "not an integer; the file is damaged")
        return list(struct.unpack(f"{self.order}{count}{_INT_FORMAT[typ]}", self._value_bytes(ifd, tag)))

    def text(self, ifd: _Ifd, tag: int) -> str:
        if tag not in ifd.tags:
            return ""
        return self._value_bytes(ifd, tag).split(b"\0", 1)[0].decode("utf-8", "replace")

    def text_at(self, ifd: _Ifd, tag: int) -> tuple[int, int]:
        """Byte offset and length of a text tag's value (0, 0 when absent or stored inline)."""
        if tag not in ifd.tags:
            return 0, 0
        _, count, value = ifd.tags[tag]
        if count <= len(value):
            return 0, 0
        return struct.unpack(self.order + ("Q" if self.big else "I"), value)[0], count


def _open_tiff(path: str):
    fh = open(path, "rb")  # noqa: SIM115 - closed by the caller
    head = fh.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        fh.close()
        raise CorruptFileError(f"{path} is not a TIFF file (no TIFF header); it may be damaged")
    (magic,) = struct.unpack(order + "H", head[2:4])
    if magic == 43:
        (first,) = struct.unpack(order + "Q", head[8:16])
    elif magic == 42:
        (first,) = struct.unpack(order + "I", head[4:8])
    else:
        fh.close()
        raise CorruptFileError(f"{path} is not a TIFF file (version {magic}); it may be damaged")
    return _Tiff(fh, order, magic == 43, first, os.path.getsize(path))


def _static_header(tiff: _Tiff) -> tuple[str, dict, int] | None:
    """The 2016+ static header: (frame data text, ROI groups, version), or None."""
    if not tiff.big or tiff.order != "<":
        return None
    tiff.fh.seek(16)
    raw = tiff.fh.read(16)
    if len(raw) < 16:
        return None
    magic, version, size0, size1 = struct.unpack("<IIII", raw)
    if magic != SI_MAGIC or size0 + size1 + 32 > tiff.size:
        return None
    frame = tiff.fh.read(size0).split(b"\0", 1)[0].decode("utf-8", "replace")
    rois = _json(tiff.fh.read(size1)) if size1 > 1 else {}
    return frame, rois, version


def _json(raw: bytes | str) -> dict:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.split("\0", 1)[0].strip()
    if not text:
        return {}
    try:
        out = json.loads(text)
    except ValueError:
        warnings.warn("the ScanImage ROI-group JSON is malformed and was ignored", MetadataWarning,
                      stacklevel=5)
        return {}
    return out if isinstance(out, dict) else {}


def _si_text(desc: str, software: str) -> str:
    if software.lstrip()[:3] == "SI.":
        return "software"
    if desc.lstrip()[:6] == "state.":
        return "state"
    if "scanimage.SI" in desc:
        return "description"
    return ""


def is_scanimage_file(path) -> bool:
    """Whether a file is a ScanImage TIFF: the 2016+ static header, or ScanImage text
    (``SI.``, ``state.``, ``scanimage.SI``) in the first IFD's Software or ImageDescription.
    Reads the header and the first IFD only.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'plain.tif')
    >>> tifffile.imwrite(path, np.zeros((2, 4, 4), np.uint8))
    >>> is_scanimage_file(path)
    False
    """
    try:
        tiff = _open_tiff(os.fspath(path))
    except (OSError, CorruptFileError):
        return False
    try:
        if _static_header(tiff) is not None:
            return True
        ifd = tiff.ifd(tiff.first)
        return bool(_si_text(tiff.text(ifd, 270), tiff.text(ifd, 305)))
    except (OSError, CorruptFileError, struct.error):
        return False
    finally:
        tiff.fh.close()


def claims(src: Source) -> bool:
    """Registry hook: a TIFF written by ScanImage (its static header or its metadata text)."""
    return is_scanimage_file(src.names[0])
