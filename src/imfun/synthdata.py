"""Synthetic two-photon calcium-imaging movies with their ground truth.

A movie is a static, structured background (smoothed noise crossed by dark,
vessel-like stripes) with cells drawn as soft ellipses (optionally donuts, with
a dark nucleus) whose fluorescence follows calcium transients: a Poisson spike
train convolved with a kernel that rises and decays exponentially.  Shot noise
(Poisson) and a slow baseline drift can be added.  Everything is vectorized
numpy; frames are rendered in fixed chunks, each with its own random stream,
so a movie is the same whether it is made at once in memory
(:func:`two_photon_movie`) or written block by block to a TIFF file
(:func:`two_photon_tiff`).

Examples
--------
>>> from imfun.synthdata import two_photon_movie
>>> sm = two_photon_movie(n_frames=40, shape=(32, 48), n_cells=3, seed=1)
>>> sm.movie.shape, sm.cell_masks.shape, sm.true_traces.shape
((40, 32, 48), (3, 32, 48), (3, 40))
>>> fs = sm.to_fseq()
>>> len(fs)
40
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage, special

from .errors import InvalidArgumentError

# Frames are rendered in chunks of this many, each chunk with its own random
# stream: the noise of a frame does not depend on how the caller blocks the work.
_CHUNK = 64


@dataclass
class SyntheticMovie:
    """A synthetic movie and its ground truth.

    Attributes
    ----------
    movie : numpy.ndarray
        ``(n_frames, rows, cols)`` frames (a read-only memory map when the movie
        was written to a file by :func:`two_photon_tiff`).
    cell_masks : numpy.ndarray
        ``(n_cells, rows, cols)`` boolean masks, disjoint (``labels == k + 1``).
    labels : numpy.ndarray
        ``(rows, cols)`` label image: 0 is background, ``k + 1`` is cell ``k``.
    true_traces : numpy.ndarray
        ``(n_cells, n_frames)`` noiseless ΔF/F of each cell's fluorescence.
    spike_times : list of numpy.ndarray
        Spike times of each cell, in seconds from the first frame.
    dt, dx : float
        Frame interval (s) and pixel size (µm).
    meta : dict
        ``{'axes': [(dt, 's'), (dx, 'µm'), (dx, 'µm')]}`` for a frame sequence.
    path : str or None
        The file the movie was written to, if any.
    """

    movie: np.ndarray
    cell_masks: np.ndarray
    labels: np.ndarray
    true_traces: np.ndarray
    spike_times: list[np.ndarray]
    dt: float
    dx: float
    meta: dict[str, Any] = field(default_factory=dict)
    path: str | None = None

    @property
    def n_cells(self) -> int:
        return len(self.cell_masks)

    @property
    def duration(self) -> float:
        """Length of the movie in seconds (``n_frames * dt``)."""
        return self.true_traces.shape[1] * self.dt

    def to_fseq(self):
        """The movie as an :class:`imfun.fseq.FSeq_arr` with physical axes."""
        from .fseq import FSeq_arr

        return FSeq_arr(self.movie, meta={"axes": list(self.meta["axes"])})


class _Scene:
    """Everything about a movie except its frames; renders any run of frames."""

    def __init__(self, n_frames, shape, n_cells, dt, dx, seed, spike_rate, tau, rise, noise, drift,
                 dtype, baseline, dff_amplitude, cell_brightness, cell_radius, donut, vessels):
        self.n_frames, self.shape, self.dt, self.dx = int(n_frames), tuple(shape), float(dt), float(dx)
        self.seed, self.noise, self.drift, self.dtype = seed, bool(noise), float(drift), np.dtype(dtype)
        rng = np.random.default_rng([seed, 0])
        self.background = baseline * _background(self.shape, dx, vessels, rng)
        self.cells, self.labels = _cells(self.shape, n_cells, dx, cell_radius, donut, rng)
        n = len(self.cells)
        # resting brightness of each cell above the background, varying between cells
        self.cell_f0 = baseline * cell_brightness * rng.uniform(0.6, 1.4, n)
        t = np.arange(self.n_frames) * self.dt
        self.spike_times = [np.sort(rng.uniform(0, self.n_frames * self.dt,
                                                rng.poisson(spike_rate * self.n_frames * self.dt)))
                            for _ in range(n)]
        amplitudes = [dff_amplitude * rng.lognormal(0.0, 0.25, len(s)) for s in self.spike_times]
        self.traces = np.array([_transients(t, s, a, tau, rise)
                                for s, a in zip(self.spike_times, amplitudes, strict=True)])
        self.traces = self.traces.reshape(n, self.n_frames)
        phase = rng.uniform(0, 2 * np.pi)
        # slow drift: a fraction of the baseline, with a period longer than the movie
        self.drift_curve = self.drift * np.sin(2 * np.pi * t / (1.5 * max(t[-1], dt)) + phase)

    def render(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` in the movie's dtype."""
        out = np.empty((stop - start, *self.shape), self.dtype)
        for c0 in range(start - start % _CHUNK, stop, _CHUNK):
            frames = self._chunk(c0 // _CHUNK)
            a, b = max(start, c0), min(stop, c0 + _CHUNK)
            out[a - start:b - start] = frames[a - c0:b - c0]
        return out

    def _chunk(self, index: int) -> np.ndarray:
        sl = slice(index * _CHUNK, min((index + 1) * _CHUNK, self.n_frames))
        lam = np.repeat(self.background[None], sl.stop - sl.start, axis=0)
        # frame = background + sum over cells of F0 * (1 + dF/F(t)) * profile, in each cell's box
        brightness = self.cell_f0[:, None] * (1 + self.traces[:, sl])
        for (box, patch), f in zip(self.cells, brightness, strict=True):
            lam[(slice(None), *box)] += f[:, None, None] * patch
        lam *= (1 + self.drift_curve[sl])[:, None, None]
        np.clip(lam, 0, None, out=lam)
        if self.noise:
            lam = np.random.default_rng([self.seed, 1, index]).poisson(lam).astype(float)
        if np.issubdtype(self.dtype, np.integer):
            info = np.iinfo(self.dtype)
            return np.clip(np.rint(lam), info.min, info.max).astype(self.dtype)
        return lam.astype(self.dtype)

    def truth(self, movie, path=None) -> SyntheticMovie:
        n = len(self.cells)
        masks = self.labels[None] == np.arange(1, n + 1)[:, None, None]
        axes = [(self.dt, "s"), (self.dx, "µm"), (self.dx, "µm")]
        return SyntheticMovie(movie=movie, cell_masks=masks, labels=self.labels.copy(),
                              true_traces=self.traces.copy(), spike_times=self.spike_times,
                              dt=self.dt, dx=self.dx, meta={"axes": axes}, path=path)


def _background(shape, dx, vessels, rng) -> np.ndarray:
    """Relative background brightness (around 1): smoothed noise with dark vessel stripes."""
    rows, cols = shape
    field_ = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=max(1.0, 6.0 / dx), mode="wrap")
    field_ /= field_.std() or 1.0
    bg = 1.0 + 0.25 * field_
    yy, xx = np.mgrid[0:rows, 0:cols].astype(float)
    for _ in range(vessels):
        # a wavy line: distance to it from every pixel at once
        theta = rng.uniform(0, np.pi)
        nx, ny = np.cos(theta), np.sin(theta)
        along = -ny * xx + nx * yy
        offset = rng.uniform(0.2, 0.8) * (nx * cols + ny * rows)
        wave = rng.uniform(2, 6) / dx * np.sin(2 * np.pi * along / rng.uniform(60, 150) * dx
                                               + rng.uniform(0, 2 * np.pi))
        dist = nx * xx + ny * yy - offset - wave
        width = rng.uniform(2.0, 5.0) / dx
        bg *= 1 - rng.uniform(0.4, 0.7) * np.exp(-0.5 * (dist / width) ** 2)
    return np.clip(bg, 0.05, None)


