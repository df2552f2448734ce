"""A test-side ScanImage TIFF writer: the pages, header texts and per-frame descriptions as
ScanImage 3.x, 4/5, 2015 and 2016+ write them, in a uniform hand-written (Big)TIFF.

Each page is laid out as ScanImage does: its IFD, then the tag values (the per-frame
ImageDescription, the Software and Artist texts), then the uncompressed pixels.  Descriptions
are padded to one length so that all pages have the same size (``pad=False`` makes them vary).
A 2016+ BigTIFF gets the static header at byte 16 (magic 117637889, version, the sizes of the
non-varying frame data and of the ROI-group JSON, then those texts), as
``tifffile.read_scanimage_metadata`` reads it.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SI_MAGIC = 117637889
ASCII, SHORT, LONG, LONG8 = 2, 3, 4, 16
_SAMPLE_FORMAT = {"u": 1, "i": 2, "f": 3}


# -- MATLAB value text -------------------------------------------------------------------------
def matlab(value) -> str:
    """A Python value as ScanImage prints it: ``true``, ``[1 2;3 4]``, ``{'a' 'b'}``, ``Inf``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, float) and np.isinf(value):
        return "Inf"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, str) for v in value):
            return "{" + " ".join(f"'{v}'" for v in value) + "}"
        if value and isinstance(value[0], list | tuple):
            return "[" + ";".join(" ".join(matlab(v) for v in row) for row in value) + "]"
        return "[" + " ".join(matlab(v) for v in value) + "]"
    return repr(value)


def header_text(header: dict, sep: str = " = ", end: str = "\n") -> str:
    return "".join(f"{k}{sep}{matlab(v)}{end}" for k, v in header.items())


