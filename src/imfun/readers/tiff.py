"""Multi-page TIFF files: plain, BigTIFF, ImageJ hyperstacks and OME-TIFF, via ``tifffile``.

Opening reads the headers only.  A series whose pixels lie contiguous and
uncompressed in the file is memory-mapped (frame ``i`` and any crop cost only
their bytes); otherwise pages are decoded by ``tifffile``, several at once in
threads when they are compressed.

Frames are the planes of the series' time (or Z, or generic) axes; a channel
axis (``C``, separate planes) or samples (``S``, e.g. RGB) make colour frames
``rows x cols x channels`` unless ``ch`` picks one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import warnings
from functools import partial

import numpy as np

from ..axes import Axes, AxisScale, to_standard
from ..errors import (
    CorruptFileError,
    DatasetError,
    ImfunError,
    MetadataWarning,
    TruncatedFileWarning,
    UnsupportedFormatError,
)
from .base import Reader, apply_crop, concat_files, gather
from .catalog import is_tiff
from .dims import Dims, open_planes, select
from .files import FileManager
from .options import series_index
from .registry import Source

# resolutions that are a program's default, not a calibration (pixels per inch)
_DEFAULT_DPI = {1.0, 72.0, 96.0, 150.0, 300.0, 600.0}


class _LogCollector(logging.Handler):
    """Collects what tifffile logs while a file is parsed (library code does not print)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _collect_tifffile_log():
    logger = logging.getLogger("tifffile")
    handler = _LogCollector()
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _page_to_yxs(block: np.ndarray, page_axes: str) -> np.ndarray:
    """``(n, *page_shape)`` -> ``(n, Y, X, S)`` as a view (other page axes have size 1)."""
    order = [page_axes.index("Y"), page_axes.index("X")]
    if "S" in page_axes:
        order.append(page_axes.index("S"))
    others = [i for i in range(len(page_axes)) if i not in order]
    block = block.transpose(0, *[1 + i for i in others + order])
    block = block.reshape(block.shape[0], *block.shape[1 + len(others):])
    return block if "S" in page_axes else block[..., np.newaxis]


# no codec packs image data tighter than this (deflate tops out near 1000:1); a page that
# declares more pixels than its bytes could hold is a damaged or hostile header
MAX_COMPRESSION = 100_000
SLACK_BYTES = 16 * 1024**2


def _check_page_data(page, path) -> None:
    """Refuse a page whose declared size cannot come from the bytes it stores, before a
    decoder allocates (or loops over) the declared size."""
    declared = int(page.size) * int(page.bitspersample) // 8
    stored = int(sum(page.databytecounts))
    ratio = 1 if page.compression == 1 else MAX_COMPRESSION
    if declared > stored * ratio + SLACK_BYTES:
        raise CorruptFileError(
            f"{path}: a page declares {page.shape} pixels ({declared} bytes) but stores "
            f"{stored} bytes of data; the header is damaged")