def _cells(shape, n_cells, dx, radius_um, donut, rng):
    """Soft elliptical cells: a list of ``(bbox slices, profile patch in [0, 1])`` and a label image.

    Each profile is kept only in its bounding box, so memory does not grow as
    cells x pixels on large frames.
    """
    rows, cols = shape
    r_px = radius_um / dx
    centres = np.empty((0, 2))
    margin = 1.2 * r_px
    for _ in range(200 * max(n_cells, 1)):  # rejection sampling of centres (a loop over cells only)
        if len(centres) == n_cells:
            break
        c = np.array([rng.uniform(margin, rows - margin), rng.uniform(margin, cols - margin)])
        if len(centres) == 0 or np.hypot(*(centres - c).T).min() > 2.3 * r_px:
            centres = np.vstack([centres, c])
    if len(centres) < n_cells:
        raise InvalidArgumentError(
            f"cannot place {n_cells} cells of radius {radius_um} µm in a {rows}x{cols} frame at "
            f"{dx} µm per pixel without overlap; use fewer cells, a larger frame or a larger dx")
    cells = []
    labels = np.zeros(shape, np.int32)
    best = np.zeros(shape)  # how deep inside its cell a labelled pixel is
    for k, (cy, cx) in enumerate(centres):
        a, b = r_px * rng.uniform(0.8, 1.25, 2)
        phi = rng.uniform(0, np.pi)
        half = int(np.ceil(2.2 * max(a, b))) + 1  # the soft edge is ~1e-4 at twice the radius
        sl = (slice(max(0, int(cy) - half), min(rows, int(cy) + half + 1)),
              slice(max(0, int(cx) - half), min(cols, int(cx) + half + 1)))
        yy, xx = np.mgrid[sl].astype(float)
        u = ((xx - cx) * np.cos(phi) + (yy - cy) * np.sin(phi)) / a
        v = (-(xx - cx) * np.sin(phi) + (yy - cy) * np.cos(phi)) / b
        r = np.hypot(u, v)
        p = special.expit((1.0 - r) / 0.12)  # soft edge
        if donut:
            p *= 1.0 - 0.7 * np.exp(-0.5 * (r / 0.35) ** 2)  # dark nucleus
        cells.append((sl, p))
        # a pixel inside two ellipses goes to the cell it is most inside of
        depth = np.where(r <= 1.0, 2.0 - r, 0.0)
        take = depth > best[sl]
        labels[sl][take] = k + 1
        best[sl][take] = depth[take]
    return cells, labels