# -- a recording, described -------------------------------------------------------------------
@dataclass
class Recording:
    """What to write; :meth:`pages` are the pixels in file order (channel fastest, then the
    frames of a slice, then the slices with the flyback frames, then the volumes)."""

    version: str = "2016"  # '3', '4', '5', '2015' or '2016'
    channels: tuple = (1,)  # saved channel ids (1-based)
    planes: int = 1
    flyback: int = 0
    frames_per_slice: int = 1
    volumes: int = 6
    rows: int = 16
    cols: int = 20
    frame_rate: float = 30.0
    zoom: float = 2.0
    objective_resolution: float = 15.0  # µm per degree
    fields: tuple = ()  # mROI fields: (rows, cols) each; the page is their stack with fly-to lines
    flyto: int = 0  # fly-to lines between fields
    size_deg: tuple = (1.6, 1.28)  # a field's size in degrees (x, y)
    drop: tuple = ()  # frame numbers (0-based) dropped: missing from the file, a time-stamp gap
    dtype: str = "int16"
    seed: int = 0
    claimed_volumes: int | None = None  # the header's number of volumes (default: volumes)

    @property
    def slices(self) -> int:
        return self.planes + self.flyback

    @property
    def page_rows(self) -> int:
        if self.fields:
            return sum(r for r, _ in self.fields) + self.flyto * (len(self.fields) - 1)
        return self.rows

    @property
    def page_cols(self) -> int:
        return max(c for _, c in self.fields) if self.fields else self.cols

    @property
    def n_frames(self) -> int:
        """Frames (all channels at one time) acquired, before drops."""
        return self.volumes * self.slices * self.frames_per_slice

    def frame_numbers(self) -> np.ndarray:
        """The acquired frames that are in the file (0-based frame numbers)."""
        return np.setdiff1d(np.arange(self.n_frames), np.asarray(self.drop, int))

    def pages(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        n = len(self.frame_numbers()) * len(self.channels)
        info = np.iinfo(self.dtype) if self.dtype[0] in "iu" else None
        lo, hi = (-2000, 30000) if info is None or info.min < 0 else (0, 60000)
        return rng.integers(lo, hi, (n, self.page_rows, self.page_cols)).astype(self.dtype)

    def roi_groups(self) -> dict:
        fields = self.fields or ((self.rows, self.cols),)
        rois = [{"ver": 1, "name": f"ROI {i + 1}", "zs": 0, "scanfields": {
            "centerXY": [i * self.size_deg[0], 0.0], "sizeXY": list(self.size_deg),
            "pixelResolutionXY": [c, r]}} for i, (r, c) in enumerate(fields)]
        return {"RoiGroups": {"imagingRoiGroup": {"ver": 1, "name": "Default",
                                                   "rois": rois if len(rois) > 1 else rois[0]}}}

    def header(self) -> dict:
        claimed = self.volumes if self.claimed_volumes is None else self.claimed_volumes
        if self.version == "3":
            return {"state.software.version": 3.8, "state.acq.frameRate": self.frame_rate,
                    "state.acq.numberOfChannelsSave": len(self.channels),
                    **{f"state.acq.savingChannel{c}": int(c in self.channels) for c in range(1, 5)},
                    "state.acq.numberOfZSlices": self.planes,
                    "state.acq.numberOfFrames": self.frames_per_slice * claimed,
                    "state.acq.averaging": 0, "state.acq.zoomFactor": self.zoom,
                    "state.acq.bidirectionalScan": 0, "state.acq.linesPerFrame": self.rows,
                    "state.acq.pixelsPerLine": self.cols}
        if self.version in ("4", "5"):
            p = f"scanimage.SI{self.version}."
            fast_z = self.planes > 1 and self.frames_per_slice == 1
            return {p + "VERSION_MAJOR": self.version, p + "channelsSave": [[c] for c in self.channels],
                    p + "scanFrameRate": self.frame_rate, p + "stackNumSlices": self.planes,
                    p + "fastZEnable": fast_z, p + "fastZDiscardFlybackFrames": self.flyback > 0,
                    p + "fastZNumDiscardFrames": self.flyback,
                    p + "acqNumFrames": self.frames_per_slice * (1 if self.planes > 1 else claimed),
                    p + "fastZNumVolumes": claimed if fast_z else 1,
                    p + "zoomFactor": self.zoom, p + "objectiveResolution": self.objective_resolution}
        names = [f"Channel {c}" for c in range(1, 5)]
        fast_z = self.planes > 1 and self.frames_per_slice == 1
        return {"SI.VERSION_MAJOR": "2016b" if self.version == "2016" else "2015",
                "SI.hChannels.channelSave": [[c] for c in self.channels] if len(self.channels) > 1
                else self.channels[0], "SI.hChannels.channelName": names,
                "SI.hRoiManager.scanFrameRate": self.frame_rate,
                "SI.hRoiManager.scanVolumeRate": self.frame_rate / (self.slices * self.frames_per_slice),
                "SI.hRoiManager.scanZoomFactor": self.zoom,
                "SI.hRoiManager.mroiEnable": bool(self.fields),
                "SI.hRoiManager.linesPerFrame": self.page_rows,
                "SI.hRoiManager.pixelsPerLine": self.page_cols,
                "SI.hFastZ.enable": fast_z, "SI.hFastZ.numDiscardFlybackFrames": self.flyback,
                "SI.hFastZ.numVolumes": claimed if fast_z else 1,
                "SI.hStackManager.numSlices": self.planes,
                "SI.hStackManager.framesPerSlice": self.frames_per_slice * (1 if self.planes > 1
                                                                            else claimed),
                "SI.hScan2D.logFramesPerFile": float("inf"),
                "SI.objectiveResolution": self.objective_resolution}

    def descriptions(self) -> list[str]:
        """The per-page ImageDescription of each page (the frame-varying data)."""
        out = []
        for k, f in enumerate(self.frame_numbers()):
            t = f / self.frame_rate
            text = (f"frameNumbers = {f + 1}\nacquisitionNumbers = 1\nframeNumberAcquisition = {f + 1}\n"
                    f"frameTimestamps_sec = {t:.6f}\nacqTriggerTimestamps_sec = 0.000000\n"
                    f"nextFileMarkerTimestamps_sec = -1.000000\nendOfAcquisition = "
                    f"{int(k == len(self.frame_numbers()) - 1)}\nendOfAcquisitionMode = 0\n"
                    f"dcOverVoltage = 0\nepoch = [2016 4 1 12 0 {t:.6f}]\nauxTrigger0 = []\n")
            out.extend([text] * len(self.channels))
        return out


# -- the TIFF ----------------------------------------------------------------------------------
def _entry(tag: int, typ: int, count: int, value: int, big: bool) -> bytes:
    if big:
        return struct.pack("<HHQQ", tag, typ, count, value)
    if typ == SHORT and count == 1:
        return struct.pack("<HHIHH", tag, typ, count, value, 0)
    return struct.pack("<HHII", tag, typ, count, value)


def _page(offset: int, page: np.ndarray, texts: dict[int, bytes], big: bool, last: bool) -> bytes:
    """One page at ``offset``: IFD, tag texts, pixels; the IFD points to the next page after it."""
    n_tags = 13 + len(texts)
    ifd_size = (8 + 20 * n_tags + 8) if big else (2 + 12 * n_tags + 4)
    pos = offset + ifd_size
    values, text_at = b"", {}
    for tag, text in sorted(texts.items()):
        text_at[tag] = pos + len(values)
        values += text + b"\0" * (2 - len(text) % 2)  # NUL-terminated, even length
    data_at = pos + len(values)
    nbytes = page.nbytes
    rows, cols = page.shape
    tags = [(254, LONG, 1, 0), (256, SHORT, 1, cols), (257, SHORT, 1, rows),
            (258, SHORT, 1, page.dtype.itemsize * 8), (259, SHORT, 1, 1), (262, SHORT, 1, 1),
            (273, LONG8 if big else LONG, 1, data_at), (274, SHORT, 1, 1), (277, SHORT, 1, 1),
            (278, SHORT, 1, rows), (279, LONG, 1, nbytes), (284, SHORT, 1, 1),
            (339, SHORT, 1, _SAMPLE_FORMAT[page.dtype.kind])]
    tags = sorted(tags + [(tag, ASCII, len(texts[tag]) + 1, text_at[tag]) for tag in texts])
    nxt = 0 if last else data_at + nbytes
    head = struct.pack("<Q", len(tags)) if big else struct.pack("<H", len(tags))
    ifd = head + b"".join(_entry(*t, big) for t in tags) + struct.pack("<Q" if big else "<I", nxt)
    assert len(ifd) == ifd_size
    return ifd + values + np.ascontiguousarray(page, page.dtype.newbyteorder("<")).tobytes()


def write_tiff(path, pages: np.ndarray, descriptions: list[str] | None = None, *, software: str = "",
               artist: str = "", bigtiff: bool = False, static: tuple[str, str] | None = None,
               header_every_page: bool = True, pad: bool = True) -> Path:
    """Write ``pages`` (n, rows, cols) as a uniform TIFF; ``static`` = (frame data, ROI JSON)
    puts ScanImage's static header at byte 16 of a BigTIFF."""
    path = Path(path)
    width = max((len(d) for d in descriptions), default=0) if descriptions and pad else 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<2sHHHQ", b"II", 43, 8, 0, 0) if bigtiff
                 else struct.pack("<2sHI", b"II", 42, 0))
        if static is not None:
            frame, rois = (static[0].encode() + b"\0"), (static[1].encode() + b"\0")
            fh.write(struct.pack("<IIII", SI_MAGIC, 3, len(frame), len(rois)) + frame + rois)
        if fh.tell() % 2:
            fh.write(b"\0")
        first = fh.tell()
        fh.seek(8 if bigtiff else 4)
        fh.write(struct.pack("<Q" if bigtiff else "<I", first))
        fh.seek(first)
        for k, page in enumerate(pages):
            texts = {}
            if descriptions:
                texts[270] = descriptions[k].ljust(width).encode()
            if (k == 0 or header_every_page) and software:
                texts[305] = software.encode()
            if (k == 0 or header_every_page) and artist:
                texts[315] = artist.encode()
            fh.write(_page(fh.tell(), page, texts, bigtiff, k == len(pages) - 1))
    return path


