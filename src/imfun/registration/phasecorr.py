"""Sub-pixel FFT phase correlation, vectorised over a stack of images.

The cross-power spectrum of an image and the template is whitened (only its
phase is kept) and multiplied by a Gaussian low-pass (``SMOOTH_SIGMA`` pixels
in space), so the correlation surface of a pure shift ``s`` is a sampled
Gaussian centred at ``s``.  The integer peak is searched within ``max_shift``
of a centre; a three-point Gaussian (log-parabola) fit in each axis then gives
the sub-pixel position, which is exact for a Gaussian peak.  Images and the
template are mean-subtracted and multiplied by a spatial taper (a cosine
ramp at the borders) so the frame edges do not correlate at zero shift.

The convention everywhere: ``shift = (dy, dx)`` is how far the content of an
image is displaced relative to the template, ``image(y, x) = template(y - dy,
x - dx)``; registering moves it back by ``-shift``.

Examples
--------
>>> import numpy as np
>>> from scipy import ndimage
>>> rng = np.random.default_rng(0)
>>> template = ndimage.gaussian_filter(rng.standard_normal((64, 64)), 1)
>>> moved = ndimage.shift(template, (1.25, -2.5), order=3, mode="nearest")
>>> ref = Reference(template, max_shift=6)
>>> est = ref.estimate(moved[None])
>>> np.round(est.shifts, 1)
array([[ 1.2, -2.5]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

SMOOTH_SIGMA = 1.15  # pixels: width of the Gaussian correlation peak
EPS = 1e-12
HIGHPASS_SIGMA = 8.0


def _ramp(n: int, width: int | None) -> np.ndarray:
    k = max(1, min(width if width is not None else max(2, n // 8), n // 4))
    r = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    r[:k], r[n - k:] = edge, edge[::-1]
    return r


def taper_window(shape: tuple[int, int], width: int | None = None) -> np.ndarray:
    """A separable window, 1 inside and a cosine ramp to 0 over ``width`` pixels at each border
    (default 1/8 of the side, at least 2).

    >>> w = taper_window((8, 10), 2)
    >>> float(w[4, 5]), float(w[0, 0])
    (1.0, 0.0)
    """
    return np.outer(_ramp(shape[0], width), _ramp(shape[1], width)).astype(np.float32)


def gaussian_lowpass(shape: tuple[int, int], sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """The Fourier transform (``rfft2`` layout) of a unit Gaussian of ``sigma`` pixels."""
    fy = sfft.fftfreq(shape[0])[:, None]
    fx = sfft.rfftfreq(shape[1])[None, :]
    return np.exp(-2 * np.pi**2 * sigma**2 * (fy**2 + fx**2)).astype(np.float32)


def prepare(images: np.ndarray, window: np.ndarray, workers: int = 1) -> np.ndarray:
    """``rfft2`` of mean-subtracted, tapered images (float32 in, complex64 out), over the last 2 axes.

    ``workers`` threads per FFT: 1 inside the engine, whose blocks already run one per core.
    """
    x = np.asarray(images, np.float32)
    x = x - x.mean(axis=(-2, -1), keepdims=True)
    x *= window
    return sfft.rfft2(x, workers=workers, overwrite_x=True)


def correlation(spec: np.ndarray, ref_conj: np.ndarray, lowpass: np.ndarray, shape,
                workers: int = 1) -> np.ndarray:
    """The whitened, smoothed correlation surfaces of image spectra with a reference spectrum."""
    cross = spec * ref_conj
    scale = np.abs(cross)
    scale += EPS
    np.divide(lowpass, scale, out=scale)
    cross *= scale
    return sfft.irfft2(cross, s=shape, workers=workers, overwrite_x=True)


def _window_indices(centre: np.ndarray, radius: int, size: int) -> np.ndarray:
    """Indices (mod ``size``) of ``centre - radius .. centre + radius``; centre (...,) -> (..., 2r+1)."""
    return (centre[..., None] + np.arange(-radius, radius + 1)) % size


def _gauss_offset(left: np.ndarray, mid: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Sub-pixel offset of a peak from three samples: a Gaussian fit, a parabola where logs fail."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (left > 0) & (mid > 0) & (right > 0)
        lg = np.log(np.where(ok, left, 1.0)), np.log(np.where(ok, mid, 1.0)), np.log(np.where(ok, right, 1.0))
        den_g = lg[0] - 2 * lg[1] + lg[2]
        gauss = 0.5 * (lg[0] - lg[2]) / den_g
        den_p = left - 2 * mid + right
        para = 0.5 * (left - right) / den_p
        off = np.where(ok & (den_g < 0), gauss, np.where(den_p < 0, para, 0.0))
    return np.clip(np.nan_to_num(off), -0.5, 0.5)


@dataclass
class Peaks:
    """Peaks of correlation surfaces: sub-pixel ``shifts`` (..., 2), the peak ``value`` (...),
    ``at_max`` (...) whether the integer peak lies on the border of the search window, and
    ``snr`` (...), the peak over the largest value away from it."""

    shifts: np.ndarray
    value: np.ndarray
    at_max: np.ndarray
    snr: np.ndarray


def window_surfaces(cc: np.ndarray, centre: np.ndarray, radius: int) -> np.ndarray:
    """Cut ``(..., 2r+1, 2r+1)`` windows of correlation surfaces ``(..., H, W)`` around integer
    ``centre`` (..., 2); window index ``radius`` is the centre."""
    h, w = cc.shape[-2:]
    lead = cc.shape[:-2]
    iy = _window_indices(centre[..., 0], radius, h)  # (..., k)
    ix = _window_indices(centre[..., 1], radius, w)
    flat = cc.reshape(-1, h, w)
    iy, ix = iy.reshape(-1, iy.shape[-1]), ix.reshape(-1, ix.shape[-1])
    idx = np.arange(len(flat))[:, None, None]
    out = flat[idx, iy[:, :, None], ix[:, None, :]]
    return out.reshape(*lead, 2 * radius + 1, 2 * radius + 1)


def find_peaks(win: np.ndarray, centre: np.ndarray, radius: int) -> Peaks:
    """Sub-pixel peaks of windows ``(..., k, k)`` whose middle is the integer ``centre`` (..., 2)."""
    k = 2 * radius + 1
    lead = win.shape[:-2]
    flat = win.reshape(-1, k, k)
    arg = flat.reshape(len(flat), -1).argmax(axis=1)
    py, px = np.divmod(arg, k)
    rows = np.arange(len(flat))
    mid = flat[rows, py, px]
    # neighbours, clamped inside the window (an edge peak gets no sub-pixel offset beyond it)
    up, down = flat[rows, np.maximum(py - 1, 0), px], flat[rows, np.minimum(py + 1, k - 1), px]
    left, right = flat[rows, py, np.maximum(px - 1, 0)], flat[rows, py, np.minimum(px + 1, k - 1)]
    edge_y, edge_x = (py == 0) | (py == k - 1), (px == 0) | (px == k - 1)
    oy = np.where(edge_y, 0.0, _gauss_offset(up, mid, down))
    ox = np.where(edge_x, 0.0, _gauss_offset(left, mid, right))
    shifts = np.stack([py - radius + oy, px - radius + ox], axis=-1).reshape(*lead, 2)
    shifts = shifts + centre
    # peak-to-sidelobe: the largest value more than 2 pixels away from the peak
    yy, xx = np.ogrid[:k, :k]
    far = (np.abs(yy[None] - py[:, None, None]) > 2) | (np.abs(xx[None] - px[:, None, None]) > 2)
    side = np.where(far, flat, -np.inf).reshape(len(flat), -1).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(side > 0, mid / np.where(side > 0, side, 1.0), np.inf)
    snr = np.where(mid > 0, snr, 0.0)  # no positive peak (e.g. a featureless block): no signal
    return Peaks(shifts, mid.reshape(lead), (edge_y | edge_x).reshape(lead), snr.reshape(lead))


class Reference:
    """A template prepared for phase correlation: its tapered, conjugated spectrum.

    Parameters
    ----------
    template : 2-D array
        The reference image.
    max_shift : int
        Largest shift searched, in pixels, in each axis.
    window : 2-D array or None
        The spatial taper (default :func:`taper_window` of the template's shape).
    """

    def __init__(self, template: np.ndarray, max_shift: int, window: np.ndarray | None = None):
        t = np.asarray(template, np.float32)
        self.shape = t.shape
        self.max_shift = int(max_shift)
        self.window = taper_window(t.shape) if window is None else window
        self.conj = np.conj(prepare(t, self.window))
        self.lowpass = gaussian_lowpass(t.shape)

    def estimate(self, images: np.ndarray, centre: np.ndarray | None = None, workers: int = 1) -> Peaks:
        """Shifts of images ``(n, H, W)`` relative to the template, searched within
        ``max_shift`` of ``centre`` (n, 2) integers (default 0), ``workers`` threads per FFT."""
        spec = prepare(images, self.window, workers)
        cc = correlation(spec, self.conj, self.lowpass, self.shape, workers)
        if centre is None:
            centre = np.zeros((len(images), 2), np.intp)
        return find_peaks(window_surfaces(cc, centre, self.max_shift), centre, self.max_shift)


def _bidi_once(img: np.ndarray, max_offset: int) -> float:
    from scipy import ndimage

    n_pairs = (img.shape[0] - 1) // 2
    odd = img[1:2 * n_pairs + 1:2]
    even = 0.5 * (img[0:2 * n_pairs:2] + img[2:2 * n_pairs + 2:2])
    w = _ramp(img.shape[1], None)

    def spec(x):
        x = x - ndimage.gaussian_filter1d(x, HIGHPASS_SIGMA, axis=1, mode="nearest")
        return sfft.rfft(x * w, axis=1)

    cross = (spec(odd) * np.conj(spec(even))).sum(axis=0)
    cross /= np.abs(cross) + EPS
    f = sfft.rfftfreq(img.shape[1])
    cc = sfft.irfft(cross * np.exp(-2 * np.pi**2 * SMOOTH_SIGMA**2 * f**2), n=img.shape[1])
    radius = int(min(max_offset, img.shape[1] // 4))
    win = cc[np.arange(-radius, radius + 1) % img.shape[1]]
    p = int(np.argmax(win))
    off = 0.0
    if 0 < p < len(win) - 1:
        off = float(_gauss_offset(win[p - 1:p], win[p:p + 1], win[p + 1:p + 2])[0])
    return p - radius + off


def bidi_offset(image: np.ndarray, max_offset: int = 10, snap: float = 0.05, n_iter: int = 3) -> float:
    """The line-scan phase offset of an image: how many pixels (along x) the odd rows are
    displaced relative to the even rows; estimates within ``snap`` of an integer are rounded.

    Odd row ``2i + 1`` is compared with the mean of even rows ``2i`` and ``2i + 2``, so
    slanted structures do not bias the estimate; the rows are high-passed and tapered, their
    1-D cross-power spectra summed and whitened, and the peak fitted as in :class:`Reference`.
    The estimate is refined ``n_iter`` times on the image corrected by it (the taper pulls a
    single estimate slightly towards 0).

    >>> import numpy as np
    >>> from scipy import ndimage
    >>> img = ndimage.gaussian_filter(np.random.default_rng(1).standard_normal((64, 96)), 1)
    >>> img[1::2] = ndimage.shift(img[1::2], (0, 2), order=3, mode="nearest")
    >>> bidi_offset(img)
    2.0
    """
    from .apply import bidi_correct

    img = np.asarray(image, np.float64)
    if (img.shape[0] - 1) // 2 < 1:
        return 0.0
    est = 0.0
    for _ in range(max(1, n_iter)):
        corrected = bidi_correct(img[None], est)[0] if est else img
        step = _bidi_once(corrected.astype(np.float64), max_offset)
        est += step
        if abs(step) < 1e-3:
            break
    return float(round(est)) if abs(est - round(est)) <= snap else float(est)
