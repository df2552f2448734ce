"""Figure helpers shared by images, movies and the command line.

* :func:`display_for` decides how a sequence is shown: robust limits (the
  0.5–99.5 percentiles of the selected data — of 500 evenly spaced frames of
  longer selections — exact, through the engine), a
  grey colour map — or a diverging one centred on 0 for ΔF/F and z-scores —
  and, for colour frames, a green/magenta composite (two channels) or RGB
  (three; a fourth, alpha, is dropped), each channel scaled on its own.
* :class:`Display` turns blocks of frames into RGB uint8 images with that choice.
* :func:`frame_numbers` gives the *source* frame index of each position of a
  sequence (after ``fs[5::10]`` position 1 is source frame 15), and
  :func:`frame_label` the title ``'frame 15, 1.500 s'``.
* :func:`add_scale_bar` and :func:`add_colour_bar` decorate matplotlib axes.

Diverging data: a sequence is shown with the diverging map ``'RdBu_r'`` and
symmetric limits ``(-m, m)`` when it is a ΔF/F or z-score sequence (its reader
is one, or its metadata hold the key ``'dfof'`` or ``'zscore'``), or when its
robust limits have opposite signs and the smaller side is at least
:data:`SIGNED_FRACTION` of the larger (a raw image with a few slightly
negative, offset-subtracted pixels stays grey).

>>> import numpy as np
>>> from imfun.fseq import FSeq_arr
>>> data = np.zeros((4, 10, 10)); data[0, 0, 0] = 1e6          # one hot pixel
>>> data[:, 5:] = 100.0
>>> d = display_for(FSeq_arr(data))
>>> d.kind, float(d.vmin[0]), float(d.vmax[0])
('grey', 0.0, 100.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from .fseq.sequence import FrameSequence

#: default display limits, in percentiles of the data
PERCENTILES = (0.5, 99.5)
#: the smaller side of sign-changing limits must reach this fraction of the larger for a diverging map
SIGNED_FRACTION = 0.05
#: display limits come from at most this many (evenly spaced) frames of a selection
LIMIT_FRAMES = 500
DIVERGING_CMAP = "RdBu_r"
#: channel 0 green, channel 1 magenta (red + blue)
COMPOSITE_WEIGHTS = np.array([[0, 1, 0], [1, 0, 1]], np.uint16)


@lru_cache(maxsize=32)
def colormap_lut(cmap: str = "gray") -> np.ndarray:
    """A ``(256, 3)`` uint8 table of a matplotlib colormap.

    >>> colormap_lut("gray")[[0, 128, 255], 0]
    array([  0, 128, 255], dtype=uint8)
    """
    import matplotlib

    try:
        cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    except KeyError:
        raise InvalidArgumentError(
            f"unknown colormap {cmap!r}; use a matplotlib name such as 'gray' or 'viridis'") from None
    rgba = cm(np.linspace(0.0, 1.0, 256))
    return np.rint(rgba[:, :3] * 255).astype(np.uint8)


def to_uint8(block: np.ndarray, vmin, vmax) -> np.ndarray:
    """Scale values so that ``vmin`` -> 0 and ``vmax`` -> 255 (clipped; NaN -> 0), as uint8.

    ``vmin``/``vmax`` may be per channel (they broadcast against the last axis).

    >>> to_uint8(np.array([0.0, 5.0, 10.0, 20.0]), 0, 10).tolist()
    [0, 128, 255, 255]
    """
    lo = np.asarray(vmin, np.float32)
    span = np.asarray(vmax, np.float32) - lo
    factor = np.where(span > 0, np.float32(255.0) / np.where(span > 0, span, 1), 0).astype(np.float32)
    out = (block.astype(np.float32, copy=False) - lo) * factor
    np.nan_to_num(out, copy=False, nan=0.0)
    np.clip(out, 0, 255, out=out)
    return np.rint(out, out=out).astype(np.uint8)


@dataclass
class Display:
    """How frames are drawn: ``kind`` is ``'grey'``, ``'diverging'``, ``'composite'`` or ``'rgb'``;
    ``vmin``/``vmax`` hold one value (grey, diverging) or one per channel."""

    kind: str
    vmin: np.ndarray
    vmax: np.ndarray
    cmap: str | None = None

    @property
    def lut(self) -> np.ndarray:
        return colormap_lut(self.cmap or "gray")

    @property
    def has_colour_bar(self) -> bool:
        """Whether values map through a colour map (so a colour bar can explain them)."""
        return self.kind in ("grey", "diverging")

    def rgb(self, block: np.ndarray, zoom: int = 1) -> np.ndarray:
        """Frames ``(n, h, w[, c])`` as ``(n, h*zoom, w*zoom, 3)`` uint8 RGB.

        >>> d = Display("composite", np.array([0, 0]), np.array([10, 10]))
        >>> d.rgb(np.array([[[[10, 0], [0, 10]]]]))[0, 0].tolist()   # green, then magenta
        [[0, 255, 0], [255, 0, 255]]
        """
        if self.kind in ("grey", "diverging"):
            grey = block[..., 0] if block.ndim == 4 else block
            out = self.lut[to_uint8(grey, self.vmin[0], self.vmax[0])]
        elif self.kind == "composite":
            idx = to_uint8(block[..., :2], self.vmin[:2], self.vmax[:2]).astype(np.uint16)
            out = np.minimum(idx @ COMPOSITE_WEIGHTS, 255).astype(np.uint8)
        else:
            out = to_uint8(block[..., :3], self.vmin[:3], self.vmax[:3])
        if zoom > 1:
            out = out.repeat(zoom, axis=1).repeat(zoom, axis=2)
        return out

    def describe(self) -> str:
        """``'0..100'`` or, per channel, ``'ch0 0..100, ch1 5..20'``."""
        if len(self.vmin) == 1:
            return f"{self.vmin[0]:.4g}..{self.vmax[0]:.4g}"
        return ", ".join(f"ch{i} {a:.4g}..{b:.4g}" for i, (a, b) in enumerate(zip(self.vmin, self.vmax,
                                                                                    strict=True)))


def channels(fs: FrameSequence) -> int:
    """Channels of a frame (1 for grey frames); more than four are refused for display."""
    shape = fs.frame_shape
    c = int(shape[2]) if len(shape) == 3 else 1
    if c > 4:
        raise InvalidArgumentError(
            f"frames with {c} channels cannot be drawn as one picture; choose a channel "
            f"(ch=, or --ch on the command line)")
    return c


def is_signed(fs: FrameSequence) -> bool:
    """Whether a sequence holds ΔF/F or z-scores by what it is (reader or metadata)."""
    from .analysis.dfof import DfofReader, ZscoreReader

    return isinstance(fs.reader, DfofReader | ZscoreReader) or "dfof" in fs.meta or "zscore" in fs.meta


def _changes_sign(lo: float, hi: float) -> bool:
    return lo < 0 < hi and min(-lo, hi) >= SIGNED_FRACTION * max(-lo, hi)


def limit_frames(fs: FrameSequence, fslice=None) -> np.ndarray:
    """The frames whose values set display limits: the selected ones, or :data:`LIMIT_FRAMES`
    of them evenly spaced when there are more (a long movie is not read twice over).

    >>> from imfun.fseq import FSeq_arr
    >>> limit_frames(FSeq_arr(np.zeros((2000, 2, 2))))[:3].tolist()
    [0, 4, 8]
    """
    from .selection import fslice_positions

    positions = fslice_positions(fslice, len(fs))
    if len(positions) > LIMIT_FRAMES:
        positions = positions[np.unique(np.linspace(0, len(positions) - 1, LIMIT_FRAMES).round().astype(int))]
    return positions


def robust_limits(fs: FrameSequence, percentiles: Sequence[float] = PERCENTILES, fslice=None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel display limits at two percentiles of the selected data (exact, over at most
    :data:`LIMIT_FRAMES` evenly spaced frames).

    Where the two are equal (flat data) the data range is used, and where that is
    flat too, ``(v, v + 1)``.

    >>> from imfun.fseq import FSeq_arr
    >>> lo, hi = robust_limits(FSeq_arr(np.arange(1000.0).reshape(10, 10, 10)), (1, 99))
    >>> float(lo[0]), float(hi[0])
    (9.99, 989.01)
    """
    p = [float(x) for x in percentiles]
    if len(p) != 2 or not 0 <= p[0] < p[1] <= 100:
        raise InvalidArgumentError(
            f"percentiles are two numbers LOW < HIGH in 0..100 (e.g. 0.5 99.5), got {percentiles!r}")
    fslice = limit_frames(fs, fslice)
    q = np.asarray(fs.data_percentile(p, fslice=fslice), float).reshape(2, -1)
    lo, hi = q[0].copy(), q[1].copy()
    flat = ~(hi > lo)
    if flat.any():
        rng = np.asarray(fs.data_range(fslice=fslice), float).reshape(-1, 2)
        lo[flat], hi[flat] = rng[flat, 0], rng[flat, 1]
        still = ~(hi > lo)
        hi[still] = np.where(np.isfinite(lo[still]), lo[still], 0) + 1
        lo[~np.isfinite(lo)] = 0
    return lo, hi


