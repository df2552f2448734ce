"""Moor FLPI laser-speckle files (``.mlf``): flux images, memory-mapped.

Layout (little-endian), as written by moorFLPI software:

* bytes 0..63: a text, ``"Moor FLPI Live Image Data file V2.0"`` or
  ``"moorFLPI Live Image Data File V3.0"``.
* V2 header, ``uint32`` values: number of frames at ``0x8000``, columns at
  ``0x8008``, rows at ``0x8010``, frame interval in ms at ``0x8018``,
  exposure at ``0x8028``.
* V3 header, ``int64`` values: version at ``0x100``, number of frames at
  ``0x1000``, columns ``0x1008``, rows ``0x1010``, frame interval in µs
  ``0x1018``, exposure ``0x1028``, gain ``0x1030``.
* Pixels from ``0x10000``, ``uint16``: each time point is a flux frame
  followed by a DC (mean intensity) frame, ``rows x columns`` each, row-major.

The sequence's frames are the flux images, a strided read-only view of one
memory map; the DC frames are :meth:`FSeq_mlf.dc_frames` (or ``kind='dc'``).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..axes import Axes, to_standard
from ..errors import CorruptFileError, InvalidArgumentError
from .base import Reader, apply_crop, as_slice
from .catalog import is_mlf as sniff_mlf
from .registry import Source

DATA_OFFSET = 0x10000
_V2_TEXT = b"moor flpi live image data file v2"
_V3_TEXT = b"moorflpi live image data file v3"
# (offset, struct format) of each header field, per version
_V2_FIELDS = {"nframes": 0x8000, "cols": 0x8008, "rows": 0x8010, "dt": 0x8018, "exposure": 0x8028}
_V3_FIELDS = {"version": 0x100, "nframes": 0x1000, "cols": 0x1008, "rows": 0x1010, "dt": 0x1018,
              "exposure": 0x1028, "gain": 0x1030}


def read_mlf_header(path: str | os.PathLike) -> dict:
    """Read and check the header of a Moor FLPI file.

    Returns
    -------
    dict
        ``format_version`` (2 or 3), ``nframes``, ``rows``, ``cols``, ``dt``
        and ``dt_unit`` (``'ms'`` for V2, ``'µs'`` for V3), ``exposure``
        (and ``version``, ``gain`` for V3), ``title`` (the text at the start).

    Raises
    ------
    CorruptFileError
        The file is too short for its header, is not a Moor FLPI file, or its
        header states sizes that the file does not hold.

    Examples
    --------
    >>> read_mlf_header('speckle.mlf')['nframes']  # doctest: +SKIP
    100
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        title = fh.read(64)
        if sniff_mlf(title):
            version = 2 if _V2_TEXT in title.lower() else 3
        else:
            raise CorruptFileError(
                f"{path} does not start with 'Moor FLPI Live Image Data file V2.0' or "
                f"'moorFLPI Live Image Data File V3.0'; it is not a Moor FLPI (.mlf) file")
        if size < DATA_OFFSET:
            raise CorruptFileError(
                f"{path} is truncated: {size} bytes, shorter than the {DATA_OFFSET}-byte header "
                "of a Moor FLPI file")
        fields, fmt = (_V2_FIELDS, "<I") if version == 2 else (_V3_FIELDS, "<q")
        header: dict = {"format_version": version,
                        "title": title.split(b"\0")[0].decode("latin-1").strip()}
        for name, offset in fields.items():
            fh.seek(offset)
            header[name] = struct.unpack(fmt, fh.read(struct.calcsize(fmt)))[0]
    header["dt_unit"] = "ms" if version == 2 else "µs"
    n, rows, cols = header["nframes"], header["rows"], header["cols"]
    if n <= 0 or rows <= 0 or cols <= 0:
        raise CorruptFileError(
            f"{path}: the header states {n} frames of {rows} x {cols} pixels; all must be positive")
    # Python ints do not overflow, so absurd header values are caught here, before any allocation
    need = DATA_OFFSET + n * 2 * rows * cols * 2
    if need > size:
        have = (size - DATA_OFFSET) // (4 * rows * cols)
        raise CorruptFileError(
            f"{path} is truncated or its header is wrong: {n} frames of {rows} x {cols} (flux + DC, "
            f"uint16) need {need} bytes, the file has {size} (room for {have} full time points)")
    return header


class MLFReader(Reader):
    """Reads the flux (or DC) frames of a Moor FLPI file through a read-only memory map."""

    cheap_crop = True

    def __init__(self, path: str | os.PathLike, kind: str = "flux"):
        if kind not in ("flux", "dc"):
            raise InvalidArgumentError(f"kind must be 'flux' or 'dc', got {kind!r}")
        self.path = Path(path)
        self.kind = kind
        self.header = read_mlf_header(self.path)
        h = self.header
        self.shape = (int(h["nframes"]), int(h["rows"]), int(h["cols"]))
        self.dtype = np.dtype("<u2")
        dt = h["dt"]
        self.axes = Axes([to_standard(dt, h["dt_unit"]) if dt > 0 else None])
        self.metadata = {"mlf_header": dict(h), "mlf_kind": kind}
        if "exposure" in h:
            self.metadata["exposure"] = h["exposure"]
        if "gain" in h:
            self.metadata["gain"] = h["gain"]
        self.source = f"{self.path} ({kind})"
        self.paths = (str(self.path),)
        self._mm: np.memmap | None = None

    def _frames_view(self) -> np.ndarray:
        if self._mm is None:
            n, rows, cols = self.shape
            self._mm = np.memmap(self.path, dtype=self.dtype, mode="r", offset=DATA_OFFSET,
                                 shape=(n, 2, rows, cols))
        # interleaved flux/DC: a strided view picks one kind without copying
        return self._mm[:, 0 if self.kind == "flux" else 1]

    def _read(self, frames, crop):
        view = self._frames_view()
        sl = as_slice(frames)
        if sl is not None:
            return apply_crop(view[sl], crop)
        if crop is not None:
            return view[(frames, *crop)]
        return view[frames]

    def close(self) -> None:
        # views handed out keep the map alive; dropping our reference is enough
        self._mm = None


def open_mlf(source: Source, kind="flux") -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_mlf`."""
    return MLFReader(source.files[0], kind)


__all__ = ["MLFReader", "open_mlf", "read_mlf_header", "sniff_mlf"]
