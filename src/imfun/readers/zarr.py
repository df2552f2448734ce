"""Zarr stores (format 2 and 3) and OME-Zarr (NGFF 0.4 and 0.5), read with zarr-python.

Which array
    A store that is an array is read as it is.  In a group, ``array='name'``
    (a path inside the store) chooses; without it the group's one array of 3 or
    more dimensions is read, and several (or none) are a
    :class:`~imfun.errors.DatasetError` that lists them.

OME-Zarr
    A group with ``multiscales`` in its attributes (NGFF 0.4: ``.zattrs``;
    NGFF 0.5: under ``"ome"`` in ``zarr.json``) is an image pyramid: ``level=``
    chooses the resolution (0, the full one, by default).  The axes (names,
    types, units) and the level's ``coordinateTransformations`` scale give the
    stored order and the physical axes, converted to s and µm.  A
    ``bioformats2raw`` layout opens its first image (``0``).  The ``omero``
    channel labels can be given as ``ch='GFP'``.

Axes
    As for HDF5 (see :mod:`imfun.readers.hdf5`): ``axes=`` overrides the stored
    order (``'tyx'``, ``'yxt'``, ``'tczyx'`` ...); frames are ``t`` (or ``z``
    without ``t``); a ``z`` beside ``t`` is fixed at ``z=`` (default 0), a
    channel axis at ``ch=`` (or kept last when ``ch=None``; dropped when it has
    length 1).  Without NGFF metadata, the order comes from the attributes
    ``imfun_axes``/``imfun_scales``/``imfun_units`` (what imfun's writers put
    on an array), else from xarray's ``_ARRAY_DIMENSIONS`` (format 2) or the
    ``dimension_names`` (format 3), else ``tyx``/``tyxc`` by shape.

Reads go straight to the chunks that hold the frames and the crop, so
cropping is cheap and blocks align with the time chunks; zarr reads are
thread-safe.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..axes import AxisScale, checked_scale, to_standard
from ..errors import CorruptFileError, DatasetError, EmptySequenceError, MetadataWarning, SourceNotFoundError
from .base import Crop, Reader, as_slice, require
from .catalog import ZARR_METADATA
from .dims import open_planes
from .hdf5 import Layout, check_axes, check_numeric, default_axes, label_letter, labels_to_axes, plain_attrs
from .registry import Source

# NGFF unit names that imfun.axes does not spell out itself
_NGFF_UNITS = {"angstrom": "Å", "centimeter": "cm", "picometer": "pm", "nanosecond": "ns",
               "minute": "min", "hour": "h", "micrometer": "µm", "millisecond": "ms"}
_NGFF_TYPES = {"time": "t", "channel": "c"}
_MAX_LISTED = 20


def _open_store(path: Path):
    zarr = require("zarr", "zarr")
    if not path.exists():
        raise SourceNotFoundError(f"no such Zarr store: {str(path)!r}")
    try:
        return zarr.open(str(path), mode="r")
    except FileNotFoundError as exc:  # zarr's 'no array or group found' errors derive from it
        raise CorruptFileError(f"{str(path)!r} holds no Zarr array or group (no .zarray, .zgroup "
                               f"or zarr.json): {exc}") from None
    except (ValueError, KeyError, OSError) as exc:
        raise CorruptFileError(f"{str(path)!r} cannot be read as Zarr: {exc}") from None


def _is_array(node) -> bool:
    return hasattr(node, "shape") and hasattr(node, "dtype")


def _attrs(node) -> dict[str, Any]:
    try:
        return dict(node.attrs)
    except Exception as exc:  # unreadable attributes must not stop reading the pixels
        warnings.warn(f"ignored the unreadable attributes of {getattr(node, 'path', node)!r}: {exc}",
                      MetadataWarning, stacklevel=3)
        return {}


def _multiscales(group) -> dict[str, Any] | None:
    """NGFF image metadata of a group: ``{'ms': first multiscale, 'omero': ..., 'version': ...}``."""
    attrs = _attrs(group)
    ome = attrs["ome"] if isinstance(attrs.get("ome"), dict) else attrs  # 0.5 nests under "ome"
    ms = ome.get("multiscales")
    if not (isinstance(ms, list) and ms and isinstance(ms[0], dict) and ms[0].get("datasets")):
        return None
    version = ms[0].get("version") or ome.get("version") or ""
    return {"ms": ms[0], "omero": ome.get("omero"), "version": str(version)}


def _bioformats2raw(group) -> bool:
    attrs = _attrs(group)
    ome = attrs["ome"] if isinstance(attrs.get("ome"), dict) else attrs
    return "bioformats2raw.layout" in ome


def _walk(group, prefix: str = "", depth: int = 0, out=None) -> list[tuple[str, Any]]:
    """Arrays and image groups (with multiscales) below a group: ``(path, node)``."""
    out = [] if out is None else out
    if depth > 6 or len(out) > 200:
        return out
    for name, arr in group.arrays():
        out.append((prefix + name, arr))
    for name, sub in group.groups():
        if _multiscales(sub) is not None:
            out.append((prefix + name, sub))
        else:
            _walk(sub, prefix + name + "/", depth + 1, out)
    return out


def _describe(node) -> str:
    if _is_array(node):
        return f"{tuple(node.shape)} {node.dtype}"
    ms = _multiscales(node)
    return f"OME-Zarr image ({len(ms['ms']['datasets'])} levels)" if ms else "group"


def _listing(items) -> str:
    if not items:
        return "(none)"
    text = ", ".join(f"{path} {_describe(node)}" for path, node in items[:_MAX_LISTED])
    return text + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def _is_frames(node) -> bool:
    if _is_array(node):
        return len(node.shape) >= 3 and np.dtype(node.dtype).kind in "biuf"
    return True  # an OME-Zarr image


def _ngff_unit(unit) -> str:
    u = str(unit or "").strip()
    return _NGFF_UNITS.get(u.lower(), u)


def _ngff_scale(transforms) -> np.ndarray | None:
    if not isinstance(transforms, list):
        return None
    out = None
    for t in transforms:
        if isinstance(t, dict) and t.get("type") == "scale" and isinstance(t.get("scale"), list):
            s = np.asarray(t["scale"], dtype=float)
            out = s if out is None else out * s
    return out


class ZarrReader(Reader):
    """Reads frames from one array of a Zarr store (see the module text for the rules)."""

    thread_safe = True
    cheap_crop = True

    def __init__(self, path, array: str | None = None, level: int = 0, axes: str | None = None,
                 ch=None, z: int | None = None):
        self.path = Path(os.fspath(path))
        self.paths = (str(self.path),)
        root = _open_store(self.path)
        arr, inner, ngff = self._locate(root, array, level)
        self.array = inner
        where = f"array {inner or '/'!r} of {self.path.name}"
        self.metadata: dict[str, Any] = {"array": inner or "/", "chunks": tuple(arr.chunks),
                                         "attrs": plain_attrs(_attrs(arr))}
        fmt = getattr(getattr(arr, "metadata", None), "zarr_format", None)
        if fmt is not None:
            self.metadata["zarr_format"] = fmt
        shape = tuple(int(s) for s in arr.shape)
        letters, scales, channel_names = self._describe(arr, ngff, shape, where)
        if axes is not None:
            letters = check_axes(axes, shape, where)
        letters = letters or default_axes(shape, where)
        self.layout = Layout.make(letters, shape, ch, z, channel_names, source=where)
        self.dims = self.layout.dims
        self.metadata.update(self.layout.selection.metadata())
        self.shape = self.layout.shape
        if self.shape[0] == 0:
            raise EmptySequenceError(f"{where} holds no frames (its '{letters[self.layout.t]}' "
                                     f"axis has length 0)")
        self.dtype = check_numeric(arr.dtype, where)
        self.natural_block = self.layout.natural_block(arr.chunks)
        lay = self.layout
        self.axes = [scales[lay.t] or AxisScale(), scales[lay.y] or AxisScale(),
                     scales[lay.x] or AxisScale()]
        self.metadata["dims"] = letters
        self.source = f"{self.path}" + (f":{inner}" if inner else "")
        self._arr = arr

    # -- finding the array ------------------------------------------------------------
    def _locate(self, root, array, level):
        """The array to read, its path in the store, and NGFF info (or None)."""
        node, inner = root, ""
        if array is not None and str(array).strip("/"):
            inner = str(array).strip("/")
            if _is_array(root):
                raise DatasetError(f"{self.path.name} is a single Zarr array; it has no "
                                   f"member {inner!r} (leave out array=)")
            try:
                node = root[inner]
            except KeyError:
                raise DatasetError(f"{inner!r} does not exist in {self.path.name}; it holds: "
                                   f"{_listing(_walk(root))}") from None
        if _is_array(node):
            self._check_level(level, 1, inner)
            if not inner:  # the path names a level folder of an OME-Zarr image directly
                return node, inner, self._parent_ngff_on_disk()
            return node, inner, self._parent_ngff(root, inner)
        ngff = _multiscales(node)
        if ngff is None and _bioformats2raw(node) and "0" in node:
            node, inner = node["0"], f"{inner}/0".strip("/")
            ngff = _multiscales(node)
        if ngff is None:
            items = _walk(node)
            candidates = [(p, n) for p, n in items if _is_frames(n)]
            where = f"the group {inner or '/'!r} of {self.path.name}"
            if not candidates:
                raise DatasetError(f"{where} holds no array of 3 or more dimensions to read as "
                                   f"frames; it holds: {_listing(items)}")
            if len(candidates) > 1:
                raise DatasetError(f"{where} holds several arrays that could be frames: "
                                   f"{_listing(candidates)}; choose one with "
                                   f"array='{(inner + '/' if inner else '') + candidates[0][0]}'")
            sub, node = candidates[0]
            inner = f"{inner}/{sub}".strip("/")
            if _is_array(node):
                self._check_level(level, 1, inner)
                return node, inner, None
            ngff = _multiscales(node)
        datasets = ngff["ms"]["datasets"]
        self._check_level(level, len(datasets), inner)
        path = str(datasets[level].get("path", ""))
        try:
            arr = node[path]
        except KeyError:
            raise CorruptFileError(f"the OME-Zarr image {inner or '/'!r} of {self.path.name} names "
                                   f"level {level} {path!r}, which does not exist") from None
        ngff["level"] = level
        ngff["levels"] = [str(d.get("path", "")) for d in datasets]
        return arr, f"{inner}/{path}".strip("/"), ngff

    def _check_level(self, level, n_levels, inner):
        if isinstance(level, bool) or not isinstance(level, int | np.integer) \
                or not 0 <= level < n_levels:
            what = f"{n_levels} resolution levels (0..{n_levels - 1})" if n_levels > 1 \
                else "one resolution level (level=0)"
            raise DatasetError(f"level={level!r}: {inner or self.path.name!r} has {what}")

    @staticmethod
    def _parent_ngff(root, inner: str):
        """NGFF info when ``array=`` names one level of an OME-Zarr image directly."""
        if not inner:
            return None
        parent, _, name = inner.rpartition("/")
        try:
            group = root[parent] if parent else root
        except KeyError:
            return None
        ngff = _multiscales(group)
        if ngff is None:
            return None
        paths = [str(d.get("path", "")) for d in ngff["ms"]["datasets"]]
        if name not in paths:
            return None
        ngff["level"] = paths.index(name)
        ngff["levels"] = paths
        return ngff

    def _parent_ngff_on_disk(self):
        parent = self.path.resolve().parent
        if not any((parent / m).is_file() for m in ZARR_METADATA):
            return None
        try:
            group = require("zarr", "zarr").open_group(str(parent), mode="r")
        except Exception:  # not a readable group: read the array without NGFF scales
            return None
        ngff = _multiscales(group)
        if ngff is None:
            return None
        paths = [str(d.get("path", "")) for d in ngff["ms"]["datasets"]]
        if self.path.resolve().name not in paths:
            return None
        ngff["level"] = paths.index(self.path.resolve().name)
        ngff["levels"] = paths
        return ngff

    # -- axes and scales ------------------------------------------------------------------
    def _describe(self, arr, ngff, shape, where):
        ndim = len(shape)
        scales: list[AxisScale | None] = [None] * ndim
        attrs = _attrs(arr)
        if ngff is not None:
            letters, scales, names = self._describe_ngff(ngff, ndim, where)
            if letters is not None:
                return letters, scales, names
        letters = None
        if "imfun_axes" in attrs:
            text = str(attrs["imfun_axes"]).lower()
            letters = text if len(text) == ndim and labels_to_axes(list(text)) else None
        if "imfun_scales" in attrs:
            values = list(attrs["imfun_scales"]) if isinstance(attrs["imfun_scales"], list) else []
            units = attrs.get("imfun_units") or [""] * len(values)
            if len(values) == ndim and len(units) == ndim:
                scales = [checked_scale(v, u, where) for v, u in zip(values, units, strict=True)]
        if letters is None:
            names = attrs.get("_ARRAY_DIMENSIONS") or \
                getattr(getattr(arr, "metadata", None), "dimension_names", None)
            if names and len(names) == ndim and all(names):
                letters = labels_to_axes(list(names))
        return letters, scales, ()

    def _describe_ngff(self, ngff, ndim, where):
        ms = ngff["ms"]
        self.metadata["ngff_version"] = ngff["version"]
        self.metadata["level"] = ngff["level"]
        self.metadata["levels"] = ngff["levels"]
        if ms.get("name"):
            self.metadata["name"] = ms["name"]
        axes = ms.get("axes") or []
        if isinstance(axes, list) and axes and all(isinstance(a, str) for a in axes):  # NGFF 0.3
            axes = [{"name": a} for a in axes]
        scales: list[AxisScale | None] = [None] * ndim
        names = ()
        omero = ngff.get("omero")
        if isinstance(omero, dict) and isinstance(omero.get("channels"), list):
            names = tuple(str(c.get("label", "")) for c in omero["channels"] if isinstance(c, dict))
        if not (isinstance(axes, list) and len(axes) == ndim and all(isinstance(a, dict) for a in axes)):
            warnings.warn(f"ignored the OME-Zarr axes of {where}: they do not match its {ndim} "
                          f"dimensions", MetadataWarning, stacklevel=4)
            return None, scales, names
        letters = []
        for a in axes:
            letter = label_letter(a.get("name")) or _NGFF_TYPES.get(str(a.get("type", "")).lower())
            letters.append(letter or "_")
        text = "".join(letters)
        if not ("y" in text and "x" in text and ("t" in text or "z" in text)) \
                or len(set(text.replace("_", ""))) != len(text.replace("_", "")):
            warnings.warn(f"ignored the OME-Zarr axes {[a.get('name') for a in axes]} of {where}: "
                          f"no y/x axes or repeated axes", MetadataWarning, stacklevel=4)
            return None, scales, names
        datasets = ms["datasets"]
        scale = _ngff_scale(datasets[ngff["level"]].get("coordinateTransformations"))
        global_scale = _ngff_scale(ms.get("coordinateTransformations"))
        if scale is not None and global_scale is not None and len(global_scale) == len(scale):
            scale = scale * global_scale
        if scale is not None and len(scale) == ndim:
            scales = [checked_scale(s, _ngff_unit(a.get("unit")), where)
                      for s, a in zip(scale, axes, strict=True)]
        else:
            scales = [to_standard(1.0, _ngff_unit(a.get("unit"))) if a.get("unit") else None
                      for a in axes]
        return text, scales, names

    # -- reading --------------------------------------------------------------------------
    def _array(self):
        if self._arr is None:
            root = _open_store(self.path)
            self._arr = root[self.array] if self.array else root
        return self._arr

    def _read(self, frames: np.ndarray, crop: Crop) -> np.ndarray:
        arr = self._array()
        # zarr decodes each needed chunk once whatever the selection (measured: a strided slice,
        # an index list and a range-then-pick cost the same), so read the selection as is:
        # basic indexing for a regular run, orthogonal indexing for a list
        sl = as_slice(frames)
        if sl is not None:
            return self.layout.read(arr.__getitem__, sl, crop)
        return self.layout.read(arr.oindex.__getitem__, frames, crop)

    def close(self) -> None:
        # a Zarr store holds no open files between reads; forgetting the array is enough
        self._arr = None


def open_zarr(source: Source, array=None, level=0, axes=None, ch=None, z=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_zarr`."""
    return open_planes(ZarrReader, source.files[0], array, level, axes, ch, z=z)


__all__ = ["ZarrReader", "open_zarr"]