def _transients(t, spikes, amplitudes, tau, rise) -> np.ndarray:
    """ΔF/F at times ``t``: a sum of double-exponential transients, peak ``amplitude`` each."""
    if len(spikes) == 0:
        return np.zeros_like(t)
    lag = t[None, :] - spikes[:, None]
    # the kernel (1 - exp(-s/rise)) * exp(-s/tau) normalised to a peak of 1
    s_peak = rise * np.log1p(tau / rise)
    peak = (1 - np.exp(-s_peak / rise)) * np.exp(-s_peak / tau)
    with np.errstate(over="ignore"):
        k = np.where(lag > 0, (1 - np.exp(-lag / rise)) * np.exp(-np.clip(lag, 0, None) / tau), 0.0)
    return (amplitudes[:, None] * k).sum(0) / peak


def _scene(n_frames, shape, n_cells, dt, dx, seed, spike_rate, tau, noise, drift, dtype, baseline,
           dff_amplitude, rise, cell_brightness, cell_radius, donut, vessels) -> _Scene:
    if int(n_frames) < 1:
        raise InvalidArgumentError(f"n_frames must be at least 1, got {n_frames}")
    if len(tuple(shape)) != 2 or min(shape) < 8:
        raise InvalidArgumentError(f"shape must be (rows, cols), each at least 8, got {shape!r}")
    if dt <= 0 or dx <= 0 or tau <= 0 or rise <= 0:
        raise InvalidArgumentError("dt, dx, tau and rise must be positive")
    if n_cells < 0 or spike_rate < 0 or baseline <= 0:
        raise InvalidArgumentError("n_cells and spike_rate must be >= 0 and baseline > 0")
    return _Scene(n_frames, shape, n_cells, dt, dx, seed, spike_rate, tau, rise, noise, drift, dtype,
                  baseline, dff_amplitude, cell_brightness, cell_radius, donut, vessels)


