"""Scale-out methods of ``FrameSequence`` (dask arrays, xarray), mixed into the class.

The dask array's tasks read their chunk through the sequence's reader in the
worker that runs them: the graph holds the (small, picklable) sequence once and
one ``(read, seq, start, stop, rows, cols)`` task per chunk, never pixels.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np

from .. import config
from ..errors import InvalidArgumentError
from ..readers.base import require

_TIME_UNITS = {"h", "min", "s", "ms", "µs", "ns"}


def read_chunk(seq, t0: int, t1: int, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Positions ``t0:t1`` of a sequence, rows ``r0:r1`` and columns ``c0:c1`` of each
    frame, pipeline applied (the task of every chunk of :meth:`DaskMixin.to_dask`)."""
    rows, cols = seq.frame_shape[:2]
    crop = None if (r0, r1, c0, c1) == (0, rows, 0, cols) else (slice(r0, r1, 1), slice(c0, c1, 1))
    return seq._read_positions(np.arange(t0, t1), crop)


def _bounds(sizes) -> list[tuple[int, int]]:
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _sizes(runs) -> tuple[int, ...]:
    return tuple(b - a for a, b in runs)


class DaskMixin:
    """Methods that hand a sequence to dask or xarray."""

    def _dask_chunks(self, chunks, budget) -> tuple[tuple[int, ...], ...]:
        """Resolve ``to_dask``'s ``chunks`` into dask's tuple-of-tuples (channels whole)."""
        from ..engine.pixels import plan_tiles
        from .engine import block_runs, n_slots, resolve_client

        n, shape = len(self), self.frame_shape
        rows, cols = shape[:2]
        budget = config.resolve_budget(budget)
        tail = tuple((s,) for s in shape[2:])
        if chunks is None:
            positions, _, per_block = self.plan(None, None, budget)
            frame_nbytes = int(np.prod(shape)) * self.dtype.itemsize
            runs = block_runs(self, positions, per_block, min_blocks=n_slots(resolve_client(None)),
                              frame_nbytes=frame_nbytes, budget=budget)
            return (_sizes(runs), (rows,), (cols,), *tail)
        if isinstance(chunks, str) and chunks == "pixels":
            tiles = plan_tiles(n, shape, self.dtype.itemsize, budget)
            row_sizes = tuple(dict.fromkeys((r.start, r.stop) for r, _ in tiles))
            col_sizes = tuple(dict.fromkeys((c.start, c.stop) for _, c in tiles))
            return ((n,), _sizes(row_sizes), _sizes(col_sizes), *tail)
        if isinstance(chunks, int | np.integer) and not isinstance(chunks, bool):
            if chunks < 1:
                raise InvalidArgumentError(f"chunks={chunks}: the frames per chunk must be >= 1")
            return (_sizes([(a, min(a + int(chunks), n)) for a in range(0, n, int(chunks))]),
                    (rows,), (cols,), *tail)
        from dask.array.core import normalize_chunks

        if isinstance(chunks, tuple | list):
            if len(chunks) > 1 + len(shape):
                raise InvalidArgumentError(
                    f"chunks={chunks!r} has {len(chunks)} entries but the frames have {1 + len(shape)} "
                    "axes (t, y, x[, c])")
            given = list(chunks)[:3]
            # axes not given are whole; channels are always whole
            chunks = (*given, *([-1] * (3 - len(given))), *([-1] * (len(shape) - 2)))
        elif not isinstance(chunks, dict | str):
            raise InvalidArgumentError(
                f"chunks must be None, 'pixels', an int (frames per chunk), a tuple or a dict as "
                f"dask takes them, got {chunks!r}")
        try:
            out = normalize_chunks(chunks, (n, *shape), limit=max(budget // 4, 1), dtype=self.dtype)
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise InvalidArgumentError(f"chunks={chunks!r} do not fit the shape {(n, *shape)}: {exc}") \
                from None
        return (*out[:3], *tail)

    def to_dask(self, chunks=None, *, budget=None):
        """Return the frames as a lazy ``dask.array.Array`` ``(n, rows, cols[, c])``.

        Each chunk is a task that reads its frames through this sequence's reader
        in the worker that runs it (the file is reopened there), with the pipeline
        applied; the graph holds no pixel data.  Use it for anything dask does, for
        instance distributed writing: ``fs.to_dask().to_zarr('out.zarr')`` or
        ``dask.array.store``.

        Parameters
        ----------
        chunks : None, int, 'pixels', tuple or dict
            ``None`` (default): whole frames, runs of frames aligned with the
            reader's natural blocks and sized by the memory budget (at least one
            chunk per worker thread).  An int: that many whole frames per chunk.
            ``'pixels'``: time-contiguous chunks (all frames, tiles of pixels within
            the budget) for per-pixel work.  A tuple or dict as dask's ``chunks``
            (``-1`` whole axis, ``'auto'`` sized by a quarter of the budget); colour
            channels always stay in one chunk.
        budget : int or str, optional
            The memory budget that sizes chunks (default: :func:`imfun.config.get_budget`).

        Returns
        -------
        dask.array.Array

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.arange(60.0).reshape(15, 2, 2))
        >>> arr = fs.to_dask(chunks=4)
        >>> arr.chunks[0], float(arr.mean().compute())
        ((4, 4, 4, 3), 29.5)
        """
        require("dask.array", "dask", "dask")
        import dask.array as da
        from dask.highlevelgraph import HighLevelGraph

        shape, dtype = (len(self), *self.frame_shape), self.dtype
        want = self._dask_chunks(chunks, budget)
        spatial_split = len(want[1]) > 1 or len(want[2]) > 1
        # a tile of a compressed file or a pipelined sequence costs whole frames: read whole
        # frames once, then let dask cut the tiles
        direct = not spatial_split or (self.reader.cheap_crop and not self.fns)
        read = want if direct else (want[0], (shape[1],), (shape[2],), *want[3:])
        tag = os.urandom(16).hex()
        name, seq_key = f"imfun-frames-{tag}", f"imfun-seq-{tag}"
        dsk: dict[Any, Any] = {seq_key: self}
        extra = (0,) * (len(shape) - 3)
        for i, (t0, t1) in enumerate(_bounds(read[0])):
            for j, (r0, r1) in enumerate(_bounds(read[1])):
                for k, (c0, c1) in enumerate(_bounds(read[2])):
                    dsk[(name, i, j, k, *extra)] = (read_chunk, seq_key, t0, t1, r0, r1, c0, c1)
        graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
        arr = da.Array(graph, name, chunks=read, dtype=dtype, meta=np.empty((0,) * len(shape), dtype))
        return arr if direct else arr.rechunk(want)

    def to_xarray(self, chunks=None, *, budget=None, name: str | None = None):
        """Return the frames as a lazy ``xarray.DataArray`` with physical coordinates.

        Dimensions are ``('t', 'y', 'x')`` (``('t', 'y', 'x', 'c')`` for colour).
        ``t`` holds :meth:`frame_idx` (time stamps when the frame axis has a
        unit), ``y`` and ``x`` the pixel index times the pixel size from
        ``meta['axes']``; each coordinate's ``attrs['units']`` holds its unit and
        the array's ``attrs`` hold ``t_units``, ``y_units``, ``x_units`` and the
        scales.  The data are dask-backed (see :meth:`to_dask` for ``chunks``).

        Examples
        --------
        >>> import numpy as np
        >>> from imfun.fseq import FSeq_arr
        >>> fs = FSeq_arr(np.zeros((4, 2, 3)), meta={'axes': [(0.5, 's'), (0.2, 'um'), (0.2, 'um')]})
        >>> xa = fs.to_xarray()
        >>> xa.dims, xa.t.values.tolist(), xa.x.attrs['units']
        (('t', 'y', 'x'), [0.0, 0.5, 1.0, 1.5], 'µm')
        """
        xr = require("xarray", "dask", "xarray")
        data = self.to_dask(chunks, budget=budget)
        axes = self.meta["axes"]
        (dt, tu), (dy, yu), (dx, xu) = axes[0], axes[1], axes[2]
        rows, cols = self.frame_shape[:2]

        def attrs(unit, long_name):
            return {"units": unit, "long_name": long_name} if unit else {"long_name": long_name}

        t_name = "time" if tu in _TIME_UNITS else ("frame" if not tu else "position")
        coords: dict[str, Any] = {
            "t": ("t", np.asarray(self.frame_idx(), dtype=float if tu else np.intp), attrs(tu, t_name)),
            "y": ("y", np.arange(rows) * dy, attrs(yu, "y")),
            "x": ("x", np.arange(cols) * dx, attrs(xu, "x")),
        }
        dims = ["t", "y", "x"]
        if len(self.frame_shape) == 3:
            dims.append("c")
            nc = self.frame_shape[2]
            names = self.meta.get("channel_names")
            labels = [str(v) for v in names] if isinstance(names, list | tuple) and len(names) == nc \
                else list(range(nc))
            coords["c"] = ("c", labels, {"long_name": "channel"})
        info = {"t_units": tu, "y_units": yu, "x_units": xu,
                "t_scale": float(dt), "y_scale": float(dy), "x_scale": float(dx),
                "source": str(self.reader.source)}
        if name is None:
            name = "frames"
        return xr.DataArray(data, dims=dims, coords=coords, attrs=info, name=name)
