"""Femtonics MES files (``.mes``): measurement records of a two-photon microscope.

A MES file is a MATLAB file, either v5 (read with :func:`scipy.io.loadmat`) or
v7.3 (HDF5 behind a 512-byte MATLAB userblock, read with :mod:`h5py`); the
header text ("MATLAB 5.0 MAT-file" / "MATLAB 7.3 MAT-file") says which.  The
whole element structure of a v5 file is checked by :mod:`imfun.readers.matv5`
before scipy reads any of it: scipy trusts the sizes in the file, and some
damaged files would crash the interpreter.

Assumed layout
--------------
* **Descriptor variables** ``Df0001``, ``Df0002``, ... are struct arrays with
  one entry per image (per channel, and per z-level in a z-stack).  Fields
  used here:

  ``Context``
      ``'Measure'``, ``'Zstack'``, ...
  ``ImageName``
      name of the variable holding the pixels, e.g. ``'IF0001_001'``.
  ``Channel``
      detector name, e.g. ``'pmtUG'``, ``'pmtUR'``.
  ``MeasurementDate``
      a text such as ``'2014.03.21. 15:02:11,123'``.
  ``WidthStep``, ``HeightStep``
      µm per pixel along a scan line and between lines.
  ``DIMS``
      size of the pixel variable in MATLAB order ``[line length, lines]``.
  ``FoldedFrameInfo``
      for XYT time-lapses a struct with ``numFrames``, ``numFrameLines``,
      ``frameTimeLength`` (ms per frame), ``firstFramePos`` (0-based index of
      the first line of the first frame), ``firstFrameStartTime`` (ms),
      ``TransverseStep`` (µm between lines); empty otherwise.
  ``Zlevel``
      z position in µm of a z-stack image.
  ``Type``
      (optional) scan type; a ``'Line'`` type marks a line scan (unsupported).

* **XYT time-lapse**: each channel is one long 2-D variable of MATLAB size
  ``line length x (lines * frames)``; frame ``k`` is lines
  ``firstFramePos + k*numFrameLines ...`` of it, transposed so that a frame's
  rows are scan lines and its columns are pixels along a line.
* **Z-stack** (and single **XY** images): one 2-D variable per image, frames
  follow the entries of the chosen channel in the order of the struct array.

In a v7.3 file MATLAB stores arrays transposed (an ``L x N`` array is an HDF5
data set of shape ``(N, L)``), strings as ``uint16`` arrays with the attribute
``MATLAB_class='char'``, a struct as a group, a struct array as a group whose
fields are data sets of object references into ``#refs#``, and an empty
array as a data set with ``MATLAB_empty=1``.

v7.3 pixels are read frame by frame from the HDF5 file; a v5 variable is read
whole (scipy cannot read part of a variable) the first time it is needed.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..axes import Axes
from ..errors import (
    ChannelError,
    CorruptFileError,
    DatasetError,
    ImfunError,
    TruncatedFileWarning,
    UnsupportedFormatError,
)
from .base import Reader, as_slice, require
from .matv5 import MatVariable, check_variable, scan_mat5
from .registry import Source

SUPPORTED_KINDS = ("XYT", "Z-stack", "XY")
_RECORD_RE = re.compile(r"^Df\d{4}$")


# -- MATLAB file access ---------------------------------------------------------
def mat_version(path: str | os.PathLike) -> str:
    """``'5'`` or ``'7.3'`` from the MATLAB header text of a file."""
    with open(path, "rb") as fh:
        head = fh.read(128)
    if head.startswith(b"MATLAB 7.3"):
        return "7.3"
    if head.startswith(b"MATLAB 5.0") or head.startswith(b"MATLAB"):
        return "5"
    raise CorruptFileError(
        f"{path} does not start with a MATLAB header ('MATLAB 5.0 MAT-file' or 'MATLAB 7.3 "
        "MAT-file'); a Femtonics .mes file is a MATLAB file")


def _plain(value: Any) -> Any:
    """A scipy.io (v5) value as plain Python: structs to dicts, 0-d arrays to scalars."""
    from scipy.io.matlab import mat_struct

    if isinstance(value, mat_struct):
        return {k: _plain(getattr(value, k)) for k in value._fieldnames}
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        if value.dtype == object:
            return [_plain(v) for v in value.ravel()]
        if value.ndim == 0:
            return value.item()
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attr_text(obj, name: str) -> str:
    val = obj.attrs.get(name)
    if val is None:
        return ""
    return val.decode() if isinstance(val, bytes) else str(val)


def _h5_plain(f, obj) -> Any:
    """A v7.3 (HDF5) MATLAB value as plain Python, following MATLAB's storage rules."""
    import h5py

    if isinstance(obj, h5py.Group):
        items = {k: obj[k] for k in obj}
        is_ref = {k: isinstance(v, h5py.Dataset) and v.dtype == h5py.ref_dtype
                  and _attr_text(v, "MATLAB_class") != "cell" for k, v in items.items()}
        if items and all(is_ref.values()):
            # a struct array: field k of entry i is the object items[k][i]
            refs = {k: v[()].ravel(order="F") for k, v in items.items()}
            n = len(next(iter(refs.values())))
            return [{k: _h5_plain(f, f[refs[k][i]]) for k in items} for i in range(n)]
        return {k: _h5_plain(f, v) for k, v in items.items()}
    if obj.attrs.get("MATLAB_empty", 0):
        return None
    cls = _attr_text(obj, "MATLAB_class")
    data = obj[()]
    if obj.dtype == h5py.ref_dtype:
        return [_h5_plain(f, f[r]) for r in data.ravel(order="F")]
    if cls == "char":
        # a 1 x n char is stored (n, 1): raveling keeps the text in order
        return "".join(map(chr, np.asarray(data).ravel()))
    arr = np.asarray(data).T  # back to MATLAB's order
    arr = np.squeeze(arr)
    return arr.item() if arr.ndim == 0 else arr