def two_photon_movie(n_frames: int = 300, shape: tuple[int, int] = (128, 128), n_cells: int = 12,
                     dt: float = 0.05, dx: float = 0.8, seed: int = 0, spike_rate: float = 0.3,
                     tau: float = 0.5, noise: bool = True, drift: float = 0.0, dtype=np.uint16,
                     baseline: float = 100.0, dff_amplitude: float = 0.8, *, rise: float = 0.05,
                     cell_brightness: float = 1.0, cell_radius: float = 5.0, donut: bool = False,
                     vessels: int = 3) -> SyntheticMovie:
    """Make a synthetic two-photon calcium-imaging movie and its ground truth.

    Parameters
    ----------
    n_frames : int
        Number of frames.
    shape : (int, int)
        Frame shape ``(rows, cols)``.
    n_cells : int
        Number of cells (placed at random without overlap).
    dt : float
        Frame interval in seconds.
    dx : float
        Pixel size in µm.
    seed : int
        Seed of the random generator: the same seed gives the same movie.
    spike_rate : float
        Mean firing rate of each cell (spikes per second, Poisson).
    tau : float
        Decay time constant of a calcium transient (s).
    noise : bool
        Add Poisson shot noise (the noiseless intensity is the photon rate).
    drift : float
        Amplitude of a slow multiplicative drift of the whole frame, as a
        fraction of the baseline (0 for none).
    dtype : numpy dtype
        Data type of the frames (integers are rounded and clipped).
    baseline : float
        Mean background intensity (photons per pixel per frame).
    dff_amplitude : float
        Mean peak ΔF/F of one spike's transient (it varies from spike to spike).
    rise : float
        Rise time constant of a transient (s).
    cell_brightness : float
        Resting brightness of a cell above the background, relative to ``baseline``.
    cell_radius : float
        Mean cell radius (µm).
    donut : bool
        Draw cells with a dark nucleus (cytosolic indicators such as GCaMP).
    vessels : int
        Number of dark, vessel-like stripes in the background.

    Returns
    -------
    SyntheticMovie
        The movie with masks, labels, true ΔF/F traces and spike times.

    Examples
    --------
    >>> sm = two_photon_movie(n_frames=20, shape=(32, 32), n_cells=2, noise=False)
    >>> sm.movie.dtype, sm.labels.max()
    (dtype('uint16'), np.int32(2))
    """
    scene = _scene(n_frames, shape, n_cells, dt, dx, seed, spike_rate, tau, noise, drift, dtype,
                   baseline, dff_amplitude, rise, cell_brightness, cell_radius, donut, vessels)
    return scene.truth(scene.render(0, scene.n_frames))


def write_tiff(path, movie, dt: float, dx: float) -> str:
    """Write frames as an ImageJ TIFF with its frame interval and pixel size.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (replaced if it exists).
    movie : array_like
        ``(n_frames, rows, cols)`` frames; float64 is stored as float32 (ImageJ
        has no float64).
    dt, dx : float
        Frame interval (s) and pixel size (µm).

    Returns
    -------
    str
        The path written.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> p = write_tiff(os.path.join(tempfile.mkdtemp(), 'm.tif'), np.zeros((3, 8, 8), np.uint16), 0.1, 0.5)
    """
    import tifffile

    movie = np.asarray(movie)
    if movie.dtype == np.float64:
        movie = movie.astype(np.float32)
    tifffile.imwrite(path, movie, **_imagej_kwargs(dt, dx))
    return os.fspath(path)


