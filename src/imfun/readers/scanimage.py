"""ScanImage TIFF files (Vidrio / MBF Bioscience): 3.x, 4/5, 2015 and 2016+ BigTIFF.

ScanImage writes uncompressed pages in acquisition order, the saved channels
fastest, then the frames of one slice (``framesPerSlice``), then the slices of
a volume with the flyback frames at its end, then the volumes.  Each page is
an IFD, its tag texts (the per-frame ImageDescription: ``frameNumbers``,
``frameTimestamps_sec`` ...) and the pixels; pages all have the same size.

Where the settings are:

* **3.x** -- ``state.*`` lines (ending in ``\\r``) in the ImageDescription;
* **4/5** -- ``scanimage.SI4.*`` / ``scanimage.SI5.*`` lines in each ImageDescription,
  after the per-frame data;
* **2015+** -- ``SI.*`` lines in the Software tag, the ROI groups as JSON in the Artist tag;
* **2016+ BigTIFF** -- also a static header at byte 16: magic 117637889, version, the sizes
  of the non-varying frame data and of the ROI-group JSON, then those texts.  It is read
  first, without walking the IFD chain.

Opening reads the first three IFDs, predicts every page's offset from their sizes, checks
the prediction on IFDs spread over the file and walks the chain only when it fails; the
index (page offsets and time stamps) is kept per file, keyed by path, size and modification
time, so that reopening a long file costs almost nothing.  Pages are read through a memory
map (a strided view when pages are uniform).
"""

from __future__ import annotations

import math
import os
import struct
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..axes import Axes, AxisScale
from ..errors import (
    ChannelError,
    CorruptFileError,
    DatasetError,
    InvalidArgumentError,
    MetadataWarning,
    ShapeMismatchError,
    TruncatedFileWarning,
    UnsupportedFormatError,
)
from ..selection import unique_sorted
from .base import Reader, as_slice
from .registry import Source, resolve
from .scanimage_header import (  # noqa: F401  (claims and is_scanimage_file: the reader's API too)
    _INT_FORMAT,
    _KIND,
    _TYPE_SIZE,
    _Ifd,
    _json,
    _open_tiff,
    _si_text,
    _static_header,
    _Tiff,
    claims,
    is_scanimage_file,
)

_SPOT_CHECKS = 16  # IFDs spread over a file that must sit where the first pages predict


# -- the page index of one file -------------------------------------------------------------
@dataclass
class _Index:
    """Where the pages of one file are: data offsets, descriptions, the page geometry."""

    data: np.ndarray  # byte offset of each complete page's pixels
    rows: int
    cols: int
    dtype: np.dtype  # in the file's byte order
    stride: int | None  # bytes from one page to the next from page `uniform_from` on, if uniform
    uniform_from: int
    truncated: bool  # the chain promised more pages than the file holds
    desc_at: np.ndarray  # byte offset and length of each page's ImageDescription
    desc_len: np.ndarray
    ends: dict  # frameNumbers and frameTimestamps_sec of the first and the last page
    first_desc: str
    software: str
    artist: str
    static: tuple | None
    walked: bool = False
    path: Path | None = None
    _values: dict | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def values(self, key: bytes) -> np.ndarray:
        """``frameNumbers`` or ``frameTimestamps_sec`` of every page (NaN where absent), read
        from all descriptions on first use."""
        with self._lock:
            if self._values is None:
                if _has_stamps(self.first_desc):
                    texts = _read_texts(self.path, self.desc_at, self.desc_len)
                    self._values = {k: _values(texts, k) for k in (b"frameNumbers", b"frameTimestamps_sec")}
                else:
                    nan = np.full(len(self.data), np.nan)
                    self._values = {b"frameNumbers": nan, b"frameTimestamps_sec": nan}
            return self._values[key]


def _has_stamps(desc: str) -> bool:
    return "frameTimestamps_sec" in desc or "frameNumbers" in desc


_INDEX_CACHE: OrderedDict = OrderedDict()
_INDEX_LOCK = threading.Lock()
_INDEX_CACHE_SIZE = 64


def _geometry(tiff: _Tiff, ifd: _Ifd, path: Path) -> tuple[int, int, np.dtype, int, int]:
    """rows, cols, dtype, data offset and byte count of an uncompressed single-sample page."""
    t = ifd.tags
    try:
        cols, rows = tiff.ints(ifd, 256)[0], tiff.ints(ifd, 257)[0]
        bits = tiff.ints(ifd, 258)[0]
        compression = tiff.ints(ifd, 259)[0] if 259 in t else 1
        samples = tiff.ints(ifd, 277)[0] if 277 in t else 1
        fmt = tiff.ints(ifd, 339)[0] if 339 in t else 1
        offsets, counts = tiff.ints(ifd, 273), tiff.ints(ifd, 279)
    except KeyError as exc:
        raise CorruptFileError(f"{path}: the IFD at byte {ifd.offset} lacks tag {exc}; the file is "
                               "damaged") from exc
    if compression != 1 or samples != 1 or fmt not in _KIND or bits % 8:
        raise UnsupportedFormatError(
            f"{path}: pages with compression {compression}, {samples} samples, {bits}-bit format "
            f"{fmt} are not ScanImage's; open it with imfun.fseq.FSeq_tiff")
    dtype = np.dtype(f"{tiff.order}{_KIND[fmt]}{bits // 8}")
    nbytes = rows * cols * dtype.itemsize
    contiguous = all(b == a + n for a, b, n in zip(offsets, offsets[1:], counts, strict=False))
    if not contiguous or sum(counts) < nbytes:
        raise UnsupportedFormatError(f"{path}: the strips of a page are not contiguous; open it "
                                     "with imfun.fseq.FSeq_tiff")
    return rows, cols, dtype, offsets[0], nbytes


