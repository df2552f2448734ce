"""Regions of interest from files: label images, mask images, ``.npy`` arrays, ImageJ ROIs.

:func:`load_rois` turns any of them into a stack of boolean masks
``(n_rois, rows, cols)`` and a name per ROI, ready for
``fs.multi_mask_reduce(masks)``; :func:`masks_to_labels` makes a label image
for ``fs.labels_reduce`` when the ROIs do not overlap.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import (
    CorruptFileError,
    InvalidArgumentError,
    ShapeMismatchError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from ..readers.base import require

IMAGE_ENDINGS = (".tif", ".tiff", ".png", ".bmp", ".pgm", ".ppm", ".gif")
ROI_ENDINGS = (".roi", ".zip")


def load_rois(path: str | os.PathLike, frame_shape: tuple[int, ...] | None = None, *,
              components: bool = False) -> tuple[np.ndarray, list[str]]:
    """Read ROIs from a file as boolean masks and names.

    Parameters
    ----------
    path : str or path
        - a label image (``.tif``, ``.png`` ...; integers, 0 is background, each
          other value one ROI named by its value);
        - a mask image (bool, or one non-zero value that is 1 or the type's
          largest, e.g. 0/255 in an 8-bit PNG): one ROI named ``'1'``, or one per
          connected component (8-connected) with ``components=True``;
        - a ``.npy`` file: a 2-D label (or mask) image, or a 3-D stack of masks
          ``(n_rois, rows, cols)`` (read without pickles);
        - an ImageJ ROI (``.roi``) or a ROI Manager set (``.zip``): rectangles,
          ovals, polygons and freehand outlines, rasterised on the pixel grid
          (a pixel belongs to the ROI when its centre lies inside the outline,
          as ImageJ fills polygons); names are the ROIs' names.
    frame_shape : tuple or None
        ``(rows, cols)`` of the frames; needed for ImageJ ROIs (which carry no
        image size) and checked against image and ``.npy`` ROIs.
    components : bool
        Split a single mask into its connected components.

    Returns
    -------
    masks : numpy.ndarray
        ``(n_rois, rows, cols)`` bool.
    names : list of str

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> lab = np.zeros((4, 6), np.uint8); lab[:2, :2] = 1; lab[2:, 3:] = 7
    >>> p = os.path.join(tempfile.mkdtemp(), "labels.npy"); np.save(p, lab)
    >>> masks, names = load_rois(p)
    >>> masks.shape, names
    ((2, 4, 6), ['1', '7'])
    """
    path = Path(path)
    if not path.exists():
        raise SourceNotFoundError(f"ROI file {str(path)!r} does not exist")
    ending = path.suffix.lower()
    shape2 = tuple(frame_shape[:2]) if frame_shape is not None else None
    if ending in ROI_ENDINGS:
        if shape2 is None:
            raise InvalidArgumentError("ImageJ ROIs carry no image size: give frame_shape=(rows, cols)")
        return imagej_masks(path, shape2)
    if ending == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise CorruptFileError(f"cannot read ROIs from {str(path)!r}: {exc}") from exc
    elif ending in IMAGE_ENDINGS:
        arr = _read_image(path)
    else:
        raise UnsupportedFormatError(
            f"cannot read ROIs from {path.name!r}: use a label or mask image ({', '.join(IMAGE_ENDINGS)}), "
            f"a .npy array, or an ImageJ .roi/.zip")
    if arr.ndim == 3 and ending == ".npy":
        masks = arr.astype(bool) if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer) else None
        if masks is None:
            raise InvalidArgumentError(f"a 3-D .npy of masks must be bool or integer, got {arr.dtype}")
        _check_shape(masks.shape[1:], shape2, path)
        empty = ~masks.reshape(len(masks), -1).any(axis=1)
        if empty.any():
            first = int(np.flatnonzero(empty)[0])
            raise InvalidArgumentError(f"mask {first} in {path.name} selects no pixels")
        return masks, [str(i + 1) for i in range(len(masks))]
    if arr.ndim != 2:
        raise ShapeMismatchError(f"ROIs in {path.name} must be a 2-D image, got shape {arr.shape}")
    _check_shape(arr.shape, shape2, path)
    return labels_to_masks(arr, components=components, what=path.name)


def _check_shape(shape, frame_shape, path: Path) -> None:
    if frame_shape is not None and tuple(shape) != tuple(frame_shape):
        raise ShapeMismatchError(
            f"the ROIs in {path.name} are {tuple(shape)} but frames are {tuple(frame_shape)}")


def _read_image(path: Path) -> np.ndarray:
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        arr = tifffile.imread(path)
    else:
        import imageio.v3 as iio

        arr = iio.imread(path)
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        # a grey image saved as RGB(A): all colour channels equal
        if not all(np.array_equal(arr[..., 0], arr[..., i]) for i in range(1, 3)):
            raise InvalidArgumentError(
                f"{path.name} is a colour image; save labels or masks as a single-channel image")
        arr = arr[..., 0]
    return arr


def labels_to_masks(arr: np.ndarray, components: bool = False, what: str = "the label image"
                    ) -> tuple[np.ndarray, list[str]]:
    """Masks and names from a label or mask image (see :func:`load_rois`)."""
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)):
            raise InvalidArgumentError(f"{what} must hold integer labels, got {arr.dtype} with fractions")
        arr = arr.astype(np.int64)
    if (arr < 0).any():
        raise InvalidArgumentError(f"{what} holds negative labels")
    values = np.unique(arr[arr > 0])
    if len(values) == 0:
        raise InvalidArgumentError(f"{what} holds no ROIs (all pixels are 0)")
    if components:
        if len(values) > 1:
            raise InvalidArgumentError(
                f"components=True splits a single mask, but {what} holds {len(values)} labels")
        from scipy import ndimage

        comp, n = ndimage.label(arr > 0, structure=np.ones((3, 3), bool))
        return comp[None] == np.arange(1, n + 1)[:, None, None], [str(i + 1) for i in range(n)]
    masks = arr[None] == values[:, None, None]
    if len(values) == 1 and is_mask_value(int(values[0]), arr.dtype):
        return masks, ["1"]  # a binary mask is one ROI, whatever value marks it (255 ...)
    return masks, [str(int(v)) for v in values]


def is_mask_value(value: int, dtype) -> bool:
    """Whether the one non-zero value of an image marks a binary mask: 1 or the largest
    value of its integer type (255 for 8 bits, 65535 for 16 bits), not a label such as 7.

    Examples
    --------
    >>> is_mask_value(255, np.uint8), is_mask_value(7, np.uint8), is_mask_value(1, np.int32)
    (True, False, True)
    """
    return value == 1 or (np.issubdtype(dtype, np.integer) and value == np.iinfo(dtype).max)


def masks_to_labels(masks: np.ndarray) -> np.ndarray:
    """A label image (ROI ``i`` -> value ``i + 1``) from non-overlapping masks."""
    masks = np.asarray(masks, bool)
    if (masks.sum(axis=0) > 1).any():
        raise InvalidArgumentError("the ROIs overlap, so they make no label image; use the masks")
    dtype = np.uint16 if len(masks) < 65535 else np.uint32
    return (masks * np.arange(1, len(masks) + 1, dtype=dtype)[:, None, None]).max(axis=0, initial=0)


def imagej_masks(path: Path, frame_shape: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Rasterise an ImageJ ``.roi`` or ROI-set ``.zip`` (via ``roifile``)."""
    roifile = require("roifile", "rois")
    try:
        rois = roifile.ImagejRoi.fromfile(path)
    except Exception as exc:  # roifile raises plain ValueError/struct errors on bad files
        raise CorruptFileError(f"cannot read ImageJ ROIs from {str(path)!r}: {exc}") from exc
    if not isinstance(rois, list):
        rois = [rois]
    masks, names = [], []
    for i, roi in enumerate(rois):
        name = roi.name or (f"{path.stem}-{i + 1}" if len(rois) > 1 else path.stem)
        mask = imagej_mask(roi, frame_shape, roifile)
        if not mask.any():
            raise InvalidArgumentError(
                f"ROI {name!r} in {path.name} covers no pixel of the {frame_shape} frames")
        masks.append(mask)
        names.append(name)
    if not masks:
        raise InvalidArgumentError(f"{path.name} holds no ROIs")
    return np.stack(masks), names