def _imagej_kwargs(dt: float, dx: float) -> dict[str, Any]:
    return {"imagej": True, "resolution": (1.0 / dx, 1.0 / dx),
            "metadata": {"axes": "TYX", "finterval": float(dt), "unit": "um", "spacing": 1.0}}


def two_photon_tiff(path, n_frames: int = 2000, shape: tuple[int, int] = (512, 512),
                    n_cells: int | None = None, block: int = 128, progress_bar: bool = False,
                    **kwargs) -> SyntheticMovie:
    """Write a synthetic movie to an ImageJ TIFF block by block (memory stays small).

    The frames are those that :func:`two_photon_movie` would make with the
    same arguments.  The returned :class:`SyntheticMovie` holds a read-only
    memory map of the file as ``movie``.

    Parameters
    ----------
    path : str or os.PathLike
        The TIFF file to write (replaced if it exists).
    n_frames, shape : see :func:`two_photon_movie`
    n_cells : int or None
        Number of cells; by default about one per 40×40 µm.
    block : int
        Frames rendered at a time.
    progress_bar : bool
        Show a progress bar.
    **kwargs
        Any other argument of :func:`two_photon_movie`.

    Examples
    --------
    >>> import tempfile, os
    >>> sm = two_photon_tiff(os.path.join(tempfile.mkdtemp(), 'm.tif'), 10, (32, 32), n_cells=2)
    >>> sm.movie.shape
    (10, 32, 32)
    """
    import tifffile

    from .engine.progress import progress

    dx = kwargs.get("dx", 0.8)
    if n_cells is None:
        n_cells = max(1, int(shape[0] * shape[1] * dx * dx / 1600))
    defaults = dict(n_cells=n_cells, dt=0.05, dx=0.8, seed=0, spike_rate=0.3, tau=0.5, noise=True,
                    drift=0.0, dtype=np.uint16, baseline=100.0, dff_amplitude=0.8, rise=0.05,
                    cell_brightness=1.0, cell_radius=5.0, donut=False, vessels=3)
    unknown = set(kwargs) - set(defaults)
    if unknown:
        from .errors import UnknownArgumentError

        raise UnknownArgumentError(f"two_photon_tiff() got unknown keyword argument(s) {sorted(unknown)}")
    defaults.update(kwargs)
    scene = _scene(n_frames, shape, **defaults)
    path = os.fspath(path)
    dtype = np.float32 if scene.dtype == np.float64 else scene.dtype
    if scene.dtype == np.float64:
        scene.dtype = np.dtype(np.float32)
    # an empty contiguous ImageJ file, filled in place through a memory map
    mm = tifffile.memmap(path, shape=(scene.n_frames, *scene.shape), dtype=dtype,
                         **_imagej_kwargs(scene.dt, scene.dx))
    try:
        with progress(scene.n_frames, "writing " + os.path.basename(path), enable=progress_bar) as bar:
            for start in range(0, scene.n_frames, block):
                stop = min(start + block, scene.n_frames)
                mm[start:stop] = scene.render(start, stop)
                bar.update(stop - start)
        mm.flush()
    finally:
        del mm
    return scene.truth(tifffile.memmap(path, mode="r"), path=path)


__all__ = ["SyntheticMovie", "two_photon_movie", "two_photon_tiff", "write_tiff"]


