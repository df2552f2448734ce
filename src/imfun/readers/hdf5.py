"""HDF5 files: one array data set read as frames, via h5py.

Which data set
    ``dataset='group/data'`` names it.  Without it, a file holding exactly one
    numeric data set of 3 or more dimensions is read (2-D sets are not
    frames); several candidates (or none) are a
    :class:`~imfun.errors.DatasetError` that lists what the file holds.

Where time is
    ``axes=`` spells the stored order with one letter per dimension: ``t``
    time, ``z`` depth, ``c`` channel, ``y`` rows, ``x`` columns (``'tyx'``,
    ``'yxt'``, ``'tyxc'``, ``'cyxt'``, ``'tzcyx'`` ...).  Frames are ``t``, or
    ``z`` when there is no ``t`` (a z-stack is read plane by plane).  A ``z``
    beside a ``t`` is fixed at ``z=`` (default 0), a ``c`` is fixed at ``ch=``
    or kept as the last frame axis when ``ch=None`` (a channel axis of length
    1 is dropped).  Other axes must have length 1.  The reader always returns
    frames ``(n, rows, cols[, c])``, transposing each block after reading;
    when time is not the first stored axis every read is strided, which is
    slower than a time-first (or time-chunked) layout.

    Without ``axes=``, the order comes from the file, first found wins:

    1. ``imfun_axes`` attribute of the data set (a str such as ``'tyx'``);
    2. HDF5 dimension labels (``ds.dims[i].label``, stored in the
       ``DIMENSION_LABELS`` attribute): single letters or words such as
       ``time``, ``channel``, ``row``, ``width``;
    3. ilastik's ``axistags`` JSON attribute;
    4. an NWB ``ImageSeries``/``TwoPhotonSeries`` ``data`` set: ``(frame, x, y)``;
    5. by shape: 3-D is ``tyx``, 4-D is ``tyxc`` when the last axis has at
       most 4 entries (otherwise pass ``axes=``).

Physical axes
    Per stored dimension, the first source found wins:

    1. ``imfun_scales`` (floats, one per stored axis) with ``imfun_units``
       (strs, one per stored axis, e.g. ``['s', 'µm', 'µm']``) — the attributes
       that :func:`imfun.export` ``to_hdf5`` writes, together with ``imfun_axes``;
    2. attached HDF5 dimension scales: the step between the scale's first two
       values, its ``units`` (or ``unit``) attribute; an irregular time scale
       becomes ``meta['frame_times']``;
    3. ``element_size_um`` (Fiji / ilastik: one µm size per non-channel axis,
       or per axis);
    4. NWB: ``starting_time`` ``rate`` or ``timestamps`` of the series.

    Units are converted to s and µm with :func:`imfun.axes.to_standard`.

The file is opened on the first read and kept open until :meth:`close`;
h5py serialises its calls with a global lock, so the reader declares itself
not thread-safe and the base class serialises reads (no parallelism is lost).
An ``h5py.Dataset`` object given to ``open_seq`` is read as an array
(``FSeq_arr``) with time on axis 0.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..axes import AxisScale, checked_scale, to_standard
from ..errors import (
    CorruptFileError,
    DatasetError,
    EmptySequenceError,
    ImfunError,
    InvalidArgumentError,
    MetadataWarning,
    ShapeMismatchError,
)
from .base import Crop, Reader, as_slice
from .dims import Dims, Selection, open_planes, select
from .files import FileManager
from .registry import Source

# words that label an axis, to the one-letter code used by `axes=`
_LABEL_WORDS = {
    "t": "t", "time": "t", "frame": "t", "frames": "t", "timepoint": "t", "timepoints": "t",
    "z": "z", "depth": "z", "plane": "z", "planes": "z", "slice": "z", "slices": "z",
    "c": "c", "ch": "c", "channel": "c", "channels": "c", "colour": "c", "color": "c", "rgb": "c",
    "y": "y", "row": "y", "rows": "y", "height": "y",
    "x": "x", "col": "x", "cols": "x", "column": "x", "columns": "x", "width": "x",
}
# attributes of the HDF5 dimension-scale machinery (references, labels read through ds.dims)
_HDF5_INTERNAL = {"DIMENSION_LIST", "REFERENCE_LIST", "DIMENSION_LABELS", "CLASS", "NAME"}
_NWB_SERIES = ("ImageSeries", "TwoPhotonSeries", "OnePhotonSeries", "ImageMaskSeries")


def label_letter(label: Any) -> str | None:
    """The axis letter a label stands for (``'time'`` -> ``'t'``), or None if unknown.

    >>> label_letter('Time'), label_letter('channel'), label_letter('wavelength')
    ('t', 'c', None)
    """
    if isinstance(label, bytes):
        label = label.decode("utf-8", "replace")
    if not isinstance(label, str):
        return None
    return _LABEL_WORDS.get(label.strip().lower())


def labels_to_axes(labels: Sequence[Any]) -> str | None:
    """An axes string from per-dimension labels, if every label is known and they make sense."""
    letters = [label_letter(lab) for lab in labels]
    if any(a is None for a in letters):
        return None
    text = "".join(letters)  # type: ignore[arg-type]
    ok = len(set(text)) == len(text) and "y" in text and "x" in text and ("t" in text or "z" in text)
    return text if ok else None


def check_axes(axes: str, shape: tuple[int, ...], source: str) -> str:
    """Validate an ``axes=`` string against a stored shape; return it in lower case."""
    if not isinstance(axes, str):
        raise InvalidArgumentError(f"axes= is a string such as 'tyx' or 'yxt', got {axes!r}")
    text = axes.strip().lower()
    if len(text) != len(shape):
        raise InvalidArgumentError(
            f"axes={axes!r} names {len(text)} axes but {source} has {len(shape)} "
            f"(shape {tuple(shape)}); give one letter per axis, e.g. "
            f"{'tyx' if len(shape) == 3 else 'tyxc'!r}")
    if len(set(text)) != len(text):
        raise InvalidArgumentError(f"axes={axes!r} repeats a letter; each axis appears once")
    if "y" not in text or "x" not in text:
        raise InvalidArgumentError(f"axes={axes!r} must contain 'y' (rows) and 'x' (columns)")
    if "t" not in text and "z" not in text:
        raise InvalidArgumentError(
            f"axes={axes!r} has no frame axis: use 't' for time (or 'z' for a z-stack)")
    return text


def default_axes(shape: tuple[int, ...], source: str) -> str:
    """The stored order assumed when the file does not say: ``tyx`` or ``tyxc``."""
    if len(shape) == 3:
        return "tyx"
    if len(shape) == 4 and shape[-1] <= 4:
        return "tyxc"
    raise ShapeMismatchError(
        f"{source} has shape {tuple(shape)} and no axis labels; say where time is with axes=, "
        f"e.g. axes='tcyx' or axes='tzyx'")


def check_numeric(dtype, where: str) -> np.dtype:
    """Refuse data that are not pixel numbers (strings, compound records, references)."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf":
        raise DatasetError(f"{where} holds values of type {dtype}, not pixel numbers; "
                           f"choose a numeric data set")
    return dtype


