"""napari writers: image layers to TIFF, OME-Zarr or HDF5 through imfun's atomic writers
(with physical axes), labels layers to a label TIFF or an ImageJ RoiSet.zip.

Each function is an npe2 single-layer writer, ``(path, data, meta) -> [path]``.  The
axes come from the layer's ``metadata['imfun']['axes']`` when it has them (a layer
that imfun's reader opened), else from its ``scale`` and ``units``: frames in s, rows
and columns in µm (a layer without scale or units gets unitless axes).  The target is
written under a temporary name and renamed at the end; napari's save dialog has
already asked before replacing a file.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, ShapeMismatchError

DEFAULT_UNITS = ("s", "µm", "µm")
NO_UNIT = {"", "pixel", "pixels", "px", "none", "dimensionless"}


def layer_axes(meta: dict[str, Any], ndim: int) -> list[tuple[float, str]]:
    """``meta['axes']`` for a layer's frames (t, y, x) from its napari metadata.

    Examples
    --------
    >>> layer_axes({"scale": [0.1, 0.5, 0.5]}, 3)
    [(0.1, 's'), (0.5, 'µm'), (0.5, 'µm')]
    >>> layer_axes({"scale": [1.0, 1.0, 1.0], "units": ["pixel"] * 3}, 3)
    [(1.0, ''), (1.0, ''), (1.0, '')]
    >>> layer_axes({"metadata": {"imfun": {"axes": [[0.2, "s"], [2, "µm"], [2, "µm"]]}}}, 3)
    [(0.2, 's'), (2.0, 'µm'), (2.0, 'µm')]
    """
    stored = (meta.get("metadata") or {}).get("imfun", {}).get("axes")
    if stored is not None:
        return [(float(s), str(u)) for s, u in stored]
    scale = list(meta.get("scale") if meta.get("scale") is not None else [1.0] * ndim)[-3:]
    units = meta.get("units")
    units = [str(u) for u in units][-3:] if units is not None else None
    scale = [1.0] * (3 - len(scale)) + [float(s) for s in scale]
    if units is None:
        plain = all(s == 1.0 for s in scale)
        units = ["" if plain else u for u in DEFAULT_UNITS]
    else:
        units = [""] * (3 - len(units)) + ["" if u.lower() in NO_UNIT else u for u in units]
    return list(zip(scale, units, strict=True))


def as_sequence(data, meta: dict[str, Any]):
    """An :class:`~imfun.fseq.FSeq_arr` over a layer's data (lazy for dask data): 2-D images
    become one frame; RGB(A) layers keep their channels last."""
    from ..fseq import FSeq_arr

    rgb = bool(meta.get("rgb"))
    ndim = len(data.shape) - (1 if rgb else 0)
    if ndim == 2:
        data = data[None]
    elif ndim != 3:
        raise ShapeMismatchError(
            f"imfun writes (frames, rows, cols) image layers; this one has {ndim} dimensions "
            f"{tuple(data.shape)}; slice it to 3 dimensions first")
    return FSeq_arr(data, meta={"axes": layer_axes(meta, 3)})


def _write(method: str, path: str, data, meta: dict[str, Any], **kwargs) -> list[str]:
    fs = as_sequence(data, meta)
    out = getattr(fs, method)(path, overwrite=True, **kwargs)
    return [os.fspath(out)]


def write_tiff(path: str, data: Any, meta: dict) -> list[str]:
    """An image layer as an ImageJ hyperstack TIFF with pixel size and frame interval."""
    return _write("to_tiff", path, data, meta)


def write_zarr(path: str, data: Any, meta: dict) -> list[str]:
    """An image layer as an OME-Zarr store with NGFF axes and units."""
    return _write("to_zarr", path, data, meta)


def write_hdf5(path: str, data: Any, meta: dict) -> list[str]:
    """An image layer as an HDF5 file (data set ``data``, imfun axes attributes)."""
    return _write("to_hdf5", path, data, meta)


def _labels(data) -> np.ndarray:
    lab = np.asarray(data)
    if not np.issubdtype(lab.dtype, np.integer):
        raise InvalidArgumentError(f"a labels layer holds integers, got {lab.dtype}")
    return lab


def write_labels_tiff(path: str, data: Any, meta: dict) -> list[str]:
    """A labels layer as a TIFF of its label image (0 = background), e.g. for
    ``imfun traces --rois``."""
    import tifffile

    from ..export.atomic import atomic_target

    lab = _labels(data)
    with atomic_target(path, overwrite=True) as tmp:
        tifffile.imwrite(tmp, lab, photometric="minisblack")
    return [os.fspath(path)]


def label_outlines(mask: np.ndarray) -> list[np.ndarray]:
    """Closed outlines ``(n, 2)`` in ImageJ's ``(x, y)`` (pixel corners at integers) whose
    even-odd inside holds exactly the pixel centres of ``mask``.

    >>> m = np.zeros((4, 4), bool); m[1:3, 1:3] = True
    >>> [o.shape[1] for o in label_outlines(m)]
    [2]
    """
    import contourpy

    padded = np.pad(mask, 1).astype(np.float64)
    gen = contourpy.contour_generator(z=padded, line_type=contourpy.LineType.Separate)
    # contour vertices sit between pixel centres; pixel (r, c) has its centre at (c + .5, r + .5)
    return [np.asarray(line, np.float64) - 0.5 for line in gen.lines(0.5)]


def _imagej_roi(mask: np.ndarray, name: str):
    import roifile

    outlines = label_outlines(mask)
    if len(outlines) == 1:
        return roifile.ImagejRoi.frompoints(outlines[0].astype(np.float32), name=name)
    roi = roifile.ImagejRoi.frompoints(np.concatenate(outlines).astype(np.float32), name=name)
    path: list[float] = []  # a composite (shape) ROI: one MOVETO ... CLOSE per outline
    for line in outlines:
        path += [0.0, *line[0]]
        for x, y in line[1:]:
            path += [1.0, x, y]
        path.append(4.0)
    roi.roitype = roifile.ROI_TYPE.RECT
    roi.multi_coordinates = np.asarray(path, np.float32)
    roi.shape_roi_size = len(path)
    roi.integer_coordinates = None
    roi.subpixel_coordinates = None
    roi.n_coordinates = 0
    return roi


def write_roiset(path: str, data: Any, meta: dict) -> list[str]:
    """A 2-D labels layer as an ImageJ ROI set (``.zip``), one ROI per label named by its
    value; ``load_rois`` (and ImageJ) give back the same pixels."""
    from ..export.atomic import atomic_target
    from ..readers.base import require

    roifile = require("roifile", "rois")
    lab = _labels(data)
    if lab.ndim != 2:
        raise ShapeMismatchError(f"an ImageJ ROI set is drawn on one frame: give 2-D labels, "
                                 f"not {lab.shape}")
    values = np.unique(lab[lab > 0])
    if len(values) == 0:
        raise InvalidArgumentError("the labels layer holds no labels (all pixels are 0)")
    rois = [_imagej_roi(lab == v, str(v)) for v in values]
    with atomic_target(path, overwrite=True) as tmp:
        roifile.roiwrite(tmp, rois, mode="w")
    return [os.fspath(path)]