# -- motion with ground truth (registration) -------------------------------------------------------
@dataclass
class Motion:
    """Known motion of a movie: how far the content of each frame is displaced.

    The displacement of frame ``k`` at pixel ``(y, x)`` is ``shifts[k]`` plus, when ``warp`` is
    set, a smooth non-rigid part ``warp[k, 0] * sin(2 pi x / wavelength + phases[0])`` (rows)
    and ``warp[k, 1] * sin(2 pi y / wavelength + phases[1])`` (columns).  A moved frame is
    ``moved(p) = still(p - d(p))``; odd rows are then displaced by ``bidi_phase`` pixels along x.

    Attributes
    ----------
    shifts : numpy.ndarray
        ``(n_frames, 2)`` rigid ``(dy, dx)`` in pixels.
    warp : numpy.ndarray or None
        ``(n_frames, 2)`` amplitudes (pixels) of the non-rigid part.
    wavelength : float
        Spatial period of the non-rigid part (pixels).
    phases : tuple of float
        Spatial phases of the non-rigid part.
    bidi_phase : float
        Displacement of odd rows along x (bidirectional scanning), pixels.
    """

    shifts: np.ndarray
    warp: np.ndarray | None = None
    wavelength: float = 256.0
    phases: tuple[float, float] = (0.0, 0.0)
    bidi_phase: float = 0.0

    def displacement(self, frames, y, x) -> np.ndarray:
        """``(len(frames), *broadcast(y, x).shape, 2)`` displacement at pixel positions ``(y, x)``."""
        frames = np.atleast_1d(np.asarray(frames))
        y, x = np.broadcast_arrays(np.asarray(y, float), np.asarray(x, float))
        extra = (1,) * y.ndim
        d = np.broadcast_to(self.shifts[frames].reshape(len(frames), *extra, 2),
                            (len(frames), *y.shape, 2)).copy()
        if self.warp is not None:
            k = 2 * np.pi / self.wavelength
            d[..., 0] += self.warp[frames, 0].reshape(-1, *extra) * np.sin(k * x + self.phases[0])
            d[..., 1] += self.warp[frames, 1].reshape(-1, *extra) * np.sin(k * y + self.phases[1])
        return d


def rigid_walk(n_frames: int, max_shift: float = 8.0, step: float = 0.4, jump_every: float = 100.0,
               jump_size: float = 4.0, seed: int = 0) -> np.ndarray:
    """A sub-pixel random walk of rigid shifts ``(n_frames, 2)`` with sudden jumps, within ``max_shift``.

    Each frame moves by a normal step (``step`` pixels SD per axis); on average every
    ``jump_every`` frames the walk jumps by up to ``jump_size`` pixels; it is reflected at
    ``±max_shift``.  The first frame is not moved.

    >>> s = rigid_walk(500, max_shift=8, seed=1)
    >>> s.shape, bool(np.abs(s).max() <= 8), s[0].tolist()
    ((500, 2), True, [0.0, 0.0])
    """
    rng = np.random.default_rng([seed, 13])
    steps = rng.normal(0, step, (n_frames, 2))
    jumps = rng.random(n_frames) < 1.0 / max(jump_every, 1.0)
    steps[jumps] += rng.uniform(-jump_size, jump_size, (int(jumps.sum()), 2))
    steps[0] = 0
    walk = np.cumsum(steps, axis=0)
    # reflect into [-max_shift, max_shift]
    period = 4 * max_shift
    walk = np.mod(walk + max_shift, period)
    walk = np.where(walk > 2 * max_shift, period - walk, walk) - max_shift
    return walk - walk[0]


def smooth_warp(n_frames: int, amplitude: float = 2.0, wavelength: float = 256.0, seed: int = 0,
                shifts: np.ndarray | None = None, bidi_phase: float = 0.0) -> Motion:
    """A :class:`Motion` whose non-rigid part varies smoothly in space and time (within ``±amplitude``).

    >>> m = smooth_warp(10, amplitude=2.0, seed=0)
    >>> d = m.displacement(np.arange(10), *np.mgrid[0:32, 0:32])
    >>> d.shape, bool(np.abs(d).max() <= 2.0)
    ((10, 32, 32, 2), True)
    """
    rng = np.random.default_rng([seed, 14])
    t = np.arange(n_frames)
    periods = rng.uniform(30, 120, 2)
    warp = amplitude * np.sin(2 * np.pi * t[:, None] / periods + rng.uniform(0, 2 * np.pi, 2))
    base = np.zeros((n_frames, 2)) if shifts is None else np.asarray(shifts, float)
    return Motion(base, warp, float(wavelength), tuple(rng.uniform(0, 2 * np.pi, 2)), float(bidi_phase))