def _same_page(a: _Ifd, b: _Ifd) -> bool:
    """The same tags with the same types and counts, and the same inline values (size, type
    ...) except the pixel offset: two pages of one uniform layout."""
    if a.tags.keys() != b.tags.keys():
        return False
    for t, (typ, count, value) in a.tags.items():
        if (typ, count) != b.tags[t][:2]:
            return False
        inline = _TYPE_SIZE.get(typ, 1) * count <= len(value)
        if inline and t != 273 and value != b.tags[t][2]:
            return False
    return True


def _uniform(tiff: _Tiff, ifds: list[_Ifd], geo):
    """(data offsets, stride, uniform_from, truncated), or None when the pages are not uniform."""
    if len(ifds) < 3 or not _same_page(ifds[1], ifds[2]):
        return None
    d1, nbytes = geo[1][3:]
    stride = ifds[2].offset - ifds[1].offset
    if stride <= 0 or geo[2][3] - d1 != stride or ifds[1].next != ifds[2].offset:
        return None
    # pages 1.. at ifd1 + (k - 1) * stride; the count from the file size
    n = 1 + (tiff.size - d1 - nbytes) // stride + 1
    last = n - 1
    spots = unique_sorted(np.linspace(2, last, _SPOT_CHECKS).astype(int)) if last >= 2 else []
    for k in spots:
        at = ifds[1].offset + (k - 1) * stride
        try:
            ifd = tiff.ifd(at)
            ok = _same_page(ifd, ifds[1]) and tiff.ints(ifd, 273)[0] == d1 + (k - 1) * stride
        except (CorruptFileError, struct.error, KeyError):
            ok = False
        if not ok:
            return None
        if k < last and ifd.next != at + stride:
            return None
    end = ifds[1].offset + (last - 1) * stride
    tail = tiff.ifd(end) if last >= 1 else ifds[0]
    if tail.next not in (0, end + stride) and tail.next < tiff.size:
        return None  # the chain goes on inside the file: pages of another size follow
    data = np.concatenate([[geo[0][3]], d1 + stride * np.arange(n - 1, dtype=np.int64)])
    start = 0 if d1 - geo[0][3] == stride else 1
    return data.astype(np.int64), stride, start, tail.next != 0


class _Template:
    """The byte layout of one page's IFD, to read the pages that share it with one small read
    each: the bytes that must be equal (tags, types, counts, inline values) and where the
    varying values are (pixel offset, description offset, next IFD)."""

    def __init__(self, tiff: _Tiff, ifd: _Ifd, raw: bytes):
        entry, head, vlen = (20, 8, 8) if tiff.big else (12, 2, 4)
        self.order, self.ptr, self.raw = tiff.order, ("Q" if tiff.big else "I"), raw
        tags = sorted(ifd.tags)
        value_at = {t: head + i * entry + entry - vlen for i, t in enumerate(tags)}
        varying = sorted(value_at[t] for t, (typ, count, _) in ifd.tags.items()
                         if t == 273 or _TYPE_SIZE.get(typ, 1) * count > vlen)
        edges = [0, *[x for v in varying for x in (v, v + vlen)], len(raw) - vlen]
        self.same = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b > a]
        self.at273, self.fmt273 = value_at[273], _INT_FORMAT[ifd.tags[273][0]]
        self.at270 = value_at.get(270) if 270 in ifd.tags and ifd.tags[270][1] > vlen else None
        self.len270 = ifd.tags[270][1] if self.at270 is not None else 0

    def parse(self, raw: bytes) -> tuple[int, int, int] | None:
        """(pixel offset, description offset, next IFD) of a page of this layout, else None."""
        if len(raw) != len(self.raw) or any(raw[a:b] != self.raw[a:b] for a, b in self.same):
            return None
        o = self.order
        data = struct.unpack_from(o + self.fmt273, raw, self.at273)[0]
        desc = struct.unpack_from(o + self.ptr, raw, self.at270)[0] if self.at270 is not None else 0
        return data, desc, struct.unpack_from(o + self.ptr, raw, len(raw) - struct.calcsize(self.ptr))[0]


