"""Piecewise-rigid registration: shifts of overlapping blocks, and a smooth field from them.

The frame is covered by overlapping blocks of ``block_size`` pixels (1.5 blocks
per block length along each axis, rounded up, evenly spaced; one when a block
spans the frame).
Each block of a frame is cut at its template position moved by the frame's
integer rigid shift, and phase-correlated with the same block of the template
within ``radius`` pixels of the rigid shift.  Correlation windows are indexed
by the absolute shift, so where a block's peak is weak (peak-to-sidelobe ratio
below ``SNR_THRESHOLD``) its window is replaced by the mean of the windows of
its 3 x 3 neighbourhood before the peak is taken: low-contrast blocks follow
their neighbours.  The block shifts, given at the block centres, are
interpolated to every pixel by natural cubic splines along rows and columns
(constant beyond the outer centres), so the field is smooth and has no seams.

Examples
--------
>>> g = Grid((100, 120), (48, 48))
>>> g.n_blocks, g.centers.shape
((4, 4), (4, 4, 2))
>>> g.field(np.ones((1, 4, 4, 2)), (0, 100), (0, 120)).shape
(1, 100, 120, 2)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import InvalidArgumentError
from .phasecorr import correlation, find_peaks, gaussian_lowpass, prepare, taper_window, window_surfaces

SNR_THRESHOLD = 1.2


def block_shape(block_size, frame_shape: tuple[int, int]) -> tuple[int, int]:
    """``(rows, cols)`` of a block from an int or a pair; an error when it does not fit the frame."""
    size = (block_size, block_size) if np.isscalar(block_size) else tuple(block_size)
    if len(size) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                                 for v in size):
        raise InvalidArgumentError(f"block_size must be an int or (rows, cols) ints, got {block_size!r}")
    by, bx = int(size[0]), int(size[1])
    if by < 16 or bx < 16:
        raise InvalidArgumentError(f"block_size must be at least 16 pixels, got {block_size!r}")
    if by > frame_shape[0] or bx > frame_shape[1]:
        raise InvalidArgumentError(
            f"block_size {(by, bx)} is larger than the frames {tuple(frame_shape)}; use a smaller "
            "block_size (or nonrigid=False)")
    return by, bx


def _starts(length: int, block: int) -> np.ndarray:
    n = int(np.ceil(1.5 * length / block)) if block < length else 1
    return np.round(np.linspace(0, length - block, n)).astype(int)


def _spline_matrix(centres: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """``(len(positions), len(centres))`` weights of a natural cubic spline through the centres,
    constant beyond the outer ones."""
    if len(centres) == 1:
        return np.ones((len(positions), 1))
    from scipy.interpolate import CubicSpline

    spline = CubicSpline(centres, np.eye(len(centres)), bc_type="natural")
    return spline(np.clip(positions, centres[0], centres[-1]))


class Grid:
    """The overlapping blocks of a frame and the interpolation of their shifts."""

    def __init__(self, frame_shape: tuple[int, int], size: tuple[int, int]):
        self.frame_shape = tuple(frame_shape)
        self.size = size
        self.y0, self.x0 = _starts(frame_shape[0], size[0]), _starts(frame_shape[1], size[1])
        self.n_blocks = (len(self.y0), len(self.x0))
        cy, cx = self.y0 + (size[0] - 1) / 2, self.x0 + (size[1] - 1) / 2
        self.centers = np.stack(np.meshgrid(cy, cx, indexing="ij"), axis=-1).astype(float)
        self._cy, self._cx = cy, cx

    def cut(self, frames: np.ndarray, oy: np.ndarray, ox: np.ndarray) -> np.ndarray:
        """Blocks ``(n, nby, nbx, by, bx)`` of frames ``(n, H, W)`` starting at rows ``oy`` (n, nby)
        and columns ``ox`` (n, nbx)."""
        from numpy.lib.stride_tricks import sliding_window_view

        # every block of every frame is a view of the frames: one copy of whole block rows
        blocks = sliding_window_view(frames, self.size, axis=(1, 2))  # (n, H - by + 1, W - bx + 1, by, bx)
        return blocks[np.arange(len(frames))[:, None, None], oy[:, :, None], ox[:, None, :]]

    def field(self, block_shifts: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """The per-pixel shift field ``(n, rows, cols, 2)`` (float32) at the given absolute rows and
        columns ``(start, stop)``, from block shifts ``(n, nby, nbx, 2)``."""
        weights = self.weights(rows, cols)
        return np.stack([np.stack(frame_field(b, *weights), axis=-1) for b in block_shifts])

    def weights(self, rows: tuple[int, int], cols: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The spline weights ``(Ly, nby)`` and ``(Lx, nbx)`` (float32) of the block centres at the
        absolute rows and columns ``(start, stop)``."""
        wy = _spline_matrix(self._cy, np.arange(*rows, dtype=float))
        wx = _spline_matrix(self._cx, np.arange(*cols, dtype=float))
        return wy.astype(np.float32), wx.astype(np.float32)


