"""Image files exported by Leica software, with the XML description beside them.

Leica LAS AF and LAS X export an image series as one image file per frame
(and per channel, ``..._ch00.tif``) plus an XML description of the series:

* **LAS X** puts ``<name>.xml`` and ``<name>_Properties.xml`` in a
  ``MetaData/`` folder beside the images.  ``DimensionDescription`` elements
  give the axes: ``DimID`` 1, 2, 3 for x, y, z (``Unit="m"``), 4 for time
  (``Unit="s"``); other IDs (emission wavelength 5, 9, ...) are ignored.
  ``Length`` spans the first to the last element, so the step is
  ``Length / (NumberOfElements - 1)``.  ``TimeStampList`` holds hexadecimal
  FILETIME values (100 ns ticks since 1601-01-01, UTC), repeated once per
  channel.  The ``_Properties.xml`` twin says the same in µm and local time
  (``DimID="X"``, ``<TimeStamp RelativeTime=...>``); it is read when it is the
  only description there is.
* **Old LAS AF** puts ``<name>.xml`` beside the images; the frame interval may
  be ``ScannerSettingRecord Identifier="nDelayTime_ms"`` (its ``Variant``, in
  ms) and the frame times ``<TimeStamp HighInteger=.. LowInteger=..>``
  (FILETIME split into two 32-bit halves).

The XML is parsed with :mod:`defusedxml`.  A description that is malformed,
unrelated or incomplete is reported with a :class:`~imfun.errors.MetadataWarning`
naming the file and what was missing; the frames still open.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..axes import Axes, to_standard
from ..errors import CorruptFileError, MetadataWarning
from . import registry
from .base import Reader
from .images import ImageFilesReader
from .leica_files import claims, find_leica_xml, looks_like_leica_xml

_FILETIME_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=_dt.UTC)
# the last FILETIME a datetime can hold (end of year 9999); larger values are damage
_FILETIME_MAX = 10 * ((_dt.datetime(9999, 12, 31, tzinfo=_dt.UTC) - _FILETIME_EPOCH)
                      // _dt.timedelta(microseconds=1))
# DimID as numbers (LAS X, LAS AF) or letters (the _Properties twin)
_DIM_NAMES = {"1": "x", "2": "y", "3": "z", "4": "t", "x": "x", "y": "y", "z": "z", "t": "t"}


# -- parsing ------------------------------------------------------------------------
def filetime_to_datetime(ticks: int) -> _dt.datetime:
    """A Windows FILETIME (100 ns ticks since 1601-01-01 UTC) as an aware UTC datetime."""
    return _FILETIME_EPOCH + _dt.timedelta(microseconds=ticks / 10)


def _float(value: str | None) -> float | None:
    try:
        out = float(str(value).replace(",", "").split()[0])
    except (TypeError, ValueError, IndexError):
        return None
    return out if np.isfinite(out) else None


def _dimensions(root) -> list[dict]:
    dims = []
    for el in root.iter("DimensionDescription"):
        dim_id = str(el.get("DimID", "")).strip()
        n = int(_float(el.get("NumberOfElements")) or 0)
        length = _float(el.get("Length"))
        unit = el.get("Unit", "")
        step = length / (n - 1) if (length is not None and n > 1) else None
        dims.append({"DimID": dim_id, "axis": _DIM_NAMES.get(dim_id.lower()), "n": n,
                     "length": length, "unit": unit, "origin": _float(el.get("Origin")),
                     "step": step})
    return dims


def _dedupe_per_channel(stamps: list, n_channels: int) -> list:
    """One stamp per frame from a list that repeats each once per channel."""
    n = len(stamps)
    if n_channels <= 1 or n % n_channels:
        return stamps
    groups = [stamps[i:i + n_channels] for i in range(0, n, n_channels)]
    if all(len(set(g)) == 1 for g in groups):
        return stamps[::n_channels]  # t0 t0 t1 t1 ...
    block = n // n_channels
    if all(stamps[k * block:(k + 1) * block] == stamps[:block] for k in range(n_channels)):
        return stamps[:block]  # t0 t1 ... t0 t1 ...
    return stamps[::n_channels]  # channels acquired one after another: take the first's


def parse_leica_xml(source: str | os.PathLike | bytes, name: str | None = None) -> dict[str, Any]:
    """Read a Leica image description (LAS X, its ``_Properties`` twin, or old LAS AF).

    Parameters
    ----------
    source : path or bytes
        The XML file, or its content.
    name : str or None
        What to call it in messages (default: the path).

    Returns
    -------
    dict
        ``dx``, ``dy``, ``dz`` in µm and ``dt`` in s (None when absent),
        ``dimensions`` (every ``DimensionDescription``: DimID, n, length, unit,
        step), ``n_channels``, ``frame_times`` (seconds from the first frame,
        one per frame after removing the per-channel repeats), ``frame_times_raw``
        (the FILETIME ticks as written, or the ``RelativeTime`` seconds of a
        ``_Properties`` twin), ``start_time`` (ISO text, UTC when known),
        ``generation`` (``'LAS X'``, ``'LAS X properties'`` or ``'LAS AF'``) and
        ``missing`` (what was not found, for warnings).

    Raises
    ------
    CorruptFileError
        The text is not well-formed XML, or it holds no Leica image description.

    Examples
    --------
    >>> info = parse_leica_xml('MetaData/Series001.xml')      # doctest: +SKIP
    >>> info['dx'], info['dt']                                 # doctest: +SKIP
    (0.0989, 0.5)
    """
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as dET  # hardened: no entity expansion, no external DTDs

    name = name or (str(source) if not isinstance(source, bytes) else "the XML text")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        root = dET.fromstring(data)
    except DefusedXmlException as exc:
        raise CorruptFileError(f"{name} was refused by the hardened XML parser: {exc}") from exc
    except (dET.ParseError, ValueError) as exc:
        raise CorruptFileError(f"{name} is not well-formed XML: {exc}") from exc
    if root.find(".//ImageDescription") is None and root.find(".//DimensionDescription") is None:
        raise CorruptFileError(
            f"{name} holds no Leica image description (no ImageDescription or "
            "DimensionDescription element); it is not a Leica export's XML")

    dims = _dimensions(root)
    by_axis = {d["axis"]: d for d in dims if d["axis"]}
    info: dict[str, Any] = {"dimensions": dims, "missing": []}
    for axis in ("x", "y", "z"):
        d = by_axis.get(axis)
        info[f"d{axis}"] = to_standard(d["step"], d["unit"]).scale \
            if d and d["step"] and to_standard(1, d["unit"]).unit == "µm" else None
    t = by_axis.get("t")
    info["dt"] = to_standard(t["step"], t["unit"]).scale \
        if t and t["step"] and to_standard(1, t["unit"]).unit == "s" else None
    if info["dt"] is None:
        for rec in root.iter("ScannerSettingRecord"):
            if rec.get("Identifier") == "nDelayTime_ms":
                delay = _float(rec.get("Variant"))
                if delay and delay > 0:
                    info["dt"] = delay / 1e3
    info["n_channels"] = max(1, len(list(root.iter("ChannelDescription"))))

    # frame times: LAS X hex list, old LAS AF High/Low pairs, or the twin's relative times
    raw: list = []
    start = None
    properties = hex_list = False
    tsl = root.find(".//TimeStampList")
    if tsl is not None and (tsl.text or "").strip():
        try:
            raw, hex_list = [int(tok, 16) for tok in tsl.text.split()], True
        except ValueError:
            info["missing"].append("readable time stamps (TimeStampList is not hexadecimal)")
    if not raw:
        pairs = [(el.get("HighInteger"), el.get("LowInteger")) for el in root.iter("TimeStamp")]
        if pairs and all(h is not None and lo is not None for h, lo in pairs):
            try:
                raw = [(int(h) << 32) + int(lo) for h, lo in pairs]
            except ValueError:
                info["missing"].append("readable time stamps (HighInteger/LowInteger are not integers)")
        else:
            rel = [_float(el.get("RelativeTime")) for el in root.iter("TimeStamp")]
            if rel and all(r is not None for r in rel):
                raw, properties = rel, True
    if raw and not properties and not all(0 <= t <= _FILETIME_MAX for t in raw):
        info["missing"].append("readable time stamps (FILETIME values out of range)")
        raw = []
    stamps = _dedupe_per_channel(raw, info["n_channels"])
    if stamps and properties:
        info["frame_times"] = np.asarray(stamps, float) - stamps[0]
    elif stamps:
        start = filetime_to_datetime(stamps[0])
        info["frame_times"] = (np.asarray(stamps, dtype=np.int64) - stamps[0]) * 1e-7
    else:
        info["frame_times"] = None
    info["frame_times_raw"] = raw
    info["start_time"] = start.isoformat() if start else None
    if tsl is not None and tsl.get("FirstTimeStampDate"):
        info["start_time_local"] = f"{tsl.get('FirstTimeStampDate')} {tsl.get('FirstTimeStampTime')}"
    info["generation"] = ("LAS X properties" if any(d["axis"] and not d["DimID"].isdigit() for d in dims)
                          else "LAS X" if hex_list else "LAS AF")
    if info["dx"] is None or info["dy"] is None:
        info["missing"].append("the pixel size (DimensionDescription DimID 1 and 2 with a length unit)")
    return info


# -- the reader ------------------------------------------------------------------------
def _stack_dims(info: dict) -> int | None:
    """Number of frames the description implies (product of the non-x/y dimensions)."""
    others = [d["n"] for d in info["dimensions"] if d["axis"] not in ("x", "y") and d["n"] > 0]
    return int(np.prod(others)) if others else 1


class LeicaImagesReader(ImageFilesReader):
    """Image files of a Leica export, with axes and frame times from its XML description."""

    def __init__(self, files, ch=0, xmlname=None, source: str = ""):
        super().__init__(files, ch=ch, source=source)
        xml = Path(xmlname) if xmlname is not None else find_leica_xml(self.files[0], check=False)
        self.metadata = {"leica_xml": str(xml) if xml else None}
        if xml is None:
            warnings.warn(f"no Leica XML description found for {self.files[0]} (looked beside it and "
                          "in MetaData/); the axes are not set. Give xmlname= to name it",
                          MetadataWarning, stacklevel=4)
            return
        try:
            info = parse_leica_xml(xml)
        except (CorruptFileError, OSError) as exc:
            warnings.warn(f"the Leica description {xml} was ignored: {exc}", MetadataWarning,
                          stacklevel=4)
            return
        self._apply(info, xml)

    def _apply(self, info: dict, xml: Path) -> None:
        n = self.shape[0]
        if info["missing"]:
            warnings.warn(f"the Leica description {xml} lacks {'; '.join(info['missing'])}",
                          MetadataWarning, stacklevel=5)
        frame_axis = None
        if info["dt"]:
            frame_axis = (info["dt"], "s")
        elif info["dz"] and not any(d["axis"] == "t" for d in info["dimensions"]):
            frame_axis = (info["dz"], "µm")  # a z-stack: frames go along z
        elif info["frame_times"] is not None and len(info["frame_times"]) == n and n > 1 \
                and _stack_dims(info) == n and not any(d["axis"] is None for d in info["dimensions"]):
            frame_axis = (float(np.median(np.diff(info["frame_times"]))), "s")
        self.axes = Axes([frame_axis,
                          (info["dy"], "µm") if info["dy"] else None,
                          (info["dx"], "µm") if info["dx"] else None])
        times = info["frame_times"]
        self.metadata.update({
            "leica_generation": info["generation"], "leica_dimensions": info["dimensions"],
            "frame_times_raw": info["frame_times_raw"], "start_time": info["start_time"]})
        if info.get("start_time_local"):
            self.metadata["start_time_local"] = info["start_time_local"]
        if times is not None and len(times) == n:
            self.metadata["frame_times"] = times
        elif times is not None:
            self.metadata["leica_frame_times"] = times
            warnings.warn(f"the Leica description {xml} has {len(times)} frame time stamps for "
                          f"{n} image files; meta['frame_times'] is not set (the times are in "
                          "meta['leica_frame_times'])", MetadataWarning, stacklevel=5)


def open_leica_images(source: registry.Source, ch=0, xmlname=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_imgleic`."""
    return LeicaImagesReader(source.names, ch=ch, xmlname=xmlname, source=source.given)


__all__ = [
    "LeicaImagesReader", "claims", "filetime_to_datetime", "find_leica_xml", "looks_like_leica_xml",
    "open_leica_images", "parse_leica_xml"
]