def display_for(fs: FrameSequence, vmin=None, vmax=None, percentiles: Sequence[float] | None = None,
                cmap: str | None = None, fslice=None) -> Display:
    """Choose how to draw a sequence: robust limits, colour map, composite.

    Parameters
    ----------
    fs : FrameSequence
        The sequence (its selected frames, ``fslice``, set the limits).
    vmin, vmax : float, sequence of float or None
        Given limits (one value, or one per channel); missing ones come from the percentiles.
    percentiles : (low, high) or None
        Percentiles of the data for missing limits (default 0.5 and 99.5).
    cmap : str or None
        Colour map of one-channel data; None is ``'gray'``, or ``'RdBu_r'`` for signed data.
    fslice :
        Frames whose values set the limits (default all).

    Returns
    -------
    Display

    Examples
    --------
    >>> from imfun.fseq import FSeq_arr
    >>> d = display_for(FSeq_arr(np.linspace(-1, 3, 400).reshape(4, 10, 10)))
    >>> d.kind, d.cmap, float(d.vmin[0]) == -float(d.vmax[0])
    ('diverging', 'RdBu_r', True)
    """
    c = channels(fs)
    given_lo = None if vmin is None else np.broadcast_to(np.asarray(vmin, float), (c,)).copy()
    given_hi = None if vmax is None else np.broadcast_to(np.asarray(vmax, float), (c,)).copy()
    if c in (3, 4) and fs.dtype == np.uint8 and percentiles is None:
        lo, hi = np.zeros(c), np.full(c, 255.0)  # 8-bit RGB(A) images are shown as they are
    elif given_lo is None or given_hi is None:
        lo, hi = robust_limits(fs, percentiles or PERCENTILES, fslice)
    else:
        lo, hi = given_lo, given_hi
    kind = {1: "grey", 2: "composite"}.get(c, "rgb")
    if kind == "grey" and cmap is None and (is_signed(fs) or _changes_sign(lo[0], hi[0])):
        kind, cmap = "diverging", DIVERGING_CMAP
        if given_lo is None and given_hi is None:
            m = float(max(abs(lo[0]), abs(hi[0]))) or 1.0
            lo, hi = np.array([-m]), np.array([m])
    if given_lo is not None:
        lo = given_lo
    if given_hi is not None:
        hi = given_hi
    return Display(kind, lo, hi, cmap or "gray")