def write_recording(folder, rec: Recording, name: str = "file", *, split: int | None = None,
                    static: bool = True, pages: np.ndarray | None = None,
                    **kwargs) -> tuple[list[Path], np.ndarray]:
    """Write ``rec`` as ScanImage would (``split`` = frames per file, files ``name_00001.tif`` ...;
    ``pages`` replaces the random pixels); return the paths and all pages in file order."""
    pages = rec.pages() if pages is None else np.asarray(pages)
    descs = rec.descriptions()
    assert len(pages) == len(descs), f"{len(pages)} pages for {len(descs)} descriptions"
    header, rois = rec.header(), rec.roi_groups()
    kw: dict = {}
    if rec.version == "3":
        descs = [header_text(header, "=", "\r")] * len(pages)
    elif rec.version in ("4", "5"):
        descs = [d + header_text(header) for d in descs]
    else:
        kw = {"software": header_text(header), "artist": json.dumps(rois), "bigtiff": rec.version == "2016"}
        if rec.version == "2016" and static:
            kw["static"] = (header_text(header), json.dumps(rois))
    per_file = len(pages) if split is None else split * len(rec.channels)
    paths = []
    for i, start in enumerate(range(0, len(pages), per_file)):
        path = Path(folder) / (f"{name}.tif" if split is None else f"{name}_{i + 1:05d}.tif")
        paths.append(write_tiff(path, pages[start:start + per_file], descs[start:start + per_file],
                                **kw, **kwargs))
    return paths, pages


