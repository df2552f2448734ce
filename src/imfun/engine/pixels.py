"""Per-pixel work on time-contiguous tiles of pixels.

A tile is a rectangle of pixels with all selected frames: ``(T, h, w[, c])``.
Tiles are cut from one of three stores, chosen by :class:`PixelTiles`:

- the whole selection in memory, when it fits the budget;
- the reader itself, when it crops cheaply (memory maps, chunked stores) and
  there is no pipeline, so each tile reads only its pixels;
- otherwise a temporary memory-mapped copy made in one pass (a pipeline or a
  compressed format would otherwise be decoded again for every tile).
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable

import numpy as np

from ..errors import InvalidArgumentError, ShapeMismatchError
from ..selection import compose_crops, crop_shape, fslice_positions, normalize_crop
from .blocks import default_workers, ordered_map, spans
from .progress import progress


def accepts_axis(fn: Callable) -> bool:
    """Whether ``fn`` takes an ``axis`` keyword (numpy reductions do)."""
    try:
        return "axis" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _unnamed_file() -> int:
    """A descriptor of a new file that has no name (or no longer has one): nothing is left behind."""
    folder = os.environ.get("IMFUN_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
    try:  # Linux: a file that never has a name, without importing tempfile (and shutil, bz2, lzma)
        return os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here, or not on this file system
        import tempfile

        fd, name = tempfile.mkstemp(prefix="imfun-", suffix=".raw", dir=os.environ.get("IMFUN_TMPDIR"))
        os.unlink(name)
        return fd


def temp_memmap(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A writable memory map on an unnamed temporary file: no file is left behind."""
    fd = _unnamed_file()
    try:
        nbytes = max(int(np.prod(shape)) * np.dtype(dtype).itemsize, 1)
        os.ftruncate(fd, nbytes)
        with open(fd, "r+b", closefd=False) as fh:
            return np.memmap(fh, dtype=dtype, mode="r+", shape=shape)
    finally:
        os.close(fd)


def result_array(shape: tuple[int, ...], dtype, budget: int | None = None) -> np.ndarray:
    """Room for a result: in memory when it fits the memory budget (the configured one
    when ``budget`` is None), else a temporary memory-mapped file.

    The file is unlinked as soon as it is mapped, so it never shows in its folder
    (``IMFUN_TMPDIR``, else the system's temporary folder) and its disk space is
    given back when the array is garbage-collected.  Its pages are the page
    cache's, written back and dropped by the system as needed: they are not
    part of the process's anonymous memory.
    """
    from .. import config

    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes <= config.resolve_budget(budget):
        return np.zeros(shape, dtype)
    return temp_memmap(shape, dtype)


# every tile in flight (read ahead, or worked on in a thread) is held in the work dtype
# with about two temporaries of the function applied to it ((v - m) / m makes two)
COPIES_PER_TILE = 3