def imagej_mask(roi, frame_shape: tuple[int, int], roifile=None) -> np.ndarray:
    """The pixels of one ImageJ ROI (pixel centres inside the outline)."""
    roifile = roifile or require("roifile", "rois")
    kind = roi.roitype
    rows, cols = frame_shape
    mask = np.zeros((rows, cols), bool)
    if kind == roifile.ROI_TYPE.RECT and not roi.composite:
        mask[max(roi.top, 0):max(roi.bottom, 0), max(roi.left, 0):max(roi.right, 0)] = True
        return mask
    # the pixel centres of the ROI's bounding box, in ImageJ coordinates (x, y) at pixel corners
    top, left = max(int(np.floor(roi.top)), 0), max(int(np.floor(roi.left)), 0)
    bottom, right = min(int(np.ceil(roi.bottom)) + 1, rows), min(int(np.ceil(roi.right)) + 1, cols)
    if bottom <= top or right <= left:
        return mask
    yy, xx = np.mgrid[top:bottom, left:right]
    cx, cy = xx + 0.5, yy + 0.5
    if kind == roifile.ROI_TYPE.OVAL and not roi.composite:
        a, b = (roi.right - roi.left) / 2, (roi.bottom - roi.top) / 2
        x0, y0 = roi.left + a, roi.top + b
        inside = ((cx - x0) / a) ** 2 + ((cy - y0) / b) ** 2 <= 1.0
    elif kind in (roifile.ROI_TYPE.POLYGON, roifile.ROI_TYPE.FREEHAND, roifile.ROI_TYPE.TRACED) \
            or roi.composite:
        from matplotlib.path import Path as MplPath

        polys = roi.coordinates(multi=True) if roi.composite else [roi.coordinates()]
        pts = np.column_stack([cx.ravel(), cy.ravel()])
        inside = np.zeros(len(pts), bool)
        for poly in polys:
            # even-odd: holes of composite shapes toggle back out
            inside ^= MplPath(np.asarray(poly, float)).contains_points(pts)
        inside = inside.reshape(cx.shape)
    else:
        raise InvalidArgumentError(
            f"ImageJ ROI {roi.name or ''!r} is a {kind.name.lower()}, which encloses no area; "
            f"use rectangles, ovals, polygons or freehand ROIs")
    mask[top:bottom, left:right] = inside
    return mask