@dataclass
class Layout:
    """How stored dimensions map to frames ``(n, rows, cols[, c])``.

    Shared by the HDF5 and Zarr readers: ``key()`` builds the index for the
    stored array, ``arrange()`` transposes what it returns.
    """

    letters: str
    stored_shape: tuple[int, ...]
    t: int
    y: int
    x: int
    c: int | None = None
    fixed: dict[int, int] = field(default_factory=dict)
    perm: tuple[int, ...] = ()
    selection: Selection | None = None
    dims: Dims | None = None
    frame_offset: int = 0

    @classmethod
    def make(cls, letters: str, shape: tuple[int, ...], ch=None, z=None,
             channel_names: Sequence[str] = (), source: str = "data") -> Layout:
        """The layout for ``ch`` and ``z``, by the rules of :mod:`imfun.readers.dims`."""
        dims = Dims({a.upper(): int(n) for a, n in zip(letters, shape, strict=True)}, {},
                    channel_names, source)
        sel = select(dims, ch, z)
        frame = (sel.frame or ("T" if "t" in letters else "Z")).lower()
        lay = cls(letters, tuple(shape), letters.index(frame), letters.index(sel.rows.lower()),
                  letters.index("x"))
        lay.selection, lay.dims = sel, dims
        lay.fixed = {letters.index(a.lower()): v for a, v in sel.fixed.items()}
        # one plane of a z-stack: frame 0 is that plane of the z axis
        lay.frame_offset = lay.fixed.pop(lay.t, 0)
        if sel.channel is not None:
            lay.c = letters.index(sel.channel.lower())
        kept = [i for i in range(len(letters)) if i not in lay.fixed]
        want = [lay.t, lay.y, lay.x] + ([lay.c] if lay.c is not None else [])
        lay.perm = tuple(kept.index(i) for i in want)
        return lay

    @property
    def shape(self) -> tuple[int, ...]:
        return self.selection.shape

    @property
    def time_first(self) -> bool:
        """Whether frames are stored contiguously (time is the first stored axis read)."""
        return self.t == min(i for i in range(len(self.letters)) if i not in self.fixed)

    def key(self, fkey, crop: Crop) -> tuple:
        """The index into the stored array (crops with positive steps only: see :meth:`read`)."""
        key: list[Any] = [slice(None)] * len(self.letters)
        for i, v in self.fixed.items():
            key[i] = v
        if self.frame_offset:
            o = self.frame_offset
            fkey = slice(fkey.start + o, fkey.stop + o, fkey.step) if isinstance(fkey, slice) else fkey + o
        key[self.t] = fkey
        if crop is not None:
            key[self.y], key[self.x] = crop
        return tuple(key)

    def arrange(self, block: np.ndarray) -> np.ndarray:
        if self.perm == tuple(range(len(self.perm))):
            return block
        # a contiguous copy: the engine reduces blocks frame by frame
        return np.ascontiguousarray(block.transpose(self.perm))

    def read(self, getter, fkey, crop: Crop) -> np.ndarray:
        """``getter(key)`` reads the stored array; return frames ``(n, rows, cols[, c])``.

        h5py and zarr refuse negative steps, so a reversed crop is read forwards
        and flipped afterwards.
        """
        flips = []
        if crop is not None:
            forward = []
            for axis, s in enumerate(crop, start=1):
                if s.step is not None and s.step < 0:
                    r = range(s.start, s.stop, s.step)
                    s = slice(r[-1], r[0] + 1, -s.step)
                    flips.append(axis)
                forward.append(s)
            crop = (forward[0], forward[1])
        block = self.arrange(np.asarray(getter(self.key(fkey, crop))))
        if flips:
            index = [slice(None)] * block.ndim
            for axis in flips:
                index[axis] = slice(None, None, -1)
            block = block[tuple(index)]
        return block

    def natural_block(self, chunks) -> int:
        return int(chunks[self.t]) if chunks else 1


