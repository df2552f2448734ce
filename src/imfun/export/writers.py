"""Writers: a frame sequence to TIFF (ImageJ or OME), HDF5, OME-Zarr and NPY.

Each writer streams the sequence block by block through
``fs.iter_blocks(fslice, crop, budget=budget)`` (so the pipeline is applied and
memory stays near the engine's budget), writes under a temporary name with
:func:`imfun.export.atomic.atomic_target`, and carries the physical axes
(``meta['axes']``, converted to seconds and micrometres) into the format's own
metadata.

``dtype=`` converts the pixels by the rule of :mod:`imfun.dtypes`: a type that
holds every value converts plainly, byte order is never a difference, and a
narrowing conversion (float to integer, to a narrower or unsigned integer)
goes ahead only when the data fit (floats are rounded), else it stops with an
error that gives the data's range.  ``rescale=True`` maps the data's exact
range (``fs.data_range()``, one more pass) linearly onto the range of
``dtype`` (``[0, 1]`` for a float type), ``rescale=(lo, hi)`` a given range,
with values outside it clipped; NaN is refused for integer types.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..axes import AxisScale, to_standard
from ..dtypes import check_cast, check_range, native, range_cast
from ..errors import InvalidArgumentError, UnknownArgumentError
from ..readers.base import require
from .atomic import atomic_target, interrupts_deferred

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

# tifffile switches to BigTIFF above this size (4 GiB minus room for the metadata)
BIGTIFF_THRESHOLD = 2**32 - 2**25

# units as NGFF (OME-Zarr 0.4) spells them
_NGFF_UNITS = {"s": "second", "ms": "millisecond", "µs": "microsecond", "ns": "nanosecond",
               "min": "minute", "h": "hour", "µm": "micrometer", "nm": "nanometer",
               "mm": "millimeter", "cm": "centimeter", "m": "meter", "Å": "angstrom"}
_TIME_UNITS = {"s", "ms", "µs", "ns", "min", "h"}
_LENGTH_UNITS = {"µm", "nm", "mm", "cm", "m", "pm", "Å"}
_IMAGEJ_DTYPES = {np.dtype(t) for t in ("uint8", "uint16", "int16", "float32")}


# -- shared helpers ---------------------------------------------------------------
class Plan:
    """What a writer needs to know before writing: selection, shape, dtype, axes."""

    def __init__(self, fs: FrameSequence, fslice, crop, budget, dtype, rescale=None):
        from ..selection import fslice_positions, normalize_crop

        self.fs = fs
        self.fslice, self.budget = fslice, budget
        self.crop = normalize_crop(crop, fs.frame_shape)
        self.n = len(fslice_positions(fslice, len(fs)))
        self.frame_shape = tuple(fs.shape(self.crop))
        # written in the machine's byte order: '>u2' data are uint16 data
        self.dtype = native(dtype if dtype is not None else fs.dtype)
        if self.dtype.hasobject:
            raise InvalidArgumentError(f"cannot write frames of dtype {self.dtype}")
        self.shape = (self.n, *self.frame_shape)
        self.colour = len(self.frame_shape) == 3
        self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize
        ax = fs.meta["axes"]
        # the frame axis keeps the step between the selected frames
        step = _fslice_step(fslice)
        t = to_standard(ax[0].scale * step, ax[0].unit)
        self.axes = [t, to_standard(*ax[1]), to_standard(*ax[2])]
        # frames per block as the engine reads them: chunks must not be larger
        self.per_block = fs.plan(fslice, self.crop, budget).frames_per_block
        self.rescale = self._rescale_range(rescale, dtype)

    def _rescale_range(self, rescale, dtype) -> tuple[float, float] | None:
        """``(lo, hi)`` to map onto the target type's range, or None (checked conversion)."""
        if rescale is None or rescale is False:
            return None
        if dtype is None:
            raise InvalidArgumentError("rescale= maps the data onto the range of dtype=: give the type "
                                       "too, e.g. dtype='uint8', rescale=True")
        if rescale is True:
            data_range = self.fs.data_range(fslice=self.fslice, crop=self.crop, budget=self.budget)
            lo, hi = np.asarray(data_range, float).T
            return check_range(np.min(lo), np.max(hi))  # colour: one range for all channels
        if not isinstance(rescale, tuple | list) or len(rescale) != 2:
            raise InvalidArgumentError(f"rescale is True (the data's range) or (lo, hi), got {rescale!r}")
        return check_range(*rescale)

    @property
    def frame_is_space(self) -> bool:
        """Whether the frame axis is a length (a z-stack) rather than time."""
        return self.axes[0].unit in _LENGTH_UNITS

    def align_blocks(self, chunk: int) -> None:
        """Shrink the budget so that blocks hold whole chunks of ``chunk`` frames, when possible.

        Then :func:`rechunk` has nothing to copy; it still guards the alignment.
        """
        from .. import config

        per = self.per_block
        if chunk <= 1 or per % chunk == 0 or per < chunk:
            return
        want = per // chunk * chunk
        lo, hi = 1, config.resolve_budget(self.budget)
        while lo < hi:  # the largest budget that gives at most `want` frames per block
            mid = (lo + hi + 1) // 2
            if self.fs.plan(self.fslice, self.crop, mid).frames_per_block <= want:
                lo = mid
            else:
                hi = mid - 1
        if self.fs.plan(self.fslice, self.crop, lo).frames_per_block == want:
            self.budget, self.per_block = lo, want

    def blocks(self, desc: str) -> Iterator[tuple[int, np.ndarray]]:
        """Blocks in the target type: checked (never wrapped) or rescaled (see the module's notes)."""
        for start, block in self.fs.iter_blocks(self.fslice, self.crop, budget=self.budget, desc=desc):
            where = f"frames {start}-{start + len(block) - 1}"
            if self.rescale is not None:
                block = range_cast(block, self.dtype, *self.rescale, where=where)
            else:
                block = check_cast(block, self.dtype, where)
            yield start, block

    def frames(self, desc: str, transpose=None) -> Iterator[np.ndarray]:
        """Frames one by one (native byte order, C-contiguous), read in blocks."""
        for _, block in self.blocks(desc):
            if transpose is not None:
                block = block.transpose(transpose)
            for frame in block:
                yield np.ascontiguousarray(frame)


