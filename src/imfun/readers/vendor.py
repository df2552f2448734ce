"""Microscope vendors' files through maintained readers (optional extra ``imfun[vendor]``).

* Nikon ND2 (``.nd2``) via :mod:`nd2` — frame by frame (``read_frame``).
* Leica LIF (``.lif``) via :mod:`liffile` — frame by frame (``LifImage.frame``).
* Zeiss CZI (``.czi``) via :mod:`czifile` — the whole series is decoded once
  (czifile has no partial reads), then frames are cut from it.
* Olympus OIF/OIB (``.oif``, ``.oib``) via :mod:`oiffile` — decoded once.
* Zeiss LSM (``.lsm``) and MetaMorph STK (``.stk``) via :mod:`tifffile` — page by page.

Every format opens as a time sequence of one series (``series=``), one
z-plane (``z=``) and one channel (``ch=``, or all channels as colour frames
when ``ch`` is None).  Frames go along time, or along z when there is no time
axis; a file with both time points and z-planes needs ``z=``.  Physical axes
come from the file's metadata, in s and µm.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..axes import Axes, AxisScale, to_standard
from ..errors import (
    CorruptFileError,
    DatasetError,
    ImfunError,
    MetadataWarning,
)
from .base import Reader, require
from .dims import Dims, open_planes, select
from .files import FileManager
from .options import series_index
from .registry import Source
from .tiff import TiffReader


class VendorReader(Reader):
    """Frames from a multi-dimensional vendor file, read plane by plane.

    Subclasses implement :meth:`_describe` (sizes of the axes by letter: ``T``,
    ``Z``, ``C``, ``Y``, ``X``, ``S`` for RGB samples, others; physical scales;
    metadata; dtype) and :meth:`_plane` (one ``(Y, X[, S])`` plane for an index
    of every other axis).
    """

    thread_safe = False  # the vendor libraries keep one file handle
    extra = "vendor"
    format_name = ""

    def __init__(self, path: str | os.PathLike, series: int = 0, ch: int | None = None,
                 z: int | None = None):
        self.path = Path(path)
        self.source = str(self.path)
        self.paths = (str(self.path),)
        self.series_index = series_index(series, self.path)
        self._files = FileManager(self._open_checked, closer=self._close_handle)
        try:
            self._setup(ch, z)
        except BaseException:
            self.close()
            raise

    # -- what subclasses provide -------------------------------------------------
    def _open(self):
        raise NotImplementedError

    def _close_handle(self, handle) -> None:
        handle.close()

    def _describe(self, handle) -> tuple[dict[str, int], dict[str, tuple], dict[str, Any], np.dtype]:
        raise NotImplementedError

    def _plane(self, handle, sel: dict[str, int]) -> np.ndarray:
        raise NotImplementedError

    # -- shared logic -------------------------------------------------------------
    def _open_checked(self):
        """The library's handle of the file; damage is a CorruptFileError."""
        if not self.path.exists():
            from ..errors import SourceNotFoundError

            raise SourceNotFoundError(f"no such file: {self.path}")
        try:
            return self._open()
        except ImfunError:
            raise
        except Exception as exc:  # the libraries raise many kinds for damaged files
            raise CorruptFileError(f"{self.path} cannot be read as a {self.format_name} file: "
                                   f"{exc}") from exc

    def _setup(self, ch, z) -> None:
        with self._files.acquire() as handle:
            sizes, scales, metadata, dtype = self._describe(handle)
        self.sizes = {k: int(v) for k, v in sizes.items()}
        names = metadata.get("channel_names") or ()
        self.dims = Dims(self.sizes, {k: AxisScale.coerce(v) for k, v in scales.items() if v},
                         names, str(self.path))
        self.selection = sel = select(self.dims, ch, z)
        self.shape = sel.shape
        self.dtype = np.dtype(dtype)
        self.axes = Axes(sel.axes)
        times = metadata.pop("frame_times_all", None)
        self.metadata = {"format": self.format_name, "series": self.series_index,
                         "sizes": dict(self.sizes), **metadata, **sel.metadata()}
        if times is not None:
            ft = self._frame_times(times)
            if ft is not None:
                self.metadata["frame_times"] = ft

    def _frame_times(self, times) -> np.ndarray | None:
        """Times of the frames, from a per-(T, Z) table of times in s, when frames go along T."""
        if self.selection.frame != "T":
            return None
        z = self.selection.fixed.get("Z", 0)
        try:
            out = np.asarray([times[(t, z)] for t in range(self.shape[0])], float)
        except (KeyError, TypeError):
            return None
        return out - out[0] if len(out) else None

    def _frame(self, handle, index: int) -> np.ndarray:
        """One frame ``(rows, cols[, channels])``: a plane per kept channel, stacked last."""
        sel = self.selection
        sample = sel.fixed.get("S") if "S" in self.sizes else None
        channels = range(self.sizes[sel.channel]) if sel.channel == "C" else [None]
        planes = []
        for c in channels:
            where = {k: v for k, v in sel.index(index, c).items() if k != "S"}
            plane = np.asarray(self._plane(handle, where))
            planes.append(plane[..., sample] if sample is not None else plane)
        return planes[0] if len(planes) == 1 else np.stack(planes, axis=-1)

    def _read(self, frames, crop):
        out = None
        with self._files.acquire() as h:
            for j, f in enumerate(frames):
                frame = self._frame(h, int(f))
                frame = frame if crop is None else frame[crop]
                if out is None:
                    out = np.empty((len(frames), *frame.shape), self.dtype)
                out[j] = frame
        return out

    def close(self) -> None:
        if getattr(self, "_data", None) is not None:
            self._data = None  # a decoded CZI/OIF series: decoded again when read again
        if hasattr(self, "_files"):
            self._files.close()