def move_movie(movie: np.ndarray, motion: Motion, noise_seed: int | None = None, order: int = 3,
               dtype=None) -> np.ndarray:
    """Frames of ``movie`` displaced as ``motion`` says (cubic splines, edge values outside).

    With ``noise_seed`` set, Poisson shot noise is drawn after moving (give a noiseless
    movie, ``two_photon_movie(..., noise=False)``), so noise is not interpolated.  The
    result has ``dtype`` (default the movie's; integers are rounded and clipped).

    >>> sm = two_photon_movie(n_frames=4, shape=(32, 32), n_cells=2, noise=False)
    >>> moved = move_movie(sm.movie, Motion(np.array([[0, 0], [1, 0], [0, 2], [1.5, -1]])), noise_seed=0)
    >>> moved.shape, moved.dtype
    ((4, 32, 32), dtype('uint16'))
    """
    dtype = np.dtype(dtype or movie.dtype)
    n, rows, cols = movie.shape
    out = np.empty(movie.shape, dtype)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(float)
    for k in range(n):  # scipy's splines work on one frame
        frame = np.asarray(movie[k], np.float64)
        if motion.warp is None:
            moved = ndimage.shift(frame, motion.shifts[k], order=order, mode="nearest")
        else:
            d = motion.displacement([k], yy, xx)[0]
            moved = ndimage.map_coordinates(frame, [yy - d[..., 0], xx - d[..., 1]], order=order,
                                            mode="nearest")
        if motion.bidi_phase:
            moved[1::2] = ndimage.shift(moved[1::2], (0, motion.bidi_phase), order=order, mode="nearest")
        if noise_seed is not None:
            moved = np.random.default_rng([noise_seed, 15, k]).poisson(np.clip(moved, 0, None)).astype(float)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            moved = np.clip(np.rint(moved), info.min, info.max)
        out[k] = moved
    return out


def moving_two_photon_movie(n_frames: int = 300, shape: tuple[int, int] = (128, 128), *,
                            max_shift: float = 6.0, warp: float = 0.0, bidi_phase: float = 0.0,
                            seed: int = 0, **kwargs) -> tuple[SyntheticMovie, Motion, np.ndarray]:
    """A two-photon movie with known motion: ``(moving, motion, still)``.

    ``still`` is the noisy motion-free movie, ``moving`` the same scene moved by a rigid walk
    within ``max_shift`` (:func:`rigid_walk`), a smooth non-rigid warp of ``±warp`` pixels
    (:func:`smooth_warp`) and a line-scan phase ``bidi_phase``, with its own shot noise.  Other
    keyword arguments go to :func:`two_photon_movie`.

    >>> sm, motion, still = moving_two_photon_movie(20, (48, 48), n_cells=3, max_shift=3)
    >>> sm.movie.shape, motion.shifts.shape, still.shape
    ((20, 48, 48), (20, 2), (20, 48, 48))
    """
    clean = two_photon_movie(n_frames, shape, seed=seed, noise=False, **kwargs)
    still = two_photon_movie(n_frames, shape, seed=seed, **kwargs).movie
    shifts = rigid_walk(n_frames, max_shift, seed=seed) if max_shift else np.zeros((n_frames, 2))
    if warp:
        motion = smooth_warp(n_frames, warp, wavelength=2.0 * max(shape), seed=seed, shifts=shifts,
                             bidi_phase=bidi_phase)
    else:
        motion = Motion(shifts, bidi_phase=float(bidi_phase))
    clean.movie = move_movie(clean.movie, motion, noise_seed=seed)
    return clean, motion, still


__all__ += ["Motion", "move_movie", "moving_two_photon_movie", "rigid_walk", "smooth_warp"]