def _v5_directory(path: Path) -> dict[str, MatVariable]:
    """The variables of a v5 file, after checking its structure (CorruptFileError if bad): all of
    it but the contents of compressed pixel variables, checked when they are read."""
    directory: dict[str, MatVariable] = {}
    for var in scan_mat5(path, deep=lambda name: bool(_RECORD_RE.match(name))):
        directory.setdefault(var.name, var)  # of repeated names, scipy reads the first
    return directory


def _load_descriptors(path: Path, version: str,
                      directory: dict[str, MatVariable] | None = None) -> dict[str, list[dict]]:
    """All ``DfNNNN`` descriptor variables as lists of entry dicts (``directory``: of a v5 file,
    from :func:`_v5_directory`)."""
    out: dict[str, list[dict]] = {}
    if version == "7.3":
        h5py = require("h5py", "hdf5")
        with h5py.File(path, "r") as f:
            for name in sorted(k for k in f if _RECORD_RE.match(k)):
                val = _h5_plain(f, f[name])
                out[name] = val if isinstance(val, list) else [val]
        return out
    import scipy.io

    directory = _v5_directory(path) if directory is None else directory
    try:
        names = [n for n in directory if _RECORD_RE.match(n)]
        mat = scipy.io.loadmat(path, variable_names=names, struct_as_record=False, squeeze_me=True,
                               appendmat=False) if names else {}
    except Exception as exc:  # scipy raises many types on damaged files (IndexError, MemoryError ...)
        raise CorruptFileError(f"cannot read {path} as a MATLAB v5 file: {exc}") from exc
    for name in sorted(names):
        val = _plain(mat[name])
        out[name] = val if isinstance(val, list) else [val]
    return out


# -- records ----------------------------------------------------------------
def _ffi(entry: dict) -> dict | None:
    ffi = entry.get("FoldedFrameInfo")
    if isinstance(ffi, list):
        ffi = ffi[0] if ffi else None
    if isinstance(ffi, dict) and int(ffi.get("numFrames") or 0) > 0:
        return ffi
    return None


def record_kind(entries: list[dict]) -> str:
    """Classify a record: ``'XYT'``, ``'Z-stack'``, ``'XY'``, ``'line scan'`` or ``'other'``."""
    if any(_ffi(e) for e in entries):
        return "XYT"
    types = " ".join(str(e.get("Type") or "") for e in entries).lower()
    if "line" in types:
        return "line scan"
    zlevels = [e.get("Zlevel") for e in entries if e.get("Zlevel") is not None]
    contexts = " ".join(str(e.get("Context") or "") for e in entries).lower()
    if zlevels and ("zstack" in contexts or len(set(map(float, zlevels))) > 1):
        return "Z-stack"
    dims = [np.atleast_1d(e.get("DIMS")) for e in entries if e.get("DIMS") is not None]
    if dims and all(len(d) == 2 for d in dims) and all(e.get("ImageName") for e in entries):
        return "XY"
    return "other"


def _image_entries(entries: list[dict], kind: str) -> list[dict]:
    if kind == "XYT":
        return [e for e in entries if _ffi(e)]
    return [e for e in entries if e.get("ImageName")]


def _channel_names(entries: list[dict], kind: str) -> list[str]:
    names: list[str] = []
    for e in _image_entries(entries, kind):
        c = str(e.get("Channel") or "")
        if c not in names:
            names.append(c)
    return names