def list_vendor_contents(path) -> list[dict]:
    """What a vendor file holds, for ``imfun info``: each series with the sizes of its axes
    and its channel names (every series is opened at plane 0, headers only)."""
    from .registry import file_ending

    cls = {".nd2": ND2Reader, ".lif": LIFReader, ".czi": CZIReader, ".oif": OIFReader,
           ".oib": OIFReader}[file_ending(path)]
    out = []
    for index in range(10_000):
        try:
            reader = cls(path, series=index, z=0)
        except DatasetError:
            break
        with reader:
            out.append({"option": f"series={index}", "sizes": dict(reader.sizes),
                        "dtype": str(reader.dtype),
                        "channel_names": list(reader.metadata.get("channel_names", []))})
    return out


def _check_series(path, index: int, n: int, what: str = "series") -> None:
    if not 0 <= index < n:
        raise DatasetError(f"{path} holds {n} {what} (0..{n - 1}); series={index} does not exist")


# -- Nikon ND2 ----------------------------------------------------------------------------
class ND2Reader(VendorReader):
    """Nikon NIS-Elements ND2 through the ``nd2`` package; ``series`` is the stage position (P)."""

    format_name = "Nikon ND2"

    def _open(self):
        nd2 = require("nd2", self.extra)
        return nd2.ND2File(self.path)

    def _describe(self, f):
        sizes = dict(f.sizes)
        npos = sizes.pop("P", 1)
        _check_series(self.path, self.series_index, npos, "stage positions")
        loops = list(f.loop_indices)
        self._loop_keys = sorted(loops[0]) if loops else []
        self._loops = {tuple(sorted(d.items())): i for i, d in enumerate(loops)}
        vx = f.voxel_size()
        scales = {"X": (vx.x, "µm"), "Y": (vx.y, "µm")}
        if sizes.get("Z", 1) > 1:
            scales["Z"] = (vx.z, "µm")
        meta: dict[str, Any] = {}
        with contextlib.suppress(AttributeError):
            meta["channel_names"] = [c.channel.name for c in (f.metadata.channels or [])]
        times: dict = {}
        period = 0.0
        for loop in f.experiment or []:
            if getattr(loop, "type", "") == "TimeLoop":
                period = float(getattr(loop.parameters, "periodMs", 0) or 0) / 1e3
        try:
            for ev in f.events(orient="records"):
                if ev.get("P Index", self.series_index) == self.series_index and "Time [s]" in ev:
                    times[(int(ev.get("T Index", 0)), int(ev.get("Z Index", 0)))] = float(ev["Time [s]"])
        except Exception as exc:  # events are optional metadata; frames do not depend on them
            warnings.warn(f"{self.path}: ignored the unreadable frame events ({exc})", MetadataWarning,
                          stacklevel=5)
            times = {}
        if times:
            meta["frame_times_all"] = times
        if period <= 0 and sizes.get("T", 1) > 1 and times:
            t0 = [times.get((t, 0)) for t in range(sizes["T"])]
            if all(v is not None for v in t0):
                period = float(np.median(np.diff(t0)))
        if period > 0:
            scales["T"] = (period, "s")
        return sizes, scales, meta, f.dtype

    def _plane(self, f, sel):
        key = tuple(sorted((k, self.series_index if k == "P" else sel.get(k, 0)) for k in self._loop_keys))
        data = f.read_frame(self._loops[key])  # (C, Y, X), (Y, X) or (Y, X, S)
        if "C" in self.sizes and data.ndim >= 3 and data.shape[0] == self.sizes["C"]:
            data = data[sel.get("C", 0)]
        return data