def _fslice_step(fslice) -> int:
    if isinstance(fslice, slice):
        return abs(fslice.step or 1)
    if isinstance(fslice, tuple | list) and len(fslice) == 3 and fslice[2]:
        return abs(int(fslice[2]))
    return 1


def rechunk(blocks: Iterator[tuple[int, np.ndarray]], chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    """Regroup blocks so each one starts on a multiple of ``chunk`` frames and holds whole chunks.

    Chunked stores then never re-read and re-write a chunk split between two
    blocks.  Only the frames of a chunk split between two blocks are copied.
    """
    carry: np.ndarray | None = None
    carry_start = 0
    for start, block in blocks:
        pos = 0
        if carry is not None:
            need = chunk - len(carry)
            if len(block) < need:
                carry = np.concatenate([carry, block])
                continue
            yield carry_start, np.concatenate([carry, block[:need]])
            carry, pos = None, need
        n_whole = (len(block) - pos) // chunk * chunk
        if n_whole:
            yield start + pos, block[pos:pos + n_whole]
        if pos + n_whole < len(block):
            carry, carry_start = block[pos + n_whole:], start + pos + n_whole
    if carry is not None and len(carry):
        yield carry_start, carry


def _check_extra(name: str, kwargs: dict, allowed=()) -> None:
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise UnknownArgumentError(f"{name}() got unknown keyword argument(s): "
                                   f"{', '.join(map(repr, unknown))}")


def _sources(fs) -> list[Path]:
    return fs.source_paths()


def _imagej_unit(unit: str) -> str:
    return "um" if unit == "µm" else unit


# -- TIFF -------------------------------------------------------------------------
def to_tiff(fs: FrameSequence, path, *, imagej: bool = True, ome: bool = False, compression=None,
            overwrite: bool = False, fslice=None, crop=None, budget=None, dtype=None,
            bigtiff: bool | None = None, rescale=None) -> Path:
    """Write the frames to a multi-page TIFF: an ImageJ hyperstack or an OME-TIFF.

    See :meth:`imfun.export.methods.ExportMixin.to_tiff`.
    """
    import tifffile

    plan = Plan(fs, fslice, crop, budget, dtype, rescale)
    if ome:
        imagej = False
    if imagej and plan.dtype not in _IMAGEJ_DTYPES:
        raise InvalidArgumentError(
            f"an ImageJ hyperstack holds uint8, uint16, int16 or float32 frames, not {plan.dtype}; "
            "pass dtype='float32' to convert, ome=True for an OME-TIFF, or imagej=False")
    t_ax, y_ax, x_ax = plan.axes
    rgb = plan.colour and plan.frame_shape[2] in (3, 4) and (plan.dtype == np.uint8 or not imagej)
    if plan.colour and not rgb:
        # channels that are not RGB go into their own planes: (T, C, Y, X)
        shape = (plan.n, plan.frame_shape[2], *plan.frame_shape[:2])
        transpose, photometric = (0, 3, 1, 2), "minisblack"
        axes = "TCYX"
    else:
        shape, transpose = plan.shape, None
        photometric = "rgb" if rgb else "minisblack"
        axes = "TYXS" if rgb else "TYX"
    if plan.frame_is_space:
        axes = "Z" + axes[1:]
    resolution = None
    if y_ax.unit and y_ax.unit == x_ax.unit:
        resolution = (1.0 / x_ax.scale, 1.0 / y_ax.scale)
    meta: dict[str, Any] = {"axes": axes}
    if imagej:
        if resolution is not None:
            meta["unit"] = _imagej_unit(x_ax.unit)
        if plan.frame_is_space:
            meta["spacing"] = t_ax.scale
        elif t_ax.unit in _TIME_UNITS:
            meta["finterval"] = t_ax.scale
            meta["tunit"] = "sec" if t_ax.unit == "s" else t_ax.unit
    elif ome:
        if resolution is not None:
            meta.update(PhysicalSizeX=x_ax.scale, PhysicalSizeXUnit=x_ax.unit,
                        PhysicalSizeY=y_ax.scale, PhysicalSizeYUnit=y_ax.unit)
        if plan.frame_is_space:
            meta.update(PhysicalSizeZ=t_ax.scale, PhysicalSizeZUnit=t_ax.unit)
        elif t_ax.unit in _TIME_UNITS:
            meta.update(TimeIncrement=t_ax.scale, TimeIncrementUnit=t_ax.unit)
    if bigtiff is None:
        bigtiff = plan.nbytes > BIGTIFF_THRESHOLD
    with atomic_target(path, overwrite=overwrite, sources=_sources(fs)) as tmp, warnings.catch_warnings():
        # ImageJ itself cannot read BigTIFF, Fiji (Bio-Formats) and tifffile can
        warnings.filterwarnings("ignore", message=".*nonconformant BigTIFF ImageJ")
        if compression is None and transpose is None:
            # uncompressed frames are contiguous in the file: fill a memory map block by block
            # uncompressed frames are contiguous: write the header and empty pages, then the data
            offset, _ = tifffile.imwrite(
                tmp, shape=shape, dtype=plan.dtype.newbyteorder("="), bigtiff=bigtiff, imagej=imagej,
                ome=ome, photometric=photometric, resolution=resolution, metadata=meta,
                returnoffset=True)
            _fill_file(tmp, offset, plan.blocks("to_tiff"))
        else:
            with tifffile.TiffWriter(tmp, bigtiff=bigtiff, imagej=imagej, ome=ome) as tif:
                tif.write(plan.frames("to_tiff", transpose), shape=shape, dtype=plan.dtype,
                          photometric=photometric, compression=compression, resolution=resolution,
                          metadata=meta)
    return Path(path)


# -- HDF5 -------------------------------------------------------------------------
def to_hdf5(fs: FrameSequence, path, dataset: str = "data", *, compression=None,
            compression_opts=None, chunks=True, overwrite: bool = False, fslice=None, crop=None,
            budget=None, dtype=None, rescale=None) -> Path:
    """Write the frames to one chunked HDF5 data set with the axes as attributes.

    See :meth:`imfun.export.methods.ExportMixin.to_hdf5`.
    """
    h5py = require("h5py", "hdf5")
    plan = Plan(fs, fslice, crop, budget, dtype, rescale)
    if compression not in (None, "gzip", "lzf", "szip") and not isinstance(compression, int):
        raise InvalidArgumentError(
            f"HDF5 compression is None, 'gzip' (with compression_opts=0..9) or 'lzf', got {compression!r}")
    if not dataset or not isinstance(dataset, str):
        raise InvalidArgumentError(f"dataset must be a name such as 'data', got {dataset!r}")
    if chunks is True:
        chunks = _frame_chunks(plan)
    # a Ctrl-C raised inside h5py's weakref callbacks would be printed and ignored: it is
    # deferred to the next block instead (and to the end), so the write stops and is removed
    with atomic_target(path, overwrite=overwrite, sources=_sources(fs)) as tmp, \
            interrupts_deferred() as interrupts, h5py.File(tmp, "w") as h5:
        ds = h5.create_dataset(dataset, shape=plan.shape, dtype=plan.dtype, chunks=chunks,
                               compression=compression, compression_opts=compression_opts)
        t_ax, y_ax, x_ax = plan.axes
        ds.attrs["imfun_axes"] = "tyxc" if plan.colour else "tyx"
        # one entry per stored axis (the channel axis has no scale)
        scales, units = [t_ax.scale, y_ax.scale, x_ax.scale], [t_ax.unit, y_ax.unit, x_ax.unit]
        if plan.colour:
            scales, units = [*scales, 1.0], [*units, ""]
        ds.attrs["imfun_scales"] = np.array(scales, float)
        ds.attrs["imfun_units"] = units
        if y_ax.unit == x_ax.unit == "µm":
            # what Fiji's HDF5 plugin reads as voxel size (z, y, x)
            dz = t_ax.scale if plan.frame_is_space else 1.0
            ds.attrs["element_size_um"] = np.array([dz, y_ax.scale, x_ax.scale], float)
        step = ds.chunks[0] if ds.chunks else 1
        plan.align_blocks(step)
        for start, block in rechunk(plan.blocks("to_hdf5"), step):
            interrupts.check()
            ds[start:start + len(block)] = block
    return Path(path)


def _frame_chunks(plan: Plan, target_bytes: int = 4 * 1024**2) -> tuple[int, ...]:
    """Chunks of whole frames, several frames per chunk up to about ``target_bytes``."""
    frame_bytes = max(1, int(np.prod(plan.frame_shape)) * plan.dtype.itemsize)
    if frame_bytes > target_bytes:
        # large frames: split rows so that a chunk stays within the target (h5py limit is 4 GiB)
        rows = max(1, target_bytes * plan.frame_shape[0] // frame_bytes)
        return (1, int(rows), *plan.frame_shape[1:])
    # a chunk holds no more frames than a block, so regrouping blocks stays within the budget
    k = max(1, min(plan.n, target_bytes // frame_bytes, plan.per_block))
    return (int(k), *plan.frame_shape)


# -- OME-Zarr ---------------------------------------------------------------------
def ngff_multiscales(plan: Plan, name: str = "") -> list[dict]:
    """The ``multiscales`` attribute of an OME-Zarr 0.4 image with one resolution level."""
    t_ax, y_ax, x_ax = plan.axes

    def axis(name, kind, ax: AxisScale | None):
        entry = {"name": name, "type": kind}
        if ax is not None and ax.unit in _NGFF_UNITS:
            entry["unit"] = _NGFF_UNITS[ax.unit]
        return entry

    frame_kind = "space" if plan.frame_is_space else "time"
    axes = [axis("z" if plan.frame_is_space else "t", frame_kind, t_ax)]
    scale = [t_ax.scale]
    if plan.colour:
        axes.append({"name": "c", "type": "channel"})
        scale.append(1.0)
    axes += [axis("y", "space", y_ax), axis("x", "space", x_ax)]
    scale += [y_ax.scale, x_ax.scale]
    return [{
        "version": "0.4",
        "name": name,
        "axes": axes,
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}],
    }]


def to_zarr(fs: FrameSequence, path, *, overwrite: bool = False, chunks=None, compressors="auto",
            fslice=None, crop=None, budget=None, dtype=None, rescale=None) -> Path:
    """Write the frames as an OME-Zarr (NGFF 0.4) image: a group with the array ``'0'``.

    See :meth:`imfun.export.methods.ExportMixin.to_zarr`.
    """
    zarr = require("zarr", "zarr")
    plan = Plan(fs, fslice, crop, budget, dtype, rescale)
    # NGFF orders axes time, channel, space: colour frames are stored as (t, c, y, x)
    shape = (plan.n, plan.frame_shape[2], *plan.frame_shape[:2]) if plan.colour else plan.shape
    if chunks is None:
        chunks = _frame_chunks(plan)
        if plan.colour:
            chunks = (chunks[0], shape[1], *chunks[1:3])
    chunks = tuple(int(c) for c in chunks)
    if len(chunks) != len(shape) or min(chunks) < 1:
        raise InvalidArgumentError(f"chunks for a {len(shape)}-D array {shape} must be "
                                   f"{len(shape)} positive ints, got {chunks}")
    name = Path(path).name.removesuffix(".zarr").removesuffix(".ome")
    with atomic_target(path, overwrite=overwrite, sources=_sources(fs), directory=True) as tmp:
        group = zarr.open_group(str(tmp), mode="w", zarr_format=2)
        arr = group.create_array("0", shape=shape, chunks=chunks, dtype=plan.dtype,
                                 compressors=compressors,
                                 chunk_key_encoding={"name": "v2", "separator": "/"})
        group.attrs["multiscales"] = ngff_multiscales(plan, name)
        # one write in flight while the next block is read and handed over: zarr encodes the
        # chunks of a call in parallel, and two calls keep the cores busy over each call's tail
        plan.align_blocks(chunks[0])
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imfun-zarr") as pool:
            pending = None
            for start, block in rechunk(plan.blocks("to_zarr"), chunks[0]):
                if plan.colour:
                    block = block.transpose(0, 3, 1, 2)
                job = pool.submit(arr.__setitem__, slice(start, start + len(block)), block)
                if pending is not None:
                    pending.result()
                pending = job
            if pending is not None:
                pending.result()
    return Path(path)


# -- NPY --------------------------------------------------------------------------
def to_npy(fs: FrameSequence, path, *, overwrite: bool = False, fslice=None, crop=None, budget=None,
           dtype=None, rescale=None) -> Path:
    """Write the frames to a ``.npy`` file (a memory map filled block by block).

    See :meth:`imfun.export.methods.ExportMixin.to_npy`.
    """
    plan = Plan(fs, fslice, crop, budget, dtype, rescale)
    with atomic_target(path, overwrite=overwrite, sources=_sources(fs)) as tmp:
        with open(tmp, "wb") as fh:
            header = {"descr": np.lib.format.dtype_to_descr(plan.dtype), "fortran_order": False,
                      "shape": plan.shape}
            np.lib.format.write_array_header_2_0(fh, header)
            offset = fh.tell()
        _fill_file(tmp, offset, plan.blocks("to_npy"))
    return Path(path)


def _fill_file(path: Path, offset: int, blocks: Iterator[tuple[int, np.ndarray]]) -> None:
    """Write blocks one after the other from ``offset`` on (plain writes, faster than a new memory map)."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        for _, block in blocks:
            block = np.ascontiguousarray(block, dtype=block.dtype.newbyteorder("="))
            fh.write(memoryview(block).cast("B"))


def default_path_suffix(path: str | os.PathLike, suffix: str) -> Path:
    """``path`` with ``suffix`` appended when it has no extension."""
    p = Path(path)
    return p if p.suffix else p.with_name(p.name + suffix)