class TiffReader(Reader):
    """Reads the frames of one series of a TIFF file.

    Parameters
    ----------
    path : str or Path
        The TIFF file.
    ch : int, str or None
        Keep this channel (2-D frames; ``'r'``, ``'g'``, ``'b'`` name the first three);
        None keeps all (colour frames).
    series : int
        Which series (image) of the file.
    z : int or None
        Keep this Z slice of a file with a Z axis (ImageJ hyperstack, OME-TIFF).
    """

    portable_layout = True  # workers read without parsing the headers again

    def __init__(self, path, ch: int | None = None, series: int = 0, z: int | None = None):
        self.path = os.fspath(path)  # a string: opening a TIFF imports no pathlib
        self.source = self.path
        self.paths = (self.path,)
        self.series_index = series_index(series, self.path)
        self._files = FileManager(_open_tiff, self.path)
        self._mm = None
        import tifffile
        with _collect_tifffile_log() as log:
            try:
                tif = tifffile.TiffFile(self.path)
            except Exception as exc:  # tifffile reports damaged headers with many types
                raise CorruptFileError(f"{self.path} is not a readable TIFF file ({exc}); it may be "
                                       "truncated or damaged") from exc
            try:
                self._parse(tif, ch, z, log)
            except ImfunError:
                tif.close()
                raise
            except Exception as exc:  # tifffile reports damaged structures with many types
                tif.close()
                raise CorruptFileError(f"{self.path}: cannot read the TIFF structure ({exc}); the "
                                       "file may be truncated or damaged") from exc
        if self._dataoffset is not None:
            tif.close()  # the memory map needs no open file
        else:
            self._files.adopt(tif)  # parsed already: kept open (among the process' open files)

    # -- parsing the headers ----------------------------------------------------------
    def _parse(self, tif, ch, z, log: list[str]) -> None:
        # tifffile's page iterator (its generic series, also the fallback for a damaged ImageJ
        # or shaped file) runs forever on a circular IFD chain; indexing the chain first detects
        # the cycle (it reads only the directory offsets: about 4 ms per 1000 pages).  An intact
        # ImageJ hyperstack is described by its first page alone, and tifffile reads no other.
        if not _imagej_intact(tif):
            len(tif.pages)
        n_series = len(tif.series)
        if n_series == 0:  # no readable IFD: damage, not a wrong series= argument
            raise CorruptFileError(f"{self.path} holds no readable image (no valid TIFF directory); "
                                   "the file is damaged or truncated")
        if not 0 <= self.series_index < n_series:
            raise DatasetError(f"{self.path} holds {n_series} series (0..{n_series - 1}); "
                               f"series={self.series_index} does not exist")
        s = tif.series[self.series_index]
        axes, shape = s.get_axes(False), tuple(int(n) for n in s.get_shape(False))
        n_pages = len(s.pages)
        # an ImageJ file cut short: tifffile offers its first page alone; read the hyperstack
        # its header describes from the contiguous data that remains
        cut_short = _imagej_cut_short(tif, s) if self.series_index == 0 else None
        if cut_short is not None:
            axes, shape = cut_short
        # frames appended one by one (tifffile.imwrite(..., append=True)) make one series per
        # page: read them as one sequence of pages
        self._page_keys = None
        if self.series_index == 0 and _single_page_series(tif.series):
            self._page_keys = np.array([x.pages[0].index for x in tif.series])
            n_pages = len(self._page_keys)
            axes, shape = "Q" + axes, (n_pages, *shape)
        page_size = int(s.keyframe.size)
        _check_page_data(s.keyframe, self.path)
        # leading axes index pages (C order); the rest are the page's own axes
        k = max((i for i in range(len(axes) + 1) if "Y" not in axes[:i] and "X" not in axes[:i]
                 and math.prod(shape[i:]) == page_size), default=None)
        if k is None:
            raise UnsupportedFormatError(f"{self.path}: cannot tell pages from the series axes "
                                         f"{axes!r} {shape}")
        lead_axes, lead_shape = _unique_names(axes[:k]), shape[:k]
        self._page_axes, self._page_shape = axes[k:], shape[k:]
        if "C" in self._page_axes and "S" not in self._page_axes:
            # channels stored as separate sample planes of one page (planar configuration 2,
            # as in Zeiss LSM): they are the samples of the page's pixels
            self._page_axes = self._page_axes.replace("C", "S")
        if "Y" not in self._page_axes or "X" not in self._page_axes or any(
                n > 1 for a, n in zip(self._page_axes, self._page_shape, strict=True) if a not in "YXS"):
            raise UnsupportedFormatError(f"{self.path}: pages with axes {self._page_axes!r} "
                                         f"{self._page_shape} are not 2-D images")
        n_claimed = math.prod(lead_shape)
        # how many pages exist: a header may claim more than the file holds
        self._compressed = bool(s.keyframe.compression > 1)
        self._dataoffset = s.dataoffset if s.dataoffset is not None and not self._compressed \
            and self._page_keys is None else None
        if self._dataoffset is not None:
            page_bytes = page_size * np.dtype(s.dtype).itemsize
            n_avail = min(n_claimed, max(0, os.path.getsize(self.path) - self._dataoffset) // page_bytes)
        else:
            n_avail = n_pages
        if n_claimed > n_avail + 2**16 and lead_axes[0] != "C":
            # the header claims far more than exists (cut short, or a hostile header): keep
            # only the outer positions that can hold a page, so the page table stays small
            rest = math.prod(lead_shape[1:])
            lead_shape = (max(1, -(-n_avail // rest)), *lead_shape[1:])
            if math.prod(lead_shape) > n_avail + 2**22:
                raise CorruptFileError(f"{self.path}: the header claims {n_claimed} images "
                                       f"{dict(zip(lead_axes, shape[:k], strict=True))} but the file "
                                       f"holds {n_avail}; it is damaged or truncated")
        table = np.arange(math.prod(lead_shape)).reshape(lead_shape)
        sizes = dict(zip(lead_axes, shape[:k], strict=True))  # as claimed, before any cut
        n_samples = self._page_shape[self._page_axes.index("S")] if "S" in self._page_axes else 1
        self.dims, sel = self._select(tif, sizes, n_samples, ch, z)
        lead = list(lead_axes)
        for letter in ("C", "Z"):  # a chosen channel or plane: keep its pages only
            if letter in sel.fixed and letter in lead:
                i = lead.index(letter)
                table = np.take(table, min(sel.fixed[letter], table.shape[i] - 1), axis=i)
                del lead[i]
        self._sample = sel.fixed.get("S") if n_samples > 1 else None
        # separate channel planes go last: they make the channels of one frame
        if sel.channel == "C":
            table = np.moveaxis(table, lead.index("C"), -1)
            lead.remove("C")
            n_planes = sizes["C"]
        else:
            n_planes = 1
        frames_claimed = math.prod(sizes[a] for a in lead)
        table = table.reshape(-1, n_planes)

        ij = tif.imagej_metadata or {}
        try:
            claimed_images = int(ij.get("images", 0) or 0)
        except (TypeError, ValueError):
            claimed_images = 0
        # frames in file order up to the first one missing a page
        complete = np.flatnonzero(~(table < n_avail).all(axis=1))
        n_frames = int(complete[0]) if len(complete) else len(table)
        if n_frames == 0:
            raise CorruptFileError(f"{self.path} holds no complete frame (the header claims "
                                   f"{max(n_claimed, claimed_images)} images); the file is truncated")
        # a header that counts the images (ImageJ, shaped, OME) tells whether any were lost
        counted = claimed_images > 0 or s.kind in ("shaped", "imagej", "ome") or cut_short is not None
        broken = None if counted else _broken_chain(log, os.path.getsize(self.path))
        if n_frames < frames_claimed or n_avail < n_claimed or claimed_images > max(n_avail, n_pages):
            claimed = max(n_claimed, claimed_images)
            warnings.warn(f"{self.path} is cut short: its header announces {claimed} images but only "
                          f"{min(n_avail, claimed)} are in the file; opening the {n_frames} complete "
                          "frame(s)", TruncatedFileWarning, stacklevel=4)
        elif broken is not None:
            warnings.warn(f"{self.path} is cut short: the directory after frame {n_frames} lies at byte "
                          f"{broken}, past the end of the file ({os.path.getsize(self.path)} bytes), so "
                          f"how many frames it held is unknown; opening the {n_frames} readable frame(s)",
                          TruncatedFileWarning, stacklevel=4)
        elif log:
            warnings.warn(f"{self.path}: tifffile reported: {'; '.join(dict.fromkeys(log))}",
                          MetadataWarning, stacklevel=4)
        self._table = table[:n_frames]
        self._n_samples = n_samples if self._sample is None else 1
        self._file_dtype = np.dtype(s.dtype).newbyteorder(tif.byteorder)
        self.dtype = np.dtype(s.dtype).newbyteorder("=")
        rows = self._page_shape[self._page_axes.index("Y")]
        cols = self._page_shape[self._page_axes.index("X")]
        channels = n_planes * self._n_samples
        self.shape = (n_frames, rows, cols) + ((channels,) if channels > 1 else ())
        self._n_pages_used = int(self._table.max()) + 1
        self.cheap_crop = self.thread_safe = self._dataoffset is not None
        self.axes = Axes(self._axes(tif, s, sel.frame))
        self.metadata = {"tiff_axes": s.axes, "tiff_shape": tuple(s.shape), "tiff_series": s.kind}
        if cut_short is not None:
            self.metadata.update(tiff_axes=axes, tiff_shape=shape, tiff_series="imagej (cut short)")
        if self._page_keys is not None:
            self.metadata["tiff_series"] = f"{len(self._page_keys)} single-page series read as frames"
        if ij:
            self.metadata["imagej"] = {k: v for k, v in ij.items() if k != "Labels"}
        self.metadata.update(sel.metadata())

    def _select(self, tif, sizes: dict, n_samples: int, ch, z):
        """The file's dimensions for the axis layer, and the selection for ``ch`` and ``z``.

        Page axes other than channels and z (tifffile's ``I``, ``Q`` ... and time) run along
        time, in file order."""
        timelike = [a for a in sizes if a not in "CZ"]
        dim_sizes = {}
        if timelike:
            dim_sizes["T"] = math.prod(sizes[a] for a in timelike)
        dim_sizes.update({a: sizes[a] for a in "ZC" if a in sizes})
        rows = self._page_shape[self._page_axes.index("Y")]
        cols = self._page_shape[self._page_axes.index("X")]
        dim_sizes.update(Y=rows, X=cols)
        if n_samples > 1:
            dim_sizes["S"] = n_samples
        dims = Dims(dim_sizes, {}, _channel_names(tif), self.path)
        return dims, select(dims, ch, z)

    def _axes(self, tif, s, frame: str | None) -> list[AxisScale]:
        """``(scale, unit)`` of frames, rows and columns from ImageJ, OME or TIFF tags."""
        ij = tif.imagej_metadata or {}
        t_step = z_step = None
        dy = dx = None
        if tif.is_ome and tif.ome_metadata:
            px = _ome_pixels(tif.ome_metadata, self.series_index)
            if px:
                dx = _ome_length(px, "PhysicalSizeX")
                dy = _ome_length(px, "PhysicalSizeY")
                z_step = _ome_length(px, "PhysicalSizeZ")
                if _positive(px.get("TimeIncrement")):
                    t_step = to_standard(float(px["TimeIncrement"]), px.get("TimeIncrementUnit", "s"))
        if ij:
            unit = ij.get("unit", "")
            if _positive(ij.get("finterval")):
                t_step = to_standard(float(ij["finterval"]), ij.get("tunit", "s") or "s")
            elif _positive(ij.get("fps")):
                t_step = AxisScale(1.0 / float(ij["fps"]), "s")
            if _positive(ij.get("spacing")):
                z_step = to_standard(float(ij["spacing"]), unit)
            xres, yres = s.keyframe.resolution
            if unit and _positive(xres) and _positive(yres) and dx is None:
                dx, dy = to_standard(1.0 / xres, unit), to_standard(1.0 / yres, unit)
        elif dx is None:
            dy, dx = _tag_pixel_size(s.keyframe)
        # the frame axis: time if the frames run over time, Z for a z-stack
        step = {"T": t_step, "Z": z_step}.get(frame)
        return [step, dy, dx]

    # -- reading ------------------------------------------------------------------------
    def _memmap(self) -> np.ndarray:
        if self._mm is None:
            mm = np.memmap(self.path, dtype=self._file_dtype, mode="r", offset=self._dataoffset,
                           shape=(self._n_pages_used, *self._page_shape))
            self._mm = _page_to_yxs(mm, self._page_axes)
        return self._mm


    def _read(self, frames, crop):
        pages = self._table[frames].ravel()
        try:
            if self._dataoffset is not None:
                block = gather(self._memmap(), pages, crop)
            else:
                # compressed pages are decoded in parallel threads by tifffile
                workers = min(len(pages), os.cpu_count() or 1) if self._compressed else 1
                with _collect_tifffile_log(), self._files.acquire() as tif:
                    if self._page_keys is None:
                        data = tif.asarray(key=pages.tolist(), series=self.series_index,
                                           maxworkers=workers)
                    else:
                        data = tif.asarray(key=self._page_keys[pages].tolist(), maxworkers=workers)
                block = apply_crop(_page_to_yxs(data.reshape(len(pages), *self._page_shape),
                                                self._page_axes), crop)
        except ImfunError:
            raise
        except Exception as exc:  # decoders raise many types on damaged data
            raise CorruptFileError(f"{self.path}: cannot read frame(s) {frames[0]}..{frames[-1]} "
                                   f"({exc}); the file may be truncated or damaged") from exc
        if self._sample is not None:
            block = block[..., self._sample:self._sample + 1]
        _, rows, cols, samples = block.shape
        planes = block.reshape(len(frames), len(pages) // len(frames), rows, cols, samples)
        if planes.shape[1] > 1:
            block = np.moveaxis(planes, 1, -2).reshape(len(frames), rows, cols, -1)
        else:
            block = planes[:, 0]
        if block.shape[-1] == 1:
            block = block[..., 0]
        return block.astype(self.dtype, copy=False)

    def close(self) -> None:
        with self._lock:
            self._mm = None
            if hasattr(self, "_files"):
                self._files.close()


def _open_tiff(path):
    """A TiffFile whose log messages are collected (library code does not print)."""
    import tifffile

    with _collect_tifffile_log():
        return tifffile.TiffFile(path)


def _broken_chain(log: list[str], file_size: int) -> int | None:
    """The offset of a directory that tifffile could not read because it lies past the end of
    the file (a file cut short), from what tifffile logged; None if there is none."""
    for message in log:
        m = re.search(r"invalid page offset (\d+)", message)
        if m and int(m.group(1)) >= file_size:
            return int(m.group(1))
    return None


def _unique_names(letters: str) -> list[str]:
    """Axis letters made unique: tifffile names several generic axes alike (``QQYX`` for a
    file written in contiguous chunks), ``['Q', 'Q1']``."""
    out: list[str] = []
    for a in letters:
        out.append(a if a not in out else f"{a}{sum(1 for b in out if b[0] == a)}")
    return out


def _single_page_series(series) -> bool:
    """Whether a file holds several series of one page each, all alike."""
    if len(series) < 2:
        return False
    first = series[0]
    # only plain pages: OME positions or ImageJ images are separate series on purpose
    return all(len(x.pages) == 1 and x.kind in ("shaped", "generic", "uniform")
               and x.shape == first.shape and x.dtype == first.dtype and x.axes == first.axes
               for x in series)


# ImageJ's plane order (the "order" key) -> tifffile's names of the axes, outermost first
_IMAGEJ_ORDER = {"czt": "TZC", "default": "TZC", "ctz": "ZTC", "zct": "TCZ", "ztc": "CTZ",
                 "tcz": "ZCT", "tzc": "CZT"}


def _imagej_intact(tif) -> bool:
    """Whether the file is an ImageJ hyperstack whose header counts its images and whose
    uncompressed data lie, whole, right after the first page: tifffile then builds the series
    from the first page without walking the chain of directories."""
    ij = tif.imagej_metadata if tif.is_imagej else None
    if not ij:
        return False
    page = tif.pages.first
    try:
        images = int(ij.get("images", 0))
    except (TypeError, ValueError):
        return False
    offsets = getattr(page, "dataoffsets", ())
    return images > 1 and page.compression == 1 and bool(page.is_contiguous) and len(offsets) > 0 \
        and offsets[0] + images * page.nbytes <= tif.filehandle.size


def _imagej_cut_short(tif, s) -> tuple[str, tuple[int, ...]] | None:
    """Axes and shape of the hyperstack an ImageJ header describes, if tifffile fell back to page 0.

    ImageJ writes all image data contiguously after the first IFD and the other IFDs after
    the data.  A file cut short loses those IFDs and part of the data; tifffile then rejects
    the ImageJ series and offers the first page alone.  When that page is uncompressed and
    contiguous, the planes that remain lie after it, in the order the header gives.  The
    shape is worked out as ``tifffile.TiffFile._series_imagej`` does; None when it does not
    apply.
    """
    ij = tif.imagej_metadata
    if not ij or s.kind == "imagej" or len(s.pages) != 1 or len(tif.pages) != 1:
        return None
    page = s.keyframe
    if page.compression > 1 or s.dataoffset is None or page.shaped[0] > 1:
        return None  # compressed, scattered or separate-sample pages: nothing to map
    try:
        frames, slices, channels, images = (int(ij.get(key, 1)) for key in
                                            ("frames", "slices", "channels", "images"))
    except (TypeError, ValueError):
        return None
    if min(frames, slices, channels, images) < 1:
        return None
    if channels == 1:
        images = frames * slices
    elif images == frames * slices and page.shaped[4] == channels:
        channels = 1  # RGB samples declared as channels
    else:
        images = frames * slices * channels
    axes = _IMAGEJ_ORDER.get(str(ij.get("order", "czt")).lower(), "TZC")
    sizes = {"T": frames, "Z": slices, "C": channels}
    shape = tuple(sizes[a] for a in axes)
    if images <= 1:
        return None
    if images // math.prod(shape) > 1:
        axes, shape = "I" + axes, (images // math.prod(shape), *shape)
    return axes + page.axes, shape + tuple(int(n) for n in page.shape)


def _positive(value) -> bool:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(v) and v > 0


def _tag_pixel_size(page) -> tuple[AxisScale | None, AxisScale | None]:
    """Pixel size from XResolution/YResolution with ResolutionUnit cm or inch."""
    try:
        xres, yres = page.resolution
        unit = int(page.resolutionunit)
    except (AttributeError, TypeError, ValueError):
        return None, None
    if not (_positive(xres) and _positive(yres)):
        return None, None
    if unit == 3:  # centimetre
        return AxisScale(1e4 / yres, "µm"), AxisScale(1e4 / xres, "µm")
    if unit == 2 and xres not in _DEFAULT_DPI:  # inch; 72 dpi and the like are no calibration
        return AxisScale(25400 / yres, "µm"), AxisScale(25400 / xres, "µm")
    return None, None


def _ome_pixels(xml: str, index: int) -> dict | None:
    """The attributes of ``Image[index]/Pixels`` in OME-XML."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(xml)
    except Exception:  # malformed XML is ignored: the pixels still read
        warnings.warn("the OME-XML metadata is malformed and was ignored", MetadataWarning, stacklevel=5)
        return None
    images = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Image"]
    if not images:
        return None
    image = images[min(index, len(images) - 1)]
    for el in image:
        if el.tag.rsplit("}", 1)[-1] == "Pixels":
            return dict(el.attrib)
    return None


def _channel_names(tif) -> list[str]:
    """Channel names of the first OME image (``Pixels/Channel@Name``), if all are given."""
    if not (tif.is_ome and tif.ome_metadata):
        return []
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(tif.ome_metadata)
    except Exception:  # malformed XML: reported where the pixel sizes are read
        return []
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return []
    names = [el.get("Name") for el in pixels if el.tag.rsplit("}", 1)[-1] == "Channel"]
    return [str(n) for n in names] if names and all(names) else []


def _ome_length(px: dict, name: str) -> AxisScale | None:
    if not _positive(px.get(name)):
        return None
    return to_standard(float(px[name]), px.get(name + "Unit", "µm"))


def list_tiff_contents(path) -> list[dict]:
    """What a TIFF file holds, for ``imfun info``: every series with its axes, shape and type."""
    import tifffile

    with _collect_tifffile_log(), tifffile.TiffFile(path) as tif:
        len(tif.pages)  # index the chain first (see TiffReader._parse)
        return [{"option": f"series={i}", "axes": s.axes, "shape": [int(n) for n in s.shape],
                 "dtype": str(s.dtype), "kind": s.kind} for i, s in enumerate(tif.series)]


def open_tiff(source: Source, ch=None, series=0, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_tiff`."""
    return open_planes(TiffReader, source.names[0], ch=ch, series=series, z=z)


__all__ = ["TiffReader", "is_tiff", "open_tiff", "open_tiff_files"]


def multipage_files(src: Source) -> bool:
    """A collection of TIFF files claims this reader when its first file holds several
    pages: each file is then a stack, not one frame."""
    import tifffile

    try:
        with _collect_tifffile_log(), tifffile.TiffFile(src.names[0]) as tif:
            return len(tif.pages) > 1
    except Exception:  # not a readable TIFF: the image reader reports it
        return False


def open_tiff_files(source: Source, ch=None, series=0, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_tiffs`."""
    return concat_files([partial(open_planes, TiffReader, f, ch=ch, series=series, z=z)
                         for f in source.names])