def plan_tiles(n_frames: int, frame_shape: tuple[int, ...], itemsize: int, budget: int,
               min_tiles: int = 1, work_itemsize: int = 8, in_flight: int = 2) -> list[tuple[slice, slice]]:
    """Rectangles ``(rows, cols)`` of a frame, each holding all frames within the
    budget (``in_flight`` tiles alive at once): bands of whole rows where they fit
    (contiguous in every frame), else pieces of one row; at least ``min_tiles`` of
    them when the frame has enough rows."""
    rows, cols = frame_shape[:2]
    per_value = itemsize + in_flight * COPIES_PER_TILE * work_itemsize
    per_pixel = n_frames * per_value * int(np.prod(frame_shape[2:]))
    tile_pixels = max(1, budget // max(per_pixel, 1))
    if min_tiles > 1:
        tile_pixels = min(tile_pixels, max(cols, math.ceil(rows / min_tiles) * cols))
    if tile_pixels >= cols:
        band = min(rows, tile_pixels // cols)
        return [(slice(r, min(r + band, rows)), slice(0, cols)) for r in range(0, rows, band)]
    return [(slice(r, r + 1), slice(c, min(c + tile_pixels, cols)))
            for r in range(rows) for c in range(0, cols, tile_pixels)]


class PixelTiles:
    """Time-contiguous tiles of the frames selected by ``fslice`` and ``crop``."""

    def __init__(self, seq, fslice, crop, budget: int, materialize: bool = False,
                 work_itemsize: int = 8, in_flight: int = 2):
        self.seq = seq
        self.fslice = fslice
        self.crop = normalize_crop(crop, seq.frame_shape)
        self.n_frames = len(fslice_positions(fslice, len(seq)))
        self.frame_shape = crop_shape(self.crop, seq.frame_shape)
        self.shape = (self.n_frames, *self.frame_shape)
        itemsize = seq.dtype.itemsize
        nbytes = int(np.prod(self.shape)) * itemsize
        self.budget = budget
        self.store = None
        if nbytes <= budget // 2:
            self.store = seq.as3darray(fslice, self.crop, dtype=None, budget=budget)
        elif materialize or seq.fns or not seq.reader.cheap_crop:
            self.store = temp_memmap(self.shape, seq.dtype)
            for start, block in seq.iter_blocks(fslice, self.crop, budget=budget):
                self.store[start:start + len(block)] = block
        self.work_itemsize = work_itemsize
        self.in_flight = in_flight

    def tiles(self) -> list[tuple[slice, slice]]:
        """Rectangles ``(rows, cols)`` within the cropped frame, each within the budget."""
        return plan_tiles(self.n_frames, self.frame_shape, self.seq.dtype.itemsize, self.budget,
                          work_itemsize=self.work_itemsize, in_flight=self.in_flight)

    def read(self, rows: slice, cols: slice, dtype=None, out: np.ndarray | None = None) -> np.ndarray:
        """The tile ``(T, h, w[, c])``, converted to ``dtype`` as it is read (a private copy
        when ``dtype`` is given), into ``out`` when given."""
        if self.store is not None:
            tile = np.asarray(self.store[:, rows, cols])
            if out is not None:
                out[...] = tile
                return out
            return tile if dtype is None else tile.astype(dtype)
        tile = (slice(rows.start, rows.stop, 1), slice(cols.start, cols.stop, 1))
        tile_crop = compose_crops(self.crop, tile)
        if out is None:
            out = np.empty((self.n_frames, rows.stop - rows.start, cols.stop - cols.start,
                            *self.frame_shape[2:]), dtype or self.seq.dtype)
        for start, block in self.seq.iter_blocks(self.fslice, tile_crop, budget=self.budget):
            out[start:start + len(block)] = block
        return out

    def fill(self, out: np.ndarray, workers: int) -> None:
        """Every selected frame into ``out`` (converted to its dtype), blocks of frames in threads."""
        if self.store is not None:
            def copy(start, stop):
                out[start:stop] = self.store[start:stop]

            runs = spans(self.n_frames, 64)
        else:
            # blocks go straight into out: they need no working copy of their own
            positions, crop, per_block = self.seq.plan(self.fslice, self.crop, self.budget,
                                                       in_flight=workers + 1, work_itemsize=0)

            def copy(start, stop):
                out[start:stop] = self.seq._read_positions(positions[start:stop], crop)

            runs = spans(len(positions), per_block)
        for _ in ordered_map(copy, runs, workers):
            pass

    def pixel(self, row: int, col: int) -> np.ndarray:
        return np.asarray(self.store[:, row, col])


def _workers(vectorized: bool) -> int:
    # numpy work on tiles runs in parallel threads; a Python function called per pixel
    # would only contend for the GIL, so it gets one thread that works ahead of the writes
    return default_workers() if vectorized else 1


def time_project(seq, fslice, fn: Callable, crop, budget: int) -> np.ndarray:
    """Apply ``fn(vector) -> scalar`` to every pixel's float64 time vector."""
    vectorised = accepts_axis(fn)
    workers = _workers(vectorised)
    tiles = PixelTiles(seq, fslice, crop, budget, in_flight=workers + 1)

    def task(rows, cols):
        tile = tiles.read(rows, cols, np.float64)  # float64, as the reference's as3darray
        res = np.asarray(fn(tile, axis=0)) if vectorised else np.apply_along_axis(fn, 0, tile)
        if res.shape != tile.shape[1:]:
            raise ShapeMismatchError(
                f"time_project: fn must reduce a pixel's time vector to a scalar, but it returned "
                f"shape {res.shape[len(tile.shape[1:]) - 1:] if vectorised else res.shape} per tile")
        return res

    out = None
    # on a terminal, progress in frames' worth of pixels (frames/s as for the other reductions)
    n_pixels, done, shown = math.prod(tiles.frame_shape[:2]), 0, 0
    with progress(tiles.n_frames, "time_project") as bar:
        for (rows, cols), res in ordered_map(task, tiles.tiles(), workers):
            if out is None:
                out = np.empty(tiles.frame_shape, res.dtype)
            out[rows, cols] = res
            done += res.shape[0] * res.shape[1]
            bar.update(tiles.n_frames * done // n_pixels - shown)
            shown = tiles.n_frames * done // n_pixels
    return out


def _check_pmask(pmask, frame_shape) -> np.ndarray | None:
    if pmask is None:
        return None
    m = np.asarray(pmask)
    if m.shape != tuple(frame_shape[:2]):
        raise ShapeMismatchError(f"pmask has shape {m.shape} but (cropped) frames are {frame_shape[:2]}")
    if m.dtype != bool:
        raise InvalidArgumentError(f"pmask must be a boolean array, got {m.dtype}")
    return m


def pix_iter(seq, pmask, fslice, rand: bool, crop, dtype, budget: int):
    """Yield ``(v, row, col)`` for each pixel (in a random order when ``rand``)."""
    tiles = PixelTiles(seq, fslice, crop, budget, materialize=rand)
    mask = _check_pmask(pmask, tiles.frame_shape)
    if rand:
        rows, cols = np.nonzero(mask) if mask is not None else \
            np.unravel_index(np.arange(tiles.frame_shape[0] * tiles.frame_shape[1]), tiles.frame_shape[:2])
        order = np.random.default_rng().permutation(len(rows))
        for i in order:
            r, c = int(rows[i]), int(cols[i])
            yield tiles.pixel(r, c).astype(dtype, copy=False), r, c
        return
    for trows, tcols in tiles.tiles():
        tile = tiles.read(trows, tcols).astype(dtype, copy=False)
        sub = mask[trows, tcols] if mask is not None else None
        for r in range(tile.shape[1]):
            for c in range(tile.shape[2]):
                if sub is None or sub[r, c]:
                    yield tile[:, r, c], trows.start + r, tcols.start + c


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays are the very same elements in the same layout."""
    return a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype and \
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]


def _apply(pwfn: Callable, tile: np.ndarray, vectorized: bool) -> np.ndarray:
    """pwfn on every pixel of a tile ``(T, h, w[, c])``: ``(T', h, w[, c])``."""
    h, w = tile.shape[1], tile.shape[2]
    if vectorized:
        flat = tile.reshape(tile.shape[0], -1)
        res = np.asarray(pwfn(flat))
        if res.ndim != 2 or res.shape[1] != flat.shape[1]:
            raise ShapeMismatchError(
                f"pw_transform(vectorized=True): pwfn must map a (T, n_pixels) array to "
                f"(T', n_pixels); got {flat.shape} -> {res.shape}")
        return res.reshape(res.shape[0], h, w, *tile.shape[3:])
    res = None
    for r in range(h):
        for c in range(w):
            v = np.asarray(pwfn(tile[:, r, c]))
            if res is None:
                res = np.zeros((v.shape[0], h, w, *v.shape[1:]), v.dtype)
            res[:, r, c] = v
    return res


def pw_transform(seq, pwfn: Callable, verbose: bool, vectorized: bool, pmask, fslice, crop,
                 dtype, budget: int) -> np.ndarray:
    """``out[:, r, c] = pwfn(v)`` for every pixel; returns ``(T', rows, cols[, c])``.

    ``v`` is given as ``dtype`` (float64 by default, as ``pix_iter`` yields it), a
    private copy.  Once the first tile shows that a vectorized ``pwfn`` keeps the
    length and the dtype, every frame is read straight into the result (frame by
    frame: the fastest conversion) and the remaining tiles are transformed there,
    in bands as large as their temporaries allow: a function that works in place
    costs no extra pass over the data.
    """
    work = np.dtype(dtype or np.float64)
    workers = _workers(vectorized)
    tiles = PixelTiles(seq, fslice, crop, budget, work_itemsize=work.itemsize, in_flight=workers + 1)
    mask = _check_pmask(pmask, tiles.frame_shape)
    n_pixels = tiles.frame_shape[0] * tiles.frame_shape[1]
    planned = tiles.tiles()

    def transform(rows, cols, tile):
        res = _apply(pwfn, tile, vectorized)
        if mask is not None:
            h, w = tile.shape[1], tile.shape[2]
            res = np.where(mask[rows, cols].reshape(1, h, w, *([1] * (res.ndim - 3))), res, 0)
        return res

    with progress(n_pixels, "pw_transform", enable=bool(verbose), unit="px") as bar:
        rows0, cols0 = planned[0]
        first = transform(rows0, cols0, tiles.read(rows0, cols0, work))
        out = result_array((first.shape[0], *tiles.frame_shape), first.dtype, budget)
        in_place = vectorized and mask is None and first.shape[0] == tiles.n_frames and \
            first.dtype == work and cols0.stop - cols0.start == tiles.frame_shape[1]
        if in_place:
            tiles.fill(out, workers)
            rest = in_place_bands(tiles, rows0.stop, work.itemsize, workers)
        else:
            rest = planned[1:]
        out[:, rows0, cols0] = first
        bar.update(first.shape[1] * first.shape[2])

        def task(rows, cols):
            return transform(rows, cols, out[:, rows, cols] if in_place else tiles.read(rows, cols, work))

        # tiles are transformed in threads; results are placed here, in order
        for (rows, cols), res in ordered_map(task, rest, workers):
            if res.shape[0] != out.shape[0]:
                raise ShapeMismatchError("pw_transform: pwfn returned vectors of different lengths")
            target = out[:, rows, cols]
            if not _same_view(res, target):  # a tile transformed in place is there already
                target[...] = res  # numpy copies first where res overlaps target otherwise
            bar.update(res.shape[1] * res.shape[2])
    return out


def in_place_bands(tiles: PixelTiles, row0: int, itemsize: int, workers: int) -> list[tuple[slice, slice]]:
    """Bands of whole rows from ``row0`` on, for tiles transformed inside the result: only the
    function's temporaries take memory (the tile itself is the result's), so bands are larger
    and their rows longer runs in memory, which numpy streams faster."""
    rows, cols = tiles.frame_shape[:2]
    channels = int(np.prod(tiles.frame_shape[2:]))
    per_pixel = tiles.n_frames * (COPIES_PER_TILE - 1) * workers * itemsize * channels
    band = max(1, min(rows, tiles.budget // max(per_pixel * cols, 1)))
    return [(slice(r, min(r + band, rows)), slice(0, cols)) for r in range(row0, rows, band)]