def frame_field(block_shifts: np.ndarray, wy: np.ndarray, wx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(dy, dx)`` fields ``(Ly, Lx)`` (float32) of one frame's block shifts ``(nby, nbx, 2)``
    with the weights of :meth:`Grid.weights`: ``wy @ shifts @ wx.T`` as a sum of outer products
    (no BLAS: its threads would oversubscribe the cores inside the warp threads)."""
    a = np.einsum("yi,ijk->kyj", wy, np.asarray(block_shifts, np.float32))  # (2, Ly, nbx), small
    out = np.empty((2, len(wy), len(wx)), np.float32)
    for k in range(2):
        np.multiply(a[k, :, :1], wx[None, :, 0], out=out[k])
        for j in range(1, wx.shape[1]):
            out[k] += a[k, :, j:j + 1] * wx[None, :, j]
    return out[0], out[1]


class BlockReference:
    """The template's blocks, prepared for phase correlation, and the block estimation."""

    def __init__(self, template: np.ndarray, grid: Grid, radius: int):
        self.grid, self.radius = grid, int(radius)
        self.window = taper_window(grid.size)
        zero = np.zeros((1, grid.n_blocks[0]), int), np.zeros((1, grid.n_blocks[1]), int)
        t_blocks = grid.cut(np.asarray(template, np.float32)[None], grid.y0[None] + zero[0],
                            grid.x0[None] + zero[1])[0]
        self.conj = np.conj(prepare(t_blocks, self.window))
        self.lowpass = gaussian_lowpass(grid.size)

    def estimate(self, frames: np.ndarray, rigid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block shifts ``(n, nby, nbx, 2)`` around the rigid shifts ``(n, 2)``, and whether each
        hit the search radius."""
        g = self.grid
        h, w = g.frame_shape
        iy, ix = np.rint(rigid[:, 0]).astype(int), np.rint(rigid[:, 1]).astype(int)
        # where the rigid shift would push a block out of the frame, cut it at the edge
        sy = np.clip(g.y0[None] + iy[:, None], 0, h - g.size[0])
        sx = np.clip(g.x0[None] + ix[:, None], 0, w - g.size[1])
        oy, ox = sy - g.y0[None], sx - g.x0[None]  # (n, nby), (n, nbx): offsets already applied
        cc = correlation(prepare(g.cut(frames, sy, sx), self.window), self.conj[None], self.lowpass, g.size)
        # the window centre is the rigid shift, in each block's own (offset) coordinates
        centre = np.stack(np.broadcast_arrays((iy[:, None] - oy)[:, :, None],
                                              (ix[:, None] - ox)[:, None, :]), axis=-1)
        win = window_surfaces(cc, centre, self.radius)
        peaks = find_peaks(win, centre, self.radius)
        weak = peaks.snr < SNR_THRESHOLD
        if weak.any() and (g.n_blocks[0] > 1 or g.n_blocks[1] > 1):
            smooth = ndimage.uniform_filter(win, size=(1, 3, 3, 1, 1), mode="nearest")
            win = np.where(weak[..., None, None], smooth, win)
            peaks = find_peaks(win, centre, self.radius)
        offsets = np.stack(np.broadcast_arrays(oy[:, :, None], ox[:, None, :]), axis=-1)
        return peaks.shifts + offsets, peaks.at_max
