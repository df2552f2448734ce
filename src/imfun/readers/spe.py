"""Princeton Instruments / Roper Scientific SPE files (WinView, WinSpec, LightField).

Layout (little-endian), from the SPE 2.x/3.0 header specification:

* a 4100-byte header: columns (``xdim``, uint16) at 42, data type (int16) at
  108, rows (``ydim``, uint16) at 656, number of frames (int32) at 1446,
  exposure in seconds (float32) at 10, header version (float32) at 1992;
* the frames from byte 4100, ``frames x rows x columns``, row-major;
* SPE 3.0 (LightField) adds an XML footer after the frames, kept as metadata.

Frames are a read-only memory map.  The header has no frame interval: set
``meta['axes'][0]`` when it matters.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..axes import Axes
from ..errors import CorruptFileError
from .base import Reader, apply_crop, as_slice
from .registry import Source

HEADER_BYTES = 4100
DATA_TYPES = {0: np.float32, 1: np.int32, 2: np.int16, 3: np.uint16, 5: np.float64, 6: np.uint8,
              8: np.uint32}


def read_spe_header(path: str | os.PathLike) -> dict:
    """Read and check the header of an SPE file: ``cols``, ``rows``, ``nframes``,
    ``dtype``, ``exposure_s``, ``version`` and, for SPE 3.0, ``xml_footer``."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES)
        if len(head) < HEADER_BYTES:
            raise CorruptFileError(f"{path} is shorter than an SPE header ({len(head)} of "
                                   f"{HEADER_BYTES} bytes); the file is truncated or not SPE")
        cols = struct.unpack_from("<H", head, 42)[0]
        code = struct.unpack_from("<h", head, 108)[0]
        rows = struct.unpack_from("<H", head, 656)[0]
        nframes = struct.unpack_from("<i", head, 1446)[0]
        exposure = struct.unpack_from("<f", head, 10)[0]
        version = struct.unpack_from("<f", head, 1992)[0]
        if code not in DATA_TYPES:
            raise CorruptFileError(f"{path}: unknown SPE data type code {code}; the header is damaged "
                                   "or the file is not SPE")
        if cols <= 0 or rows <= 0 or nframes <= 0:
            raise CorruptFileError(f"{path}: the SPE header gives {nframes} frames of {rows} x {cols}; "
                                   "all must be positive")
        dtype = np.dtype(DATA_TYPES[code]).newbyteorder("<")
        need = HEADER_BYTES + nframes * rows * cols * dtype.itemsize
        if need > size:
            raise CorruptFileError(f"{path}: the header announces {nframes} frames of {rows} x {cols} "
                                   f"{dtype} ({need} bytes) but the file holds {size}; it is truncated")
        header = {"cols": cols, "rows": rows, "nframes": nframes, "dtype": dtype,
                  "exposure_s": float(exposure), "version": float(version)}
        if version >= 3.0:
            footer_at = struct.unpack_from("<Q", head, 678)[0]
            if need <= footer_at < size:
                fh.seek(footer_at)
                header["xml_footer"] = fh.read(min(size - footer_at, 1 << 20)).decode("utf-8", "replace")
    return header


class SpeReader(Reader):
    """Frames of an SPE file, memory-mapped read-only."""

    cheap_crop = True

    def __init__(self, path):
        self.path = Path(path)
        self.source = str(self.path)
        self.paths = (str(self.path),)
        h = read_spe_header(self.path)
        self.shape = (h["nframes"], h["rows"], h["cols"])
        self.dtype = h["dtype"].newbyteorder("=")
        self.axes = Axes()
        self.metadata = {"spe": {k: v for k, v in h.items() if k != "dtype"}}
        self._file_dtype = h["dtype"]
        self._mm = None

    def _map(self) -> np.ndarray:
        with self._lock:
            if self._mm is None:
                self._mm = np.memmap(self.path, dtype=self._file_dtype, mode="r", offset=HEADER_BYTES,
                                     shape=self.shape)
            return self._mm

    def _read(self, frames, crop):
        sl = as_slice(frames)
        block = self._map()[sl if sl is not None else frames]
        return apply_crop(block, crop).astype(self.dtype, copy=False)

    def close(self) -> None:
        with self._lock:
            self._mm = None


def open_spe(source: Source) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_spe`."""
    return SpeReader(source.files[0])