def read_chunked(read, frames: np.ndarray, chunk: int) -> np.ndarray:
    """Read sorted unique ``frames`` with ``read(key)`` (key: a slice or an index array).

    A run of consecutive frames, or any selection of a contiguous data set, is
    read as is.  In a chunked data set HDF5 decodes every chunk that a frame
    falls in anyway, and h5py's strided and point selections across chunks are
    slow (measured: 300 random frames of 2000, time chunks of 16, 0.39 s as a
    point selection, 0.05 s like this), so runs of adjacent touched chunks are
    read as ranges and the frames picked from them; a range holds at most about
    ``len(frames)`` frames, so memory stays near one block.
    """
    sl = as_slice(frames)
    if sl is not None and (sl.step in (None, 1) or chunk <= 1):
        return read(sl)
    if chunk <= 1:
        return read(frames)
    origin = int(frames[0]) - int(frames[0]) % chunk
    piece = -(-max(len(frames), chunk) // chunk) * chunk  # frames per range: whole chunks
    chunk_id = frames // chunk
    cuts = np.union1d(np.flatnonzero(np.diff(chunk_id) > 1),  # a chunk without frames
                      np.flatnonzero(np.diff((frames - origin) // piece))) + 1  # the range is full
    parts = []
    for run in np.split(frames, cuts):
        lo = int(run[0])
        parts.append(read(slice(lo, int(run[-1]) + 1))[run - lo])
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def _text_list(value) -> list[str]:
    if isinstance(value, str | bytes):
        return [_text(value)]
    return [_text(v) for v in np.asarray(value).ravel()]


def plain_attrs(attrs, max_size: int = 64) -> dict[str, Any]:
    """Attributes as plain Python values (small ones only; big arrays and references are left out)."""
    out: dict[str, Any] = {}
    for k in attrs:
        if k in _HDF5_INTERNAL:
            continue
        try:
            v = attrs[k]
        except Exception:  # unreadable attribute types (opaque, unsupported)
            continue
        if isinstance(v, bytes):
            v = _text(v)
        elif isinstance(v, np.ndarray):
            if v.size > max_size:
                continue
            if v.dtype.kind in "biuf":
                v = v.tolist()
            elif v.dtype.kind in "SUO" and all(isinstance(x, str | bytes) for x in v.ravel()):
                v = [_text(x) for x in v.ravel()]
            else:
                continue
        elif isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, str | int | float | bool | list):
            out[k] = v
    return out


class HDF5Reader(Reader):
    """Reads frames from one data set of an HDF5 file (see the module text for the rules)."""

    thread_safe = False  # h5py holds a global lock anyway; the base class serialises reads
    cheap_crop = True

    portable_layout = True  # workers read without parsing the headers again

    def __init__(self, path, dataset: str | None = None, axes: str | None = None, ch=None,
                 z: int | None = None):
        h5py = require_h5py()
        self.path = Path(os.fspath(path))
        self.paths = (str(self.path),)
        self._files = FileManager(_open_h5, self.path)
        try:
            fh = h5py.File(self.path, "r")
        except FileNotFoundError:
            from ..errors import SourceNotFoundError

            raise SourceNotFoundError(f"no such HDF5 file: {str(self.path)!r}") from None
        except OSError as exc:
            raise CorruptFileError(f"{str(self.path)!r} cannot be read as HDF5 ({exc}); "
                                   "is it an HDF5 file, and complete?") from None
        with fh:
            ds = find_dataset(fh, dataset, self.path)
            self.dataset = ds.name
            where = f"data set {ds.name!r} of {self.path.name}"
            given = check_axes(axes, ds.shape, where) if axes is not None else None
            letters, scales, extra = describe_dataset(ds, given)
            self.layout = Layout.make(letters, ds.shape, ch, z, source=where)
            self.dims = self.layout.dims
            self.shape = self.layout.shape
            if self.shape[0] == 0:
                raise EmptySequenceError(f"{where} holds no frames (its '{letters[self.layout.t]}' "
                                         f"axis has length 0)")
            self.dtype = check_numeric(ds.dtype, where)
            self.natural_block = self.layout.natural_block(ds.chunks)
            lay = self.layout
            self.axes = [scales[lay.t] or AxisScale(), scales[lay.y] or AxisScale(),
                         scales[lay.x] or AxisScale()]
            self.metadata = {
                "dataset": ds.name, "dims": letters, "chunks": ds.chunks,
                "compression": ds.compression, "attrs": plain_attrs(ds.attrs),
                **self.layout.selection.metadata(),
            }
            for key in ("frame_times", "t0", "axes_guess"):
                if extra.get(key) is not None:
                    self.metadata[key] = extra[key]
        self.source = f"{self.path}:{self.dataset}"

    def _read(self, frames: np.ndarray, crop: Crop) -> np.ndarray:
        with self._files.acquire() as fh:
            ds = fh[self.dataset]
            return read_chunked(lambda fkey: self.layout.read(ds.__getitem__, fkey, crop), frames,
                                self.natural_block)

    def close(self) -> None:
        if hasattr(self, "_files"):
            self._files.close()


def _open_h5(path):
    return require_h5py().File(path, "r")


def require_h5py():
    from .base import require

    return require("h5py", "hdf5")


def _list_datasets(fh) -> list[tuple[str, tuple, str]]:
    """All data sets of a file: (name, shape, dtype)."""
    h5py = require_h5py()
    found: list[tuple[str, tuple, str]] = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            found.append(("/" + name, tuple(obj.shape), str(obj.dtype)))

    fh.visititems(visit)
    return found


def _describe_list(items) -> str:
    if not items:
        return "(none)"
    shown = [f"{n} {s} {d}" for n, s, d in items[:20]]
    more = f", ... ({len(items) - 20} more)" if len(items) > 20 else ""
    return ", ".join(shown) + more


def list_hdf5_contents(path) -> list[dict]:
    """What an HDF5 file holds, for ``imfun info``: every data set with its shape, type and
    (for those that could be frames) the axis letters the reader would use."""
    h5py = require_h5py()
    out = []
    with h5py.File(path, "r") as fh:
        for name, shape, dtype in _list_datasets(fh):
            item = {"option": f"dataset={name}", "shape": list(shape), "dtype": dtype}
            if len(shape) >= 3 and np.dtype(dtype).kind in "biuf":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        item["axes"] = describe_dataset(fh[name])[0]
                    except ImfunError:
                        item["axes"] = "? (give axes=)"
            out.append(item)
    return out


def find_dataset(fh, dataset: str | None, path: Path):
    """The data set named ``dataset``, or the one numeric data set of 3 or more dimensions."""
    h5py = require_h5py()
    if dataset is not None:
        obj = fh.get(str(dataset))
        if isinstance(obj, h5py.Dataset):
            return obj
        everything = _list_datasets(fh)
        what = "is a group, not a data set" if isinstance(obj, h5py.Group) else "does not exist"
        raise DatasetError(f"{str(dataset)!r} {what} in {path.name}; the file holds: "
                           f"{_describe_list(everything)}")
    everything = _list_datasets(fh)
    candidates = [(n, s, d) for n, s, d in everything
                  if len(s) >= 3 and np.dtype(d).kind in "biuf"]
    if len(candidates) == 1:
        return fh[candidates[0][0]]
    if not candidates:
        raise DatasetError(f"{path.name} holds no numeric data set of 3 or more dimensions to read "
                           f"as frames; "
                           f"it holds: {_describe_list(everything)}. Name one with dataset=")
    raise DatasetError(f"{path.name} holds several data sets that could be frames: "
                       f"{_describe_list(candidates)}; choose one with dataset='{candidates[0][0]}'")


_ORDER_ATTRS = ("axes", "dim_order", "dimension_order", "DimensionOrder", "dims", "axis_order", "order")


def _letters_from_scale_names(ds, ndim: int) -> str | None:
    try:
        names = [ds.dims[i][0].name.rsplit("/", 1)[-1] if len(ds.dims[i]) else "" for i in range(ndim)]
    except Exception:  # broken references: the other sources of the order are tried
        return None
    return labels_to_axes(names) if all(names) else None


def _letters_from_attrs(attrs, ndim: int) -> str | None:
    for key in _ORDER_ATTRS:
        if key not in attrs:
            continue
        value = attrs[key]
        items = list(_text(value).strip().lower()) if isinstance(value, str | bytes) or \
            (isinstance(value, np.ndarray) and value.shape == ()) else _text_list(value)
        if len(items) == ndim and labels_to_axes(items):
            return labels_to_axes(items)
    return None


def describe_dataset(ds, given: str | None = None
                     ) -> tuple[str, list[AxisScale | None], dict[str, Any]]:
    """Axis letters, a scale per stored axis (or None) and extras (frame times, t0).

    ``given`` is the user's ``axes=`` (already checked); it beats the file's labels.
    """
    ndim = len(ds.shape)
    attrs = ds.attrs
    what = f"data set {ds.name!r}"
    scales: list[AxisScale | None] = [None] * ndim
    extra: dict[str, Any] = {}
    letters: str | None = given
    values_of: dict[int, tuple[np.ndarray, str]] = {}  # coordinates along an axis, and their unit

    # 1. our own attributes
    if "imfun_axes" in attrs and letters is None:
        text = _text(attrs["imfun_axes"]).lower()
        if len(text) == ndim and labels_to_axes(list(text)):
            letters = text
        else:
            warnings.warn(f"ignored imfun_axes={text!r} of {what} with shape {ds.shape}",
                          MetadataWarning, stacklevel=3)
    if "imfun_scales" in attrs:
        values = np.asarray(attrs["imfun_scales"], dtype=float).ravel()
        units = _text_list(attrs["imfun_units"]) if "imfun_units" in attrs else [""] * len(values)
        if len(values) == ndim and len(units) == ndim:
            scales = [checked_scale(v, u, what) for v, u in zip(values, units, strict=True)]
        else:
            warnings.warn(f"ignored imfun_scales/imfun_units of {what}: they need {ndim} entries",
                          MetadataWarning, stacklevel=3)

    # 2. HDF5 dimension labels and attached dimension scales
    try:
        dim_labels = [ds.dims[i].label for i in range(ndim)]
    except Exception:
        dim_labels = [""] * ndim
    if letters is None and all(dim_labels):
        letters = labels_to_axes(dim_labels)
    for i in range(ndim):
        try:
            if len(ds.dims[i]) == 0:
                continue
            scale_ds = ds.dims[i][0]
            if scale_ds.ndim != 1 or scale_ds.shape[0] < 2 or scale_ds.dtype.kind not in "iuf":
                continue
            values = np.asarray(scale_ds[()], dtype=float)
            unit = next((_text(scale_ds.attrs[k]) for k in ("units", "unit") if k in scale_ds.attrs), "")
        except Exception as exc:  # a broken scale must not stop the reading of the frames
            warnings.warn(f"ignored dimension scale {i} of {what}: {exc}", MetadataWarning,
                          stacklevel=3)
            continue
        if scales[i] is None:
            scales[i] = checked_scale(np.median(np.diff(values)), unit, f"dimension scale {i} of {what}")
        if len(values) == ds.shape[i]:
            values_of[i] = (values, unit)
    if letters is None:  # attached dimension scales named for their axis ('/time', '/x' ...)
        letters = _letters_from_scale_names(ds, ndim)
    if letters is None:  # an attribute spelling the order ('tyx', 'YXT', ['y', 'x', 't'])
        letters = _letters_from_attrs(attrs, ndim)

    # 3. ilastik axistags
    if letters is None and "axistags" in attrs:
        try:
            tags = json.loads(_text(attrs["axistags"]))["axes"]
            letters = labels_to_axes([t["key"] for t in tags]) if len(tags) == ndim else None
        except (ValueError, KeyError, TypeError):
            warnings.warn(f"ignored the unreadable axistags of {what}", MetadataWarning, stacklevel=3)

    # 4. NWB image series: data is (frame, x, y[, z]), times in the series group
    parent = ds.parent
    nwb_type = _text(parent.attrs.get("neurodata_type", "")) if ds.name.endswith("/data") else ""
    if nwb_type in _NWB_SERIES:
        if letters is None and ndim in (3, 4):
            letters = "txy" if ndim == 3 else "txyz"
        if scales[0] is None and "starting_time" in parent:
            rate = parent["starting_time"].attrs.get("rate")
            if rate is not None and float(rate) > 0:
                scales[0] = AxisScale(1.0 / float(rate), "s")
                t0 = float(parent["starting_time"][()])
                if t0:
                    extra["t0"] = t0
        if 0 not in values_of and "timestamps" in parent:
            values_of[0] = (np.asarray(parent["timestamps"][()], dtype=float), "s")

    labelled = letters is not None
    letters = letters or default_axes(ds.shape, what)
    if not labelled:
        extra["axes_guess"] = (f"the file does not name the axes of {what} {tuple(ds.shape)}; they were "
                               f"taken as {letters!r} (time first). If time is another axis, open with "
                               f"axes=..., e.g. axes={'yxt' if len(letters) == 3 else 'yxct'!r}")
    frame_axis = letters.index("t" if "t" in letters else "z")

    # 5. Fiji / ilastik element_size_um: µm per non-channel axis (or per axis); Fiji's
    # unlabelled 3-D data are z-stacks, so then the frame axis gets a µm step too
    if "element_size_um" in attrs:
        sizes = np.asarray(attrs["element_size_um"], dtype=float).ravel()
        spatial = [i for i, a in enumerate(letters) if a != "c"]
        if len(sizes) == len(spatial):
            targets = spatial
        elif len(sizes) == ndim:
            targets = list(range(ndim))
        else:
            targets = spatial[-len(sizes):] if len(sizes) < len(spatial) else []
        for i, s in zip(targets, sizes, strict=False):
            if scales[i] is None and not (labelled and letters[i] in "tc"):
                scales[i] = checked_scale(s, "µm", f"element_size_um of {what}")

    if frame_axis in values_of:
        values, unit = values_of[frame_axis]
        factor = to_standard(1.0, unit)
        if factor.unit == "s" and len(values) == ds.shape[frame_axis]:
            times = values * factor.scale
            steps = np.diff(times)
            if len(steps) and not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
                extra["frame_times"] = times
            elif times[0] != 0:
                extra["t0"] = float(times[0])
    return letters, scales, extra


def open_hdf5(source: Source, dataset=None, axes=None, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_hdf5`."""
    return open_planes(HDF5Reader, source.files[0], dataset, axes, ch, z=z)


__all__ = [
    "HDF5Reader", "Layout", "check_axes", "default_axes", "label_letter", "labels_to_axes", "open_hdf5"
]