def open_nd2(source: Source, series=0, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_nd2`."""
    return open_planes(ND2Reader, source.files[0], series=series, ch=ch, z=z)


# -- Leica LIF ------------------------------------------------------------------------------
class LIFReader(VendorReader):
    """Leica LIF through ``liffile``; ``series`` is the image index in the file."""

    format_name = "Leica LIF"

    def _open(self):
        liffile = require("liffile", self.extra)
        return liffile.LifFile(self.path)

    def _image(self, lif):
        images = list(lif.images)
        _check_series(self.path, self.series_index, len(images), "images")
        return images[self.series_index]

    def _describe(self, lif):
        im = self._image(lif)
        sizes = dict(im.sizes)
        scales: dict[str, tuple] = {}
        coords = im.coords
        for axis, unit in (("X", "m"), ("Y", "m"), ("Z", "m"), ("T", "s")):
            c = coords.get(axis)
            if c is not None and len(c) > 1 and c[1] != c[0]:
                scales[axis] = tuple(to_standard(abs(float(c[1] - c[0])), unit))
        meta = {"image_name": im.name}
        return sizes, scales, meta, im.dtype

    def _plane(self, lif, sel):
        im = self._image(lif)
        return im.frame(**{k: v for k, v in sel.items() if k in im.sizes})


def open_lif(source: Source, series=0, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_lif`."""
    return open_planes(LIFReader, source.files[0], series=series, ch=ch, z=z)


# -- Zeiss CZI --------------------------------------------------------------------------------
class CZIReader(VendorReader):
    """Zeiss CZI through ``czifile``; the series (scene ``S``) is decoded once, then cut."""

    format_name = "Zeiss CZI"

    def _open(self):
        czifile = require("czifile", self.extra)
        return czifile.CziFile(self.path)

    def _describe(self, czi):
        # czifile axes: B, V, H, S (scene), T, C, Z, Y, X, 0 (samples) ...
        axes = czi.axes.replace("0", "s").replace("S", "P").replace("s", "S")
        sizes = dict(zip(axes, czi.shape, strict=True))
        _check_series(self.path, self.series_index, sizes.pop("P", 1), "scenes")
        self._axes = axes
        self._data = None
        scales: dict[str, tuple] = {}
        try:
            from defusedxml import ElementTree as dET

            root = dET.fromstring(czi.metadata(raw=True))
            for dist in root.iter("Distance"):
                axis, value = dist.get("Id"), dist.findtext("Value")
                if axis in ("X", "Y", "Z") and value:
                    scales[axis] = tuple(to_standard(float(value), "m"))
        except Exception as exc:  # metadata is optional; frames do not depend on it
            warnings.warn(f"{self.path}: no pixel size read from the CZI metadata ({exc})",
                          MetadataWarning, stacklevel=5)
        return sizes, scales, {}, czi.dtype

    def _plane(self, czi, sel):
        if self._data is None:
            self._data = czi.asarray()
        key = tuple(self.series_index if a == "P" else sel.get(a, 0) if a not in "YXS" else slice(None)
                    for a in self._axes)
        return self._data[key]


def open_czi(source: Source, series=0, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_czi`."""
    return open_planes(CZIReader, source.files[0], series=series, ch=ch, z=z)


# -- Olympus OIF / OIB -------------------------------------------------------------------------
class OIFReader(VendorReader):
    """Olympus OIF/OIB through ``oiffile``; the series is decoded once, then cut."""

    format_name = "Olympus OIF/OIB"

    def _open(self):
        oiffile = require("oiffile", self.extra)
        return oiffile.OifFile(self.path)

    def _describe(self, oif):
        n = len(oif.series)
        _check_series(self.path, self.series_index, n)
        s = oif.series[self.series_index]
        self._axes = "".join(getattr(s, "axes", oif.axes)).upper()
        shape = tuple(getattr(s, "shape", oif.shape))
        self._data = None
        sizes = dict(zip(self._axes, shape, strict=False))
        scales: dict[str, tuple] = {}
        try:
            ref = oif.mainfile["Reference Image Parameter"]
            unit = str(ref.get("WidthUnit", "um"))
            scales["X"] = tuple(to_standard(float(ref["WidthConvertValue"]), unit))
            scales["Y"] = tuple(to_standard(float(ref["HeightConvertValue"]), unit))
        except Exception:
            warnings.warn(f"{self.path}: no pixel size found in the OIF settings", MetadataWarning,
                          stacklevel=5)
        return sizes, scales, {}, np.dtype(s.dtype) if hasattr(s, "dtype") else np.dtype("u2")

    def _plane(self, oif, sel):
        if self._data is None:
            self._data = oif.asarray(self.series_index)
        key = tuple(sel.get(a, 0) if a not in "YXS" else slice(None) for a in self._axes)
        return self._data[key]


def open_oif(source: Source, series=0, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_oif`."""
    return open_planes(OIFReader, source.files[0], series=series, ch=ch, z=z)


# -- Zeiss LSM and MetaMorph STK through tifffile ---------------------------------------------------
class TiffSeriesReader(TiffReader):
    """A vendor's TIFF variant read as a TIFF series (memory-mapped where contiguous: a
    MetaMorph STK keeps all planes after its one IFD), with the vendor's physical axes."""

    format_name = ""

    def __init__(self, path, series: int = 0, ch: int | None = None, z: int | None = None):
        self._vendor_meta: dict[str, Any] = {}
        super().__init__(path, ch=ch, series=series, z=z)
        self.metadata.update({"format": self.format_name, **self._vendor_meta})

    def _axes(self, tif, s, frame):
        """The TIFF's axes, with the vendor's scales where it gives them."""
        base = super()._axes(tif, s, frame)
        scales, self._vendor_meta = self._scales(tif)
        mine = [scales.get(frame) if frame in ("T", "Z") else None, scales.get("Y"), scales.get("X")]
        return [AxisScale(*m) if m else b for m, b in zip(mine, base, strict=True)]

    def _scales(self, tif) -> tuple[dict, dict]:
        return {}, {}


class LSMReader(TiffSeriesReader):
    """Zeiss LSM: VoxelSizeX/Y/Z (m) and TimeIntervall (s) from the CZ_LSMINFO tag."""

    format_name = "Zeiss LSM"

    def _scales(self, tif):
        lsm = tif.lsm_metadata or {}
        if not lsm:
            warnings.warn(f"{self.path} has no CZ_LSMINFO tag; it is not a Zeiss LSM file, or a "
                          "damaged one: no physical axes", MetadataWarning, stacklevel=6)
        scales: dict[str, tuple] = {}
        for axis in "XYZ":
            v = float(lsm.get(f"VoxelSize{axis}", 0) or 0)
            if v > 0:
                scales[axis] = tuple(to_standard(v, "m"))
        dt = float(lsm.get("TimeIntervall", 0) or 0)
        stamps = lsm.get("TimeStamps")
        meta: dict[str, Any] = {}
        if stamps is not None and len(stamps) > 1:
            stamps = np.asarray(stamps, float)
            meta["lsm_time_stamps"] = stamps
            if dt <= 0:
                dt = float(np.median(np.diff(stamps)))
        if dt > 0:
            scales["T"] = (dt, "s")
        return scales, meta


class STKReader(TiffSeriesReader):
    """MetaMorph STK: spatial calibration and z distances from the UIC tags."""

    format_name = "MetaMorph STK"

    def _scales(self, tif):
        stk = tif.stk_metadata or {}
        scales: dict[str, tuple] = {}
        unit = str(stk.get("CalibrationUnits") or "µm")
        unit = {"um": "µm", "microns": "µm", "micron": "µm"}.get(unit.strip().lower(), unit)
        for axis, key in (("X", "XCalibration"), ("Y", "YCalibration")):
            v = float(stk.get(key, 0) or 0)
            if v > 0:
                scales[axis] = tuple(to_standard(v, unit))
        zd = np.asarray(stk.get("ZDistance", []), float)
        if zd.size and np.any(zd > 0):
            scales["Z"] = (float(np.median(zd[zd > 0])), "µm")
        return scales, {}


def open_lsm(source: Source, series=0, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_lsm`."""
    return open_planes(LSMReader, source.files[0], series=series, ch=ch, z=z)


def open_stk(source: Source, series=0, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_stk`."""
    return open_planes(STKReader, source.files[0], series=series, ch=ch, z=z)


__all__ = ["VendorReader", "open_czi", "open_lif", "open_lsm", "open_nd2", "open_oif", "open_stk"]