def write_uniform_bigtiff(path, n_pages: int, rows: int, cols: int, channels: int = 2,
                          frame_rate: float = 30.0) -> Path:
    """A long 2016+ ScanImage BigTIFF written in one pass (for the fast-open test and the bench):
    page ``k`` holds ``k % 32768`` everywhere, its description frame number ``k // channels + 1``.
    The bytes are written page by page, never all in memory."""
    rec = Recording(version="2016", channels=tuple(range(1, channels + 1)), rows=rows, cols=cols,
                    volumes=n_pages // channels, frame_rate=frame_rate)
    header, rois = header_text(rec.header()), json.dumps(rec.roi_groups())
    frame, roi = header.encode() + b"\0", rois.encode() + b"\0"
    width = 320
    with open(path, "wb") as fh:
        fh.write(struct.pack("<2sHHHQ", b"II", 43, 8, 0, 0))
        fh.write(struct.pack("<IIII", SI_MAGIC, 3, len(frame), len(roi)) + frame + roi)
        if fh.tell() % 2:
            fh.write(b"\0")
        first = fh.tell()
        fh.seek(8)
        fh.write(struct.pack("<Q", first))
        fh.seek(first)
        buf = np.empty((rows, cols), np.int16)
        for k in range(n_pages):
            f = k // channels
            buf[...] = k % 32768
            desc = (f"frameNumbers = {f + 1}\nframeTimestamps_sec = {f / frame_rate:.6f}\n"
                    f"acqTriggerTimestamps_sec = 0.000000\nepoch = [2016 4 1 12 0 0]\n").ljust(width)
            texts = {270: desc.encode()}
            if k == 0:
                texts.update({305: header.encode(), 315: rois.encode()})
            fh.write(_page(fh.tell(), buf, texts, True, k == n_pages - 1))
    return Path(path)