def _walk(tiff: _Tiff, first: _Ifd, geo0, path: Path) -> tuple[np.ndarray, list, bool]:
    """Follow the IFD chain: data offsets, description (offset, length), whether cut short.
    Pages laid out like the one before are read with one small read each."""
    rows, cols, dtype, _, nbytes = geo0
    data, descs, seen = [], [], set()
    offset, truncated, template = first.offset, False, None
    fd = os.open(tiff.fh.name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        while True:
            quick = template.parse(os.pread(fd, len(template.raw), offset)) if template is not None else None
            if quick is None:  # another layout: parse it fully, remember it
                try:
                    ifd = tiff.ifd(offset)
                except (CorruptFileError, struct.error):
                    truncated = True
                    break
                g = _geometry(tiff, ifd, path)
                if g[:3] != (rows, cols, dtype):
                    raise ShapeMismatchError(f"{path}: the page at byte {offset} holds {g[0]} x {g[1]} "
                                             f"{g[2]}, the first {rows} x {cols} {dtype}; ScanImage pages "
                                             "all match")
                desc_at, desc_len = tiff.text_at(ifd, 270)
                quick = (g[3], desc_at, ifd.next)
                single = ifd.tags[273][1] == 1 and ifd.tags[273][0] in _INT_FORMAT
                template = _Template(tiff, ifd, os.pread(fd, ifd.size, offset)) if single else None
            else:
                desc_len = template.len270
            at, desc_at, nxt = quick
            if at + nbytes > tiff.size:
                truncated = True
                break
            data.append(at)
            descs.append((desc_at, desc_len))
            seen.add(offset)
            if nxt == 0:
                break
            if nxt in seen or nxt + 8 > tiff.size:
                truncated = nxt not in seen
                break
            offset = nxt
    finally:
        os.close(fd)
    return np.asarray(data, np.int64), descs, truncated


def _read_texts(path: Path, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The texts at the given byte offsets, as a fixed-width bytes array (one read each: the
    kernel copies from its cache, cheaper than faulting in a memory map's pages)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        texts = [os.pread(fd, int(n), int(at)) if n else b"" for at, n in zip(offsets, lengths, strict=True)]
    finally:
        os.close(fd)
    return np.array(texts, dtype=f"S{max(1, int(lengths.max()))}")


def _values(texts: np.ndarray, key: bytes) -> np.ndarray:
    """The number after ``key = `` in each text (NaN where absent), vectorized over the texts."""
    out = np.full(len(texts), np.nan)
    for k in (key + b" = ", key + b"="):
        pos = np.strings.find(texts, k)
        todo = (pos >= 0) & np.isnan(out)
        if not todo.any():
            continue
        sub = texts[todo]
        start = pos[todo] + len(k)
        end = np.strings.find(sub, b"\n", start)
        end = np.where(end < 0, np.strings.str_len(sub), end)
        raw = np.strings.strip(np.strings.slice(sub, start, end))
        try:
            out[todo] = raw.astype(float)
        except ValueError:  # an odd value: parse one by one
            out[todo] = [_float(v) for v in raw]
    return out


def _float(v: bytes) -> float:
    try:
        return float(v)
    except ValueError:
        return float("nan")


def _build_index(path: Path) -> _Index:
    tiff = _open_tiff(path)
    try:
        static = _static_header(tiff)
        ifds = [tiff.ifd(tiff.first)]
        while len(ifds) < 3 and ifds[-1].next and ifds[-1].next + 8 <= tiff.size:
            try:
                ifds.append(tiff.ifd(ifds[-1].next))
            except CorruptFileError:  # cut short: the walk below tells how many pages are whole
                break
        geo = [_geometry(tiff, i, path) for i in ifds]
        rows, cols, dtype = geo[0][:3]
        if any(g[:3] != geo[0][:3] for g in geo):
            raise ShapeMismatchError(f"{path}: the first pages differ in size or type; not a ScanImage file")
        first_desc, software, artist = (tiff.text(ifds[0], t) for t in (270, 305, 315))
        found = _uniform(tiff, ifds, geo)
        if found is not None:
            data, stride, start, truncated = found
            (at0, n0), (at1, n1) = (tiff.text_at(i, 270) for i in ifds[:2])
            d_at = np.concatenate([[at0], at1 + stride * np.arange(len(data) - 1, dtype=np.int64)])
            d_len = np.concatenate([[n0], np.full(len(data) - 1, n1)])
            walked = False
        else:
            data, descs, truncated = _walk(tiff, ifds[0], geo[0], path)
            d_at, d_len = np.asarray(descs, np.int64).reshape(-1, 2).T
            stride, start, walked = None, 0, True
        if len(data) == 0:
            raise CorruptFileError(f"{path} holds no complete page; the file is truncated")
        ends = {b"frameNumbers": np.full(2, np.nan), b"frameTimestamps_sec": np.full(2, np.nan)}
        if _has_stamps(first_desc):  # the first and the last page now, all pages when asked
            texts = _read_texts(path, d_at[[0, -1]], d_len[[0, -1]])
            ends = {k: _values(texts, k) for k in ends}
        return _Index(data, rows, cols, dtype, stride, start, truncated, d_at, d_len, ends,
                      first_desc, software, artist, static, walked, path)
    finally:
        tiff.fh.close()


def page_index(path) -> _Index:
    """The page index of a ScanImage file, from the in-process cache when the file (path,
    size, modification time) is unchanged.

    It holds each complete page's pixel offset (``data``), the page geometry, the stride of
    uniform pages (``stride``; None when the IFD chain had to be walked: ``walked``) and
    ``values(b'frameTimestamps_sec')``, read from every description on first use.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'si.tif')
    >>> tifffile.imwrite(path, np.zeros((5, 4, 6), np.int16), software='SI.VERSION_MAJOR = 2016')
    >>> index = page_index(path)
    >>> len(index.data), (index.rows, index.cols), page_index(path) is index
    (5, (4, 6), True)
    """
    path = Path(path)
    st = os.stat(path)
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _INDEX_LOCK:
        if key in _INDEX_CACHE:
            _INDEX_CACHE.move_to_end(key)
            return _INDEX_CACHE[key]
    try:
        index = _build_index(path)
    except struct.error as exc:
        raise CorruptFileError(f"{path}: a TIFF structure is cut short ({exc}); the file is truncated "
                               "or damaged") from exc
    with _INDEX_LOCK:
        _INDEX_CACHE[key] = index
        while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
            _INDEX_CACHE.popitem(last=False)
    return index


# -- the settings -----------------------------------------------------------------------------
def _matlab(text: str) -> dict:
    from tifffile import matlabstr2py

    try:
        out = matlabstr2py(text)
    except Exception:  # tifffile's parser fails on odd values with many types
        warnings.warn("part of the ScanImage header could not be parsed and was ignored",
                      MetadataWarning, stacklevel=5)
        return {}
    return out if isinstance(out, dict) else {}


def _flat(value) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [] if value in ("", None) else [value]


def _num(value, default=None):
    try:
        v = float(_flat(value)[0]) if isinstance(value, list) else float(value)
    except (TypeError, ValueError, IndexError):
        return default
    return v if math.isfinite(v) else default


def _first(fd: dict, *keys, default=None):
    for k in keys:
        if k in fd and fd[k] not in ("", [], None):
            return fd[k]
    return default


@dataclass
class Settings:
    """What ScanImage's header says, generation-independent."""

    version: str
    frame_data: dict
    roi_groups: dict
    channels: list = field(default_factory=lambda: [1])  # saved channel ids, 1-based
    channel_names: list = field(default_factory=list)
    frame_rate: float | None = None
    volume_rate: float | None = None
    planes: int = 1
    flyback: int = 0
    frames_per_slice: int = 1
    claimed_pages: int | None = None
    zoom: float | None = None
    objective_resolution: float | None = None
    mroi: bool = False
    fov_um: tuple | None = None  # (width, height) of the imaging field in µm
    frames_per_file: float | None = None  # a recording split over files of this many frames


def _settings_si3(fd: dict) -> Settings:
    s = Settings(str(fd.get("state.software.version", "3")), fd, {})
    saving = [c for c in range(1, 5) if _num(fd.get(f"state.acq.savingChannel{c}"), 0)]
    n_save = int(_num(fd.get("state.acq.numberOfChannelsSave"), len(saving) or 1))
    s.channels = saving if len(saving) == n_save else list(range(1, n_save + 1))
    s.frame_rate = _num(fd.get("state.acq.frameRate"))
    s.planes = max(1, int(_num(fd.get("state.acq.numberOfZSlices"), 1)))
    frames = int(_num(fd.get("state.acq.numberOfFrames"), 1))
    s.frames_per_slice = 1 if _num(fd.get("state.acq.averaging"), 0) else max(1, frames)
    s.claimed_pages = s.planes * s.frames_per_slice * len(s.channels)
    s.zoom = _num(fd.get("state.acq.zoomFactor"))
    return s


def _settings_si45(fd: dict) -> Settings:
    prefix = next((p for p in ("scanimage.SI5.", "scanimage.SI4.") if any(k.startswith(p) for k in fd)),
                  "scanimage.SI5.")
    sub = {k[len(prefix):]: v for k, v in fd.items() if k.startswith(prefix)}
    s = Settings(str(sub.get("VERSION_MAJOR", prefix.split(".")[1][2:] or "5")), sub, {})
    s.channels = [int(c) for c in _flat(sub.get("channelsSave", 1))] or [1]
    s.frame_rate = _num(sub.get("scanFrameRate"))
    s.planes = max(1, int(_num(sub.get("stackNumSlices"), 1)))
    fast_z = bool(_num(sub.get("fastZEnable"), 0))
    if fast_z and _num(sub.get("fastZDiscardFlybackFrames"), 0):
        s.flyback = int(_num(sub.get("fastZNumDiscardFrames"), 0))
    frames = int(_num(sub.get("acqNumFrames"), 1) or 1)
    s.frames_per_slice = 1 if fast_z else max(1, frames)
    volumes = int(_num(sub.get("fastZNumVolumes"), 1)) if fast_z else 1
    s.claimed_pages = volumes * (s.planes + s.flyback) * s.frames_per_slice * len(s.channels)
    s.zoom = _num(sub.get("zoomFactor"))
    s.objective_resolution = _num(sub.get("objectiveResolution"))
    return s


def _settings_si(fd: dict, rois: dict) -> Settings:
    s = Settings(str(fd.get("SI.VERSION_MAJOR", "2015+")), fd, rois)
    s.channels = [int(c) for c in _flat(fd.get("SI.hChannels.channelSave", 1))] or [1]
    names = _flat(fd.get("SI.hChannels.channelName", []))
    s.channel_names = [str(names[c - 1]) if 0 < c <= len(names) else f"Channel {c}" for c in s.channels]
    s.frame_rate = _num(fd.get("SI.hRoiManager.scanFrameRate"))
    s.volume_rate = _num(fd.get("SI.hRoiManager.scanVolumeRate"))
    slices = _first(fd, "SI.hStackManager.actualNumSlices", "SI.hStackManager.numSlices")
    s.planes = max(1, int(_num(slices, 1)))
    fast_z = bool(_num(fd.get("SI.hFastZ.enable"), 0)) or fd.get("SI.hStackManager.stackMode") == "fast"
    if s.planes > 1 and fast_z:
        s.flyback = int(_num(fd.get("SI.hFastZ.numDiscardFlybackFrames"), 0))
        with_fb = _num(fd.get("SI.hStackManager.numFramesPerVolumeWithFlyback"))
        if with_fb is not None and with_fb > s.planes:
            s.flyback = int(with_fb) - s.planes
    per_slice = _num(fd.get("SI.hStackManager.framesPerSlice"))
    s.frames_per_slice = 1 if fast_z or s.planes == 1 or per_slice is None else max(1, int(per_slice))
    volumes = _num(_first(fd, "SI.hStackManager.actualNumVolumes", "SI.hFastZ.numVolumes"))
    if s.planes == 1:
        claimed = per_slice
    else:
        claimed = (volumes if fast_z else 1) * (s.planes + s.flyback) * s.frames_per_slice \
            if (volumes or not fast_z) else None
    average = _num(fd.get("SI.hScan2D.logAverageFactor"), 1) or 1
    s.claimed_pages = int(claimed // average) * len(s.channels) if claimed else None
    s.frames_per_file = _num(fd.get("SI.hScan2D.logFramesPerFile"))
    s.zoom = _num(fd.get("SI.hRoiManager.scanZoomFactor"))
    s.objective_resolution = _num(_first(fd, "SI.objectiveResolution", "SI.hRoiManager.objectiveResolution"))
    s.mroi = bool(_num(fd.get("SI.hRoiManager.mroiEnable"), 0))
    fov = fd.get("SI.hRoiManager.imagingFovUm")
    try:
        pts = np.asarray(fov, float).reshape(-1, 2)
        s.fov_um = (float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1]))) if len(pts) >= 2 else None
    except (TypeError, ValueError):
        s.fov_um = None
    return s


def read_settings(index: _Index) -> Settings:
    """The header of a ScanImage file, whichever generation wrote it."""
    if index.static is not None:
        text, rois, version = index.static
        s = _settings_si(_matlab(text), rois or _json(index.artist))
        s.version = f"{s.version} (static header v{version})"
    elif _si_text(index.first_desc, index.software) == "software":
        s = _settings_si(_matlab(index.software), _json(index.artist))
    elif _si_text(index.first_desc, index.software) == "state":
        s = _settings_si3(_matlab(index.first_desc))
    elif _si_text(index.first_desc, index.software) == "description":
        fd = _matlab(index.first_desc)
        si = {"SI." + k[13:]: v for k, v in fd.items() if k.startswith("scanimage.SI.")}
        s = _settings_si(si, _json(index.artist)) if si else _settings_si45(fd)
    else:
        raise UnsupportedFormatError("the file holds no ScanImage header (no static header, no 'SI.', "
                                     "'state.' or 'scanimage.SI' text); open it with FSeq_tiff")
    if not s.channel_names:
        s.channel_names = [f"Channel {c}" for c in s.channels]
    return s


# -- multi-ROI fields ---------------------------------------------------------------------------
def _rois(settings: Settings) -> list[dict]:
    """The imaging ROIs of the ROI group: name and the first scanfield of each."""
    group = settings.roi_groups.get("RoiGroups", settings.roi_groups).get("imagingRoiGroup", {})
    rois = group.get("rois", []) if isinstance(group, dict) else []
    rois = [rois] if isinstance(rois, dict) else list(rois)
    out = []
    for i, roi in enumerate(rois):
        fields = roi.get("scanfields", {})
        sf = fields[0] if isinstance(fields, list) and fields else fields
        if not isinstance(sf, dict) or "pixelResolutionXY" not in sf:
            continue
        cols, rows = (int(v) for v in _flat(sf["pixelResolutionXY"])[:2])
        out.append({"index": i, "name": str(roi.get("name") or f"ROI {i + 1}"), "rows": rows, "cols": cols,
                    "size_deg": [float(v) for v in _flat(sf.get("sizeXY", []))[:2]],
                    "center_deg": [float(v) for v in _flat(sf.get("centerXY", []))[:2]]})
    return out


def _fields(settings: Settings, page_rows: int, page_cols: int, path) -> list[dict]:
    """The mROI fields stacked in a page, with the row each starts at (fly-to lines between)."""
    rois = _rois(settings)
    if not settings.mroi or len(rois) < 2:
        return []
    total = sum(r["rows"] for r in rois)
    gap, rest = divmod(page_rows - total, len(rois) - 1)
    if gap < 0 or rest or any(r["cols"] > page_cols for r in rois):
        raise CorruptFileError(f"{path}: the ROI group's fields ({[(r['rows'], r['cols']) for r in rois]}) "
                               f"do not fit pages of {page_rows} x {page_cols} with equal fly-to gaps")
    y = 0
    for r in rois:
        r["y0"], r["flyto_rows"] = y, gap
        y += r["rows"] + gap
    return rois


def list_scanimage_rois(path) -> list[dict]:
    """The imaging fields of a multi-ROI (mesoscope) ScanImage file.

    Each is a dict with ``index``, ``name``, ``rows``, ``cols``, ``y0`` (the page row it
    starts at), ``flyto_rows`` (fly-to lines after it), ``size_deg`` and ``center_deg``.
    An empty list for a file without multi-ROI fields.

    Examples
    --------
    >>> import numpy as np, tifffile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'si.tif')
    >>> tifffile.imwrite(path, np.zeros((2, 4, 5), np.int16), software='SI.VERSION_MAJOR = 2016')
    >>> list_scanimage_rois(path)
    []
    """
    index = page_index(path)
    return _fields(read_settings(index), index.rows, index.cols, path)


# -- the reader -------------------------------------------------------------------------------
def _order_files(paths: list[Path]) -> list[Path]:
    """Files of one acquisition in the order of their first frame numbers (natural order when
    they have none)."""
    if len(paths) < 2:
        return paths
    firsts = [page_index(p).ends[b"frameNumbers"][0] for p in paths]
    if np.all(np.isfinite(firsts)):
        return [paths[i] for i in np.argsort(firsts, kind="stable")]
    return paths


def _pick(value, names: list[str], what: str, path) -> int:
    """Index of ``value`` (an int position or a name) among ``names``."""
    listing = ", ".join(f"{i} {n!r}" for i, n in enumerate(names))
    err = ChannelError if what == "ch" else DatasetError
    if isinstance(value, str):
        if value in names:
            return names.index(value)
        raise err(f"{what}={value!r} was asked of {path}, which has: {listing}")
    if not isinstance(value, int | np.integer) or not -len(names) <= value < len(names):
        raise err(f"{what}={value!r} was asked of {path}, which has: {listing}")
    return int(value) % len(names)


class ScanImageReader(Reader):
    """Reads a ScanImage recording: one file, or one acquisition split over files.

    Parameters
    ----------
    path : str, Path or list
        A file, or the files of one acquisition (a glob, a folder or a list): they are put
        in the order of their frame numbers.
    ch : int, str or None
        A saved channel, by its position among the saved channels or by its name
        (``'Channel 2'``); None keeps all (frames ``rows x cols x channels``).
    z : int or None
        The plane of a volume recording (flyback frames are never frames).
    roi : int, str or None
        The multi-ROI field, by position or name (:func:`list_scanimage_rois`); None keeps
        the whole page.
    """

    thread_safe = True
    cheap_crop = True
    MAX_OPEN = 8

    def __init__(self, path, ch=None, z: int | None = None, roi=None):
        files = [Path(path)] if isinstance(path, str | os.PathLike) and Path(path).is_file() \
            else resolve(path).files
        self.files = _order_files(files)
        self.paths = tuple(str(f) for f in self.files)
        self.source = self.paths[0] if len(self.files) == 1 else \
            f"{self.paths[0]} ... ({len(self.files)} files)"
        self.indexes = [page_index(f) for f in self.files]
        first = self.indexes[0]
        for f, ix in zip(self.files[1:], self.indexes[1:], strict=True):
            if (ix.rows, ix.cols, ix.dtype) != (first.rows, first.cols, first.dtype):
                raise ShapeMismatchError(f"{f} holds {ix.rows} x {ix.cols} {ix.dtype} pages, "
                                         f"{self.files[0]} {first.rows} x {first.cols} {first.dtype}; "
                                         "the files are not one acquisition")
        self.settings = read_settings(first)
        self.page_starts = np.cumsum([0] + [len(ix.data) for ix in self.indexes])
        self._field = self._choose_field(roi)
        self._table, self._channels = self._frame_table(ch, z)
        rows, cols = self._field[1] - self._field[0], self._field[2]
        self.dtype = first.dtype.newbyteorder("=")
        n_ch = len(self._channels)
        self.shape = (len(self._table), rows, cols) + ((n_ch,) if n_ch > 1 else ())
        self.axes = Axes(self._axes(z))
        self.metadata = self._metadata()
        self._mms: OrderedDict[int, tuple] = OrderedDict()

    # -- what the frames are ---------------------------------------------------------------
    def _choose_field(self, roi) -> tuple[int, int, int]:
        """(first row, end row, cols) of the page part that is a frame."""
        ix = self.indexes[0]
        fields = _fields(self.settings, ix.rows, ix.cols, self.source)
        self.fields, self.roi = fields, None
        if roi is None:
            if fields:
                warnings.warn(f"{self.source} holds {len(fields)} multi-ROI fields "
                              f"({', '.join(f['name'] for f in fields)}) stacked in each frame with "
                              "fly-to lines; pass roi= for one field", MetadataWarning, stacklevel=4)
            return 0, ix.rows, ix.cols
        if not fields:
            raise DatasetError(f"roi={roi!r} was asked of {self.source}, which has no multi-ROI fields "
                               "(mroiEnable is off or the ROI group has one field); leave roi unset")
        f = fields[_pick(roi, [f["name"] for f in fields], "roi", self.source)]
        self.roi = f
        return f["y0"], f["y0"] + f["rows"], f["cols"]

    def _frame_table(self, ch, z) -> tuple[np.ndarray, list[int]]:
        """Global page of each frame and kept channel, after checking the page count."""
        s, n_pages = self.settings, int(self.page_starts[-1])
        n_ch, slices = len(s.channels), s.planes + s.flyback
        repeats = s.frames_per_slice if s.planes > 1 else 1  # one plane: every frame is a time point
        per_volume = slices * repeats * n_ch
        n_vol = n_pages // per_volume
        truncated = any(ix.truncated for ix in self.indexes)
        self.dropped_frames = self._dropped(n_pages // n_ch)
        claimed = s.claimed_pages - (self.dropped_frames or 0) * n_ch if s.claimed_pages is not None else 0
        if s.frames_per_file is not None and len(self.files) == 1:
            claimed = 0  # one file of a recording split over files: the header counts them all
        if n_vol == 0:
            raise CorruptFileError(f"{self.source} holds {n_pages} pages, less than one frame of "
                                   f"{per_volume} pages ({n_ch} channels x {slices} slices x "
                                   f"{repeats} frames per slice); it is truncated")
        why = [f"the header claims {claimed} pages" if claimed > n_pages else "",
               "the last page is cut short" if truncated else "",
               f"{n_pages} pages are not whole frames of {per_volume} ({n_ch} channel(s) x {slices} "
               f"slice(s) x {repeats} per slice)" if n_pages % per_volume else ""]
        if any(why):
            why = "; ".join(w for w in why if w)
            warnings.warn(f"{self.source} holds {n_pages} complete pages but {why}; "
                          f"opening the {n_vol * per_volume} pages of complete frames (the file was probably "
                          "cut short)", TruncatedFileWarning, stacklevel=4)
        pages = np.arange(n_vol * per_volume).reshape(n_vol, slices, repeats, n_ch)
        pages = pages[:, :s.planes]  # flyback frames are no frames
        if s.planes > 1:
            if z is None:
                raise InvalidArgumentError(
                    f"{self.source} is a volume recording of {s.planes} planes (0..{s.planes - 1}); "
                    "pass z=k for one plane")
            if not isinstance(z, int | np.integer) or not -s.planes <= z < s.planes:
                raise InvalidArgumentError(f"z={z!r} was asked of {self.source}, which has {s.planes} "
                                           f"planes (0..{s.planes - 1})")
            pages = pages[:, [int(z) % s.planes]]
        elif z not in (None, 0):
            raise InvalidArgumentError(f"z={z} was asked of {self.source}, which has one plane; leave "
                                       "z unset")
        pages = pages.reshape(-1, n_ch)
        if ch is None:
            return pages, list(range(n_ch))
        k = _pick(ch, s.channel_names, "ch", self.source)
        return pages[:, [k]], [k]

    def _axes(self, z) -> list:
        s = self.settings
        if s.frame_rate is None:
            frame = None
        elif s.planes > 1 and s.frames_per_slice == 1:
            rate = s.volume_rate or s.frame_rate / (s.planes + s.flyback)
            frame = AxisScale(1.0 / rate, "s")
        else:
            frame = AxisScale(1.0 / s.frame_rate, "s")
        dy = dx = None
        field = self.roi or (_rois(s)[0] if len(_rois(s)) == 1 else None)
        if s.objective_resolution and field and len(field["size_deg"]) == 2 and min(field["size_deg"]) > 0:
            dx = AxisScale(s.objective_resolution * field["size_deg"][0] / field["cols"], "µm")
            dy = AxisScale(s.objective_resolution * field["size_deg"][1] / field["rows"], "µm")
        elif s.fov_um and not self.fields and min(s.fov_um) > 0:
            dx = AxisScale(s.fov_um[0] / self.indexes[0].cols, "µm")
            dy = AxisScale(s.fov_um[1] / self.indexes[0].rows, "µm")
        return [frame, dy, dx]

    def _metadata(self) -> dict:
        s = self.settings
        meta = {"scanimage": {"version": s.version, "FrameData": s.frame_data, "RoiGroups": s.roi_groups},
                "channel_names": [s.channel_names[k] for k in self._channels],
                "scanimage_planes": s.planes, "scanimage_flyback_frames": s.flyback,
                "scanimage_frames_per_slice": s.frames_per_slice, "scanimage_zoom": s.zoom}
        if all(np.isfinite(ix.ends[b"frameTimestamps_sec"]).all() for ix in self.indexes):
            meta["frame_times"] = PageValues(self, b"frameTimestamps_sec")
        if self.dropped_frames is not None:
            meta["frame_numbers"] = PageValues(self, b"frameNumbers")
            meta["dropped_frames"] = self.dropped_frames
        if self.fields:
            meta["scanimage_rois"] = self.fields
        return meta

    def _dropped(self, frames_present: int) -> int | None:
        """Frames missing between the first and the last frame number (None if unnumbered)."""
        first = self.indexes[0].ends[b"frameNumbers"][0]
        last = self.indexes[-1].ends[b"frameNumbers"][1]
        if not (np.isfinite(first) and np.isfinite(last)):
            return None
        return max(0, int(last - first + 1) - frames_present)

    def page_values(self, key: bytes) -> np.ndarray:
        """A per-page value of the descriptions (all files, in order), for the kept frames."""
        values = np.concatenate([ix.values(key) for ix in self.indexes])
        return values[self._table[:, 0]]

    # -- reading -------------------------------------------------------------------------------
    def _pages(self, k: int) -> np.ndarray:
        """All complete pages of file ``k`` as ``(n, rows, cols)`` views of its memory map
        (strided when uniform), limited to the field; an object array of page views otherwise."""
        with self._lock:
            if k in self._mms:
                self._mms.move_to_end(k)
                return self._mms[k]
            ix = self.indexes[k]
            mm = np.memmap(self.files[k], np.uint8, "r")
            y0, y1, cols = self._field
            row_bytes = ix.cols * ix.dtype.itemsize
            if ix.stride is not None:
                n = len(ix.data) - ix.uniform_from
                view = np.ndarray((n, ix.rows, ix.cols), ix.dtype, mm, int(ix.data[ix.uniform_from]),
                                  (ix.stride, row_bytes, ix.dtype.itemsize))[:, y0:y1, :cols]
                head = [np.ndarray((ix.rows, ix.cols), ix.dtype, mm, int(ix.data[0]))[y0:y1, :cols]] \
                    if ix.uniform_from else []
                pages = (view, head)
            else:
                pages = (None, [np.ndarray((ix.rows, ix.cols), ix.dtype, mm, int(off))[y0:y1, :cols]
                                for off in ix.data])
            self._mms[k] = pages
            while len(self._mms) > self.MAX_OPEN:
                self._mms.popitem(last=False)
            return pages

    def _read_file(self, k: int, local: np.ndarray, crop) -> np.ndarray:
        """Pages ``local`` of file ``k``: a view of the memory map when they are a regular run."""
        view, head = self._pages(k)
        rows, cols = crop if crop is not None else (slice(None), slice(None))
        start = self.indexes[k].uniform_from if view is not None else np.iinfo(np.int64).max
        sl = as_slice(local)
        if sl is not None and local[0] >= start:
            return view[slice(sl.start - start, sl.stop - start, sl.step), rows, cols]
        out = np.empty((len(local), *self._crop_shape(crop)), self.dtype)
        tail = local >= start
        if tail.any():
            out[tail] = view[local[tail] - start, rows, cols]
        for j in np.flatnonzero(~tail):
            out[j] = head[local[j]][rows, cols]
        return out

    def _crop_shape(self, crop) -> tuple[int, int]:
        probe = np.broadcast_to(np.zeros((), np.uint8), self.shape[1:3])
        return probe[crop or ()].shape

    def _read(self, frames, crop):
        pages = self._table[frames].ravel()
        which = np.searchsorted(self.page_starts, pages, side="right") - 1
        if which[0] == which[-1]:
            block = self._read_file(int(which[0]), pages - self.page_starts[which[0]], crop)
        else:
            block = np.empty((len(pages), *self._crop_shape(crop)), self.dtype)
            for k in unique_sorted(which):
                sel = which == k
                block[sel] = self._read_file(int(k), pages[sel] - self.page_starts[k], crop)
        if block.dtype != self.dtype:
            block = block.astype(self.dtype)
        n_ch = self._table.shape[1]
        if n_ch == 1:
            return block
        block = block.reshape(len(frames), n_ch, *block.shape[1:])
        return np.moveaxis(block, 1, -1)

    def close(self) -> None:
        mms = getattr(self, "_mms", None)
        if mms is not None:
            with self._lock:
                mms.clear()


class PageValues:
    """A per-frame value of the page descriptions (``frame_times``, ``frame_numbers``), read
    from every page on first use: opening a long file reads two descriptions, not all.
    It behaves as a read-only 1-D numpy array (``np.asarray``, ``len``, indexing)."""

    def __init__(self, reader: ScanImageReader, key: bytes):
        self._reader, self._key, self._array = reader, key, None

    def _load(self) -> np.ndarray:
        if self._array is None:
            a = self._reader.page_values(self._key)
            a = a.astype(np.int64) if self._key == b"frameNumbers" and np.isfinite(a).all() else a
            a.flags.writeable = False
            self._array = a
        return self._array

    def __array__(self, dtype=None, copy=None):
        a = self._load()
        return a.astype(dtype) if dtype is not None and dtype != a.dtype else (a.copy() if copy else a)

    def __len__(self) -> int:
        return len(self._reader._table)

    def __getitem__(self, key):
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __eq__(self, other):
        return self._load() == other

    __hash__ = None

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    @property
    def dtype(self) -> np.dtype:
        return self._load().dtype

    def __repr__(self) -> str:
        return f"PageValues({self._load()!r})"


def open_scanimage(source: Source, ch=None, z=None, roi=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_scanimage`."""
    return ScanImageReader(source.names if source.is_collection else source.names[0],
                           ch=ch, z=z, roi=roi)


__all__ = ["ScanImageReader", "is_scanimage_file", "list_scanimage_rois", "open_scanimage", "page_index"]