# -- frame numbers and titles --------------------------------------------------------
def frame_numbers(fs: FrameSequence) -> np.ndarray:
    """The source frame index of each position (through sub-sequences and lazy per-frame
    transforms such as ΔF/F or spatial binning).

    >>> from imfun.fseq import FSeq_arr
    >>> frame_numbers(FSeq_arr(np.zeros((40, 2, 2)))[5::10]).tolist()
    [5, 15, 25, 35]
    """
    from .analysis.transforms import DerivedReader, ResampleReader, TimeBinReader

    idx = fs.source_frames(np.arange(len(fs)))
    reader = fs.reader
    while (isinstance(reader, DerivedReader) and not isinstance(reader, TimeBinReader | ResampleReader)
           and reader.shape[0] == len(reader.parent)):
        idx = reader.parent.source_frames(idx)
        reader = reader.parent.reader
    return np.asarray(idx)


def time_unit(fs: FrameSequence) -> str:
    """The unit of ``fs.frame_idx()``: the frame axis' unit, ``'s'`` for recorded time stamps,
    ``''`` when times are frame counts."""
    unit = fs.meta["axes"][0].unit
    return unit or ("s" if "frame_times" in fs.meta else "")


def frame_label(number: int, time: float | None, unit: str) -> str:
    """``'frame 15, 1.500 s'`` (``'frame 15'`` when there is no time unit).

    >>> frame_label(15, 1.5, "s"), frame_label(3, None, "")
    ('frame 15, 1.500 s', 'frame 3')
    """
    return f"frame {number}, {time:.3f} {unit}" if unit and time is not None else f"frame {number}"


# -- matplotlib decorations ------------------------------------------------------------
def nice_length(target: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``target``.

    >>> nice_length(37.0), nice_length(0.8), nice_length(5)
    (20.0, 0.5, 5.0)
    """
    if not target > 0 or not math.isfinite(target):
        raise InvalidArgumentError(f"a scale bar needs a positive length, got {target!r}")
    power = 10.0 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target * (1 + 1e-9))


def micron_scale(axes) -> float | None:
    """µm per pixel along columns when the frame axes are in µm, else None."""
    rows, cols = axes[1], axes[2]
    if rows.unit == "µm" and cols.unit == "µm" and cols.scale > 0:
        return float(cols.scale)
    return None


def add_scale_bar(ax, um_per_pixel: float, width_px: int, colour: str = "white"):
    """Draw a scale bar of a round length (about a fifth of the width) at the lower right.

    Returns the length in µm.
    """
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = nice_length(width_px * um_per_pixel / 5)
    label = f"{length:g} µm"
    bar = AnchoredSizeBar(ax.transData, length / um_per_pixel, label, "lower right", pad=0.4,
                          color=colour, frameon=False, size_vertical=max(1, width_px / 100),
                          fontproperties={"size": 8})
    ax.add_artist(bar)
    return length


def add_colour_bar(fig, ax, display: Display, label: str = ""):
    """A colour bar beside ``ax`` for the display's colour map and limits."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(Normalize(float(display.vmin[0]), float(display.vmax[0])), display.cmap)
    bar = fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.03)
    if label:
        bar.set_label(label)
    return bar


def value_label(fs: FrameSequence) -> str:
    """What the values are: ``'ΔF/F'``, ``'z-score'`` or ``'intensity'``."""
    from .analysis.dfof import DfofReader, ZscoreReader

    if isinstance(fs.reader, DfofReader) or "dfof" in fs.meta:
        return "ΔF/F"
    if isinstance(fs.reader, ZscoreReader) or "zscore" in fs.meta:
        return "z-score"
    return "intensity"