def _shape(entries: list[dict], kind: str) -> tuple[int, ...] | None:
    imgs = _image_entries(entries, kind)
    if not imgs:
        return None
    dims = np.atleast_1d(imgs[0].get("DIMS")).astype(int)
    if kind == "XYT":
        ffi = _ffi(imgs[0])
        return int(ffi["numFrames"]), int(ffi["numFrameLines"]), int(dims[0])
    if kind in ("Z-stack", "XY") and len(dims) == 2:
        nch = len(_channel_names(entries, kind))
        return len(imgs) // max(nch, 1), int(dims[1]), int(dims[0])
    return None


def _first_text(entries: list[dict], field: str) -> str:
    for e in entries:
        v = e.get(field)
        if isinstance(v, str) and v:
            return v
    return ""


def list_mes_records(path: str | os.PathLike) -> list[dict]:
    """List the measurement records of a MES file.

    Returns
    -------
    list of dict
        One per ``DfNNNN`` variable: ``record`` (its name), ``kind``
        (``'XYT'``, ``'Z-stack'``, ``'XY'``, ``'line scan'``, ``'other'``),
        ``supported`` (whether :class:`FSeq_mes` opens it), ``date``
        (``MeasurementDate``), ``channels`` (names) and ``shape``
        (frames, rows, cols per channel, or None).

    Examples
    --------
    >>> for r in list_mes_records('cells.mes'):          # doctest: +SKIP
    ...     print(r['record'], r['kind'], r['channels'], r['shape'])
    Df0001 XYT ['pmtUG', 'pmtUR'] (200, 64, 128)
    """
    path = Path(path)
    out = []
    for name, entries in _load_descriptors(path, mat_version(path)).items():
        try:
            kind = record_kind(entries)
            out.append({"record": name, "kind": kind, "supported": kind in SUPPORTED_KINDS,
                        "date": _first_text(entries, "MeasurementDate"),
                        "channels": _channel_names(entries, kind) if kind in SUPPORTED_KINDS else [],
                        "shape": _shape(entries, kind)})
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise CorruptFileError(f"{path}: the record {name} is damaged ({type(exc).__name__}: "
                                   f"{exc})") from exc
    return out


def _record_name(record) -> str:
    if isinstance(record, int | np.integer):
        return f"Df{int(record):04d}"
    text = str(record)
    if text.isdigit():
        return f"Df{int(text):04d}"
    return text


def _pick_channels(names: list[str], ch, path) -> list[int]:
    if ch is None:
        return list(range(len(names)))
    if isinstance(ch, int | np.integer):
        if not -len(names) <= ch < len(names):
            raise ChannelError(f"channel {ch} was asked of a record with {len(names)} channels "
                               f"({', '.join(names)}) in {path}")
        return [int(ch) % len(names)]
    key = str(ch).lower()
    exact = [i for i, n in enumerate(names) if n.lower() == key]
    found = exact or [i for i, n in enumerate(names) if key in n.lower()]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        raise ChannelError(f"{what} channel of {', '.join(names)} matches {ch!r} in {path}; "
                           "give a full channel name or an index")
    return found


class MESReader(Reader):
    """Reads one record (XYT, Z-stack or XY) of a Femtonics MES file."""

    thread_safe = False

    def __init__(self, path: str | os.PathLike, record=None, ch=None):
        self.path = Path(path)
        self._h5 = None
        self._cache: dict[str, np.ndarray] = {}
        self._directory: dict[str, MatVariable] = {}  # the variables of a v5 file
        try:
            self._setup(record, ch)
        except ImfunError:
            self.close()
            raise
        except Exception as exc:  # descriptors of the wrong types or sizes in a damaged file
            self.close()
            raise CorruptFileError(f"{self.path}: the MES records are damaged ({type(exc).__name__}: "
                                   f"{exc})") from exc
        except BaseException:
            self.close()
            raise

    def _setup(self, record, ch) -> None:
        self.version = mat_version(self.path)
        if self.version == "5":
            self._directory = _v5_directory(self.path)
        records = _load_descriptors(self.path, self.version, self._directory)
        kinds = {name: record_kind(entries) for name, entries in records.items()}
        if record is None:
            supported = [n for n, k in kinds.items() if k in SUPPORTED_KINDS]
            if not supported:
                found = ", ".join(f"{n} ({k})" for n, k in kinds.items()) or "no DfNNNN records"
                raise UnsupportedFormatError(
                    f"{self.path} holds no record that can be read as frames (XYT, Z-stack or XY); "
                    f"found: {found}")
            name = supported[0]
        else:
            name = _record_name(record)
            if name not in records:
                raise DatasetError(f"record {record!r} ({name}) is not in {self.path}; it has "
                                   f"{', '.join(records) or 'no DfNNNN records'}")
            if kinds[name] not in SUPPORTED_KINDS:
                raise UnsupportedFormatError(
                    f"record {name} of {self.path} is a {kinds[name]} record, which is not read "
                    f"as frames; readable kinds: {', '.join(SUPPORTED_KINDS)}")
        self.record, self.kind = name, kinds[name]
        entries = records[name]
        images = _image_entries(entries, self.kind)
        self.channel_names = _channel_names(entries, self.kind)
        chosen = _pick_channels(self.channel_names, ch, self.path)
        self.channels = [self.channel_names[i] for i in chosen]
        first = images[0]
        dx = float(first.get("WidthStep") or 0) or None
        if self.kind == "XYT":
            ffi = _ffi(first)
            self._streams = [next(e["ImageName"] for e in images if str(e.get("Channel") or "") == c)
                             for c in self.channels]
            self._nlines = int(ffi["numFrameLines"])
            self._pos = int(ffi.get("firstFramePos") or 0)
            self._line_len = int(np.atleast_1d(first["DIMS"])[0])
            n = int(ffi["numFrames"])
            if self._nlines < 1 or self._pos < 0 or self._line_len < 1:
                raise CorruptFileError(f"{self.path} record {name}: FoldedFrameInfo and DIMS say "
                                       f"{self._nlines} lines of {self._line_len} pixels a frame from "
                                       f"line {self._pos}: no frame can be read")
            total, line_len = self._var_shape(self._streams[0])
            if line_len != self._line_len:  # the pixels, not the descriptor, set the frame size
                raise CorruptFileError(f"{self.path} record {name}: DIMS says lines of {self._line_len} "
                                       f"pixels but {self._streams[0]!r} holds lines of {line_len}")
            have = (total - self._pos) // self._nlines
            if have < 1:
                raise CorruptFileError(f"{self.path} record {name}: {self._streams[0]!r} holds "
                                       f"{total} lines, not one frame of {self._nlines} from line "
                                       f"{self._pos}")
            if have < n:
                warnings.warn(f"{self.path} record {name}: FoldedFrameInfo says {n} frames but "
                              f"the image holds {have}; reading {have}", TruncatedFileWarning,
                              stacklevel=3)
                n = have
            frame_len = float(ffi.get("frameTimeLength") or 0)
            dy = float(ffi.get("TransverseStep") or first.get("HeightStep") or 0) or dx
            t_axis = (frame_len / 1000.0, "s") if frame_len > 0 else None
            self.shape = (n, self._nlines, self._line_len)
            meta_extra = {"frame_time_length_ms": frame_len,
                          "first_frame_start_time_s": float(ffi.get("firstFrameStartTime") or 0) / 1e3,
                          "folded_frame_info": ffi}
        else:
            by_channel = [[e for e in images if str(e.get("Channel") or "") == c] for c in self.channels]
            n = min(len(b) for b in by_channel)
            self._images = [[e["ImageName"] for e in b[:n]] for b in by_channel]
            dims = np.atleast_1d(first["DIMS"]).astype(int)
            dy = float(first.get("HeightStep") or 0) or dx
            zl = [float(e["Zlevel"]) for e in by_channel[0][:n] if e.get("Zlevel") is not None]
            dz = float(np.mean(np.abs(np.diff(zl)))) if len(zl) > 1 else 0.0
            t_axis = (dz, "µm") if self.kind == "Z-stack" and dz > 0 else None
            held = self._var_shape(self._images[0][0])
            if held != (int(dims[1]), int(dims[0])):
                raise CorruptFileError(f"{self.path} record {name}: DIMS says {int(dims[0])} x "
                                       f"{int(dims[1])} but {self._images[0][0]!r} holds "
                                       f"{held[1]} x {held[0]}")
            self.shape = (n, int(dims[1]), int(dims[0]))
            meta_extra = {"z_levels": zl} if zl else {}
        if len(self.channels) > 1:
            self.shape = (*self.shape, len(self.channels))
        self.axes = Axes([t_axis, (dy, "µm") if dy else None, (dx, "µm") if dx else None])
        self.metadata = {"mes_record": name, "mes_kind": self.kind, "channel_names": list(self.channels),
                         "measurement_date": _first_text(entries, "MeasurementDate"),
                         "mes_version": self.version, **meta_extra}
        self.source = f"{self.path}:{name}"
        self.paths = (str(self.path),)
        self.dtype = self._probe_dtype()

    # -- variables --------------------------------------------------------
    def _file(self):
        if self._h5 is None:
            h5py = require("h5py", "hdf5")
            self._h5 = h5py.File(self.path, "r")
        return self._h5

    def _variable(self, name: str):
        """The pixel variable in file order: (lines, line length); h5py data set or array."""
        if self.version == "7.3":
            f = self._file()
            if name not in f:
                raise CorruptFileError(f"{self.path}: the image variable {name!r} named by "
                                       f"{self.record} is missing")
            return f[name]  # stored transposed already: rows are lines
        if name not in self._cache:
            import scipy.io

            var = self._directory.get(name)
            if var is None:
                raise CorruptFileError(f"{self.path}: the image variable {name!r} named by "
                                       f"{self.record} is missing")
            if not var.checked:
                check_variable(self.path, var)
            mat = scipy.io.loadmat(self.path, variable_names=[name], appendmat=False)
            if name not in mat:
                raise CorruptFileError(f"{self.path}: the image variable {name!r} named by "
                                       f"{self.record} is missing")
            arr = np.ascontiguousarray(mat[name].T)  # lines as rows
            arr.setflags(write=False)
            self._cache[name] = arr
        return self._cache[name]

    def _var_shape(self, name: str) -> tuple[int, int]:
        """``(lines, line length)`` of a pixel variable, from the file's headers only."""
        if self.version == "7.3":
            shape = (*self._variable(name).shape, 1, 1)
            return int(shape[0]), int(shape[1])
        var = self._directory.get(name)
        if var is not None and var.class_name not in _MATLAB_DTYPES:
            raise CorruptFileError(f"{self.path}: the image variable {name!r} named by {self.record} "
                                   f"is a MATLAB {var.class_name}, not numbers")
        if var is not None:
            shape = (*var.dims, 1, 1)
            return int(shape[1]), int(shape[0])
        raise CorruptFileError(f"{self.path}: the image variable {name!r} named by {self.record} "
                               "is missing")

    def _probe_dtype(self) -> np.dtype:
        name = self._streams[0] if self.kind == "XYT" else self._images[0][0]
        if self.version == "7.3":
            return np.dtype(self._variable(name).dtype)
        # the directory gives the MATLAB class; read the (small) first image only for z-stacks
        if self.kind == "XYT":
            var = self._directory[name]
            return np.dtype(_MATLAB_DTYPES.get("logical" if var.logical else var.class_name, "f8"))
        return self._variable(name).dtype

    # -- reading ----------------------------------------------------------
    def _read_xyt(self, name: str, frames: np.ndarray, crop) -> np.ndarray:
        var, nl, pos = self._variable(name), self._nlines, self._pos
        cols = crop[1] if crop is not None else slice(None)
        sl = as_slice(frames)
        if sl is not None and sl.step == 1:
            lines = var[pos + sl.start * nl: pos + sl.stop * nl, cols]
            block = np.asarray(lines).reshape(len(frames), nl, -1)
        else:
            block = np.stack([np.asarray(var[pos + k * nl: pos + (k + 1) * nl, cols]) for k in frames])
        return block if crop is None else block[:, crop[0]]

    def _read_images(self, names: list[str], frames: np.ndarray, crop) -> np.ndarray:
        cols = crop[1] if crop is not None else slice(None)
        block = np.stack([np.asarray(self._variable(names[k])[:, cols]) for k in frames])
        return block if crop is None else block[:, crop[0]]

    def _read(self, frames, crop):
        try:
            if self.kind == "XYT":
                parts = [self._read_xyt(name, frames, crop) for name in self._streams]
            else:
                parts = [self._read_images(names, frames, crop) for names in self._images]
            out = parts[0] if len(parts) == 1 else np.stack(parts, axis=-1)
        except ImfunError:
            raise
        except Exception as exc:  # pixel variables unlike their descriptors, damaged data
            raise CorruptFileError(f"{self.path}: cannot read frames of {self.record} "
                                   f"({type(exc).__name__}: {exc}); the file may be damaged") from exc
        return out.astype(self.dtype, copy=False)

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None
        self._cache.clear()


_MATLAB_DTYPES = {"double": "f8", "single": "f4", "int8": "i1", "uint8": "u1", "int16": "i2",
                  "uint16": "u2", "int32": "i4", "uint32": "u4", "int64": "i8", "uint64": "u8",
                  "logical": "u1"}


def open_mes(source: Source, record=None, ch=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_mes`."""
    return MESReader(source.files[0], record, ch)


__all__ = ["MESReader", "list_mes_records", "mat_version", "open_mes", "record_kind"]
