"""The axis layer: what a source's dimensions are, and which of them make the frames.

Every reader describes its source as :class:`Dims` — the size of each
dimension by letter (``T`` time, ``Z`` depth, ``C`` channel planes, ``Y`` rows,
``X`` columns, ``S`` samples of a pixel such as RGB; other letters for anything
else), the physical scale of each, and the channel names — and asks
:func:`select` what to read for the user's ``ch=`` and ``z=``.  The rules are
the same for every format:

* **Frames** go along ``T``.  A source with both time points and z-planes
  needs ``z=``: a plane (int), or ``'max'`` / ``'mean'`` for a projection over
  the planes at each time point (:class:`ZProjectionReader`); without it,
  opening is an error that lists the planes.  A z-stack without time points
  is read plane by plane (frames go along ``Z``).  A source whose only
  non-spatial axis is channels (``C × Y × X``) opens as one frame per channel
  when ``ch`` is None, so that a stack saved as an ImageJ hyperstack of
  channels reads back as the stack.
* **Rows** are ``Y``; a source without ``Y`` (a Leica ``xzt`` image, an
  ``xt`` line scan) has ``Z`` or ``T`` as its rows, with their scale.
* **Channels**: ``ch`` is an index, a name from the source's channel names, or
  ``'r'``/``'g'``/``'b'``/``'a'``; None keeps all channels as the frames' last
  axis (``rows × cols × channels``).  Separate channel planes (``C``) and pixel
  samples (``S``) are treated alike.
* Other dimensions longer than 1 are read at their first element, with a
  warning.

The result, a :class:`Selection`, tells the reader which index of each
dimension is fixed, which dimension runs along the frames and which is kept
as the channel axis, the output shape and axes, and the metadata every reader
gives under the same keys (``channel_names``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ..axes import AxisScale
from ..errors import ChannelError, ImfunWarning, InvalidArgumentError
from .base import Reader

CHANNEL_LETTERS = {"r": 0, "g": 1, "b": 2, "a": 3}
PROJECTIONS = ("max", "mean")
KNOWN = "TZCYXS"


def channel_index(ch, n_channels: int, names: Sequence[str] = (), source: str = "the data") -> int:
    """Resolve ``ch=`` (an int, a channel name, or ``'r'``/``'g'``/``'b'``/``'a'``) to an index.

    >>> channel_index('GCaMP', 2, ['tdTomato', 'GCaMP'])
    1
    >>> channel_index('g', 3), channel_index(-1, 3)
    (1, 2)
    """
    names = [str(n) for n in names]
    if isinstance(ch, str):
        if ch in names:
            return names.index(ch)
        if ch.lower() not in CHANNEL_LETTERS:
            known = f", or one of the channel names {names}" if names else ""
            raise ChannelError(f"unknown channel {ch!r} for {source}; use an index 0..{n_channels - 1}, "
                               f"'r', 'g', 'b'{known}")
        ch = CHANNEL_LETTERS[ch.lower()]
    if isinstance(ch, bool) or not isinstance(ch, int | np.integer):
        raise ChannelError(f"ch= is an int, a channel name or None, got {ch!r}")
    if not -n_channels <= ch < n_channels:
        if n_channels == 1:
            raise ChannelError(f"ch={ch} was asked of {source}, which has one channel; use ch=0 or None")
        listing = f" ({', '.join(names)})" if names else ""
        raise ChannelError(f"ch={ch} was asked of {source}, which has {n_channels} channels "
                           f"0..{n_channels - 1}{listing}")
    return int(ch) % n_channels


def pick_channel(frame: np.ndarray, ch) -> np.ndarray:
    """One channel of an image (``rows x cols[, channels]``) by index or ``'r'``/``'g'``/``'b'``/``'a'``,
    or all of it for ``ch=None``; a grey image has only channel 0.

    >>> pick_channel(np.zeros((2, 3, 4)), 'b').shape, pick_channel(np.zeros((2, 3)), 0).shape
    ((2, 3), (2, 3))
    """
    frame = np.asarray(frame)
    if ch is None:
        return frame
    if frame.ndim == 2:
        channel_index(ch, 1, (), "a grey (single-channel) image")
        return frame
    return frame[..., channel_index(ch, frame.shape[-1], (), "an image")]


# plain classes, not dataclasses: making a dataclass costs ``import imfun.fseq`` about a millisecond
class Dims:
    """A source's dimensions: sizes by letter (in storage order), scales, channel names."""

    def __init__(self, sizes: dict[str, int], scales: dict[str, AxisScale | None] | None = None,
                 channel_names: Sequence[str] = (), source: str = "the data"):
        self.sizes, self.scales = sizes, {} if scales is None else scales
        self.channel_names, self.source = channel_names, source

    def __repr__(self) -> str:
        return f"Dims({self.sizes!r}, {self.scales!r}, {self.channel_names!r}, {self.source!r})"

    def size(self, letter: str) -> int:
        return int(self.sizes.get(letter, 1))

    def describe(self) -> str:
        """``'T=10 Z=5 C=2 Y=64 X=64'``."""
        return " ".join(f"{a}={n}" for a, n in self.sizes.items())


class Selection:
    """What a reader reads for a choice of ``ch`` and ``z`` (see the module text).

    ``frame`` is the letter whose index is the frame number (None: one frame);
    ``rows`` and ``cols`` the letters of a frame's rows and columns; ``channel``
    the letter kept as the frames' last axis (None: grey frames); ``fixed`` the
    index of every other dimension.
    """

    def __init__(self, frame: str | None, rows: str, cols: str, channel: str | None,
                 fixed: dict[str, int], shape: tuple[int, ...], axes: list[AxisScale | None],
                 channel_names: list[str], notes: list[str] | None = None):
        self.frame, self.rows, self.cols, self.channel = frame, rows, cols, channel
        self.fixed, self.shape, self.axes = fixed, shape, axes
        self.channel_names, self.notes = channel_names, [] if notes is None else notes

    def __repr__(self) -> str:
        return (f"Selection(frame={self.frame!r}, rows={self.rows!r}, channel={self.channel!r}, "
                f"fixed={self.fixed!r}, shape={self.shape!r})")

    def index(self, frame: int, channel: int | None = None) -> dict[str, int]:
        """The index of every non-spatial dimension for one frame (and one kept channel)."""
        sel = dict(self.fixed)
        if self.frame is not None:
            sel[self.frame] = int(frame)
        if channel is not None and self.channel is not None:
            sel[self.channel] = int(channel)
        return sel

    def metadata(self) -> dict:
        """The metadata every reader gives under the same keys."""
        out: dict = {"dims_selection": {"frames": self.frame, "rows": self.rows, "cols": self.cols,
                                        "channels": self.channel, "fixed": dict(self.fixed)}}
        if self.channel_names:
            out["channel_names"] = list(self.channel_names)
        if self.notes:
            out["dims_notes"] = list(self.notes)
        return out


def _check_z(z) -> int | None:
    if z is None:
        return None
    if isinstance(z, str):
        raise InvalidArgumentError(f"z={z!r} is a projection; it is read through ZProjectionReader "
                                   "(open_seq and the FSeq_* classes do this)")
    if isinstance(z, bool) or not isinstance(z, int | np.integer):
        raise InvalidArgumentError(f"z= is a plane index (int), 'max', 'mean' or None, got {z!r}")
    return int(z)


def _planes_error(dims: Dims, what: str) -> InvalidArgumentError:
    nz = dims.size("Z")
    return InvalidArgumentError(
        f"{dims.source} has {what} of {nz} z-planes ({dims.describe()}); choose a plane with "
        f"z=0..{nz - 1}, or z='max' / z='mean' for a projection over the planes at each time point")


def _rows_letter(dims: Dims) -> str:
    if "Y" in dims.sizes:
        return "Y"
    if dims.size("Z") > 1:
        return "Z"  # an x-z image (Leica xzt)
    if "T" in dims.sizes:
        return "T"  # a line scan: time runs down the rows
    raise InvalidArgumentError(f"{dims.source} has no rows axis ({dims.describe()})")


def _channels(dims: Dims, ch, fixed: dict[str, int]) -> tuple[str | None, list[str]]:
    """The letter kept as the channel axis (ch=None) or the channel fixed by ``ch``."""
    nc, ns = dims.size("C"), dims.size("S")
    names = [str(n) for n in dims.channel_names]
    if ch is None:
        if nc > 1 and ns > 1:
            raise ChannelError(f"{dims.source} has {nc} channels of {ns} samples each; choose one "
                               f"with ch=0..{nc - 1}")
        kept = "C" if nc > 1 else "S" if ns > 1 else None
        return kept, names if kept == "C" else []
    if nc > 1:
        i = channel_index(ch, nc, names, dims.source)
        fixed["C"] = i
        return ("S" if ns > 1 else None), names[i:i + 1] if len(names) == nc else []
    if ns > 1:
        fixed["S"] = channel_index(ch, ns, (), dims.source)
        return None, []
    if not (isinstance(ch, str) and names[:1] == [ch]):
        channel_index(ch, 1, names, dims.source)  # ch=0 (or -1) of grey data is fine
    return None, names[:1]


def _frame_letter(dims: Dims, z: int | None, rows: str, ch, fixed: dict[str, int],
                  notes: list[str]) -> str | None:
    nt = dims.size("T") if rows != "T" else 1
    nz = dims.size("Z") if rows != "Z" else 1
    if 0 in (nt, nz):  # no frames: the reader reports an empty source
        return "T" if nt == 0 else "Z"
    if z is not None:
        if nz <= 1 and z not in (0, -1):
            raise InvalidArgumentError(f"z={z} was given, but {dims.source} has no z-planes "
                                       f"({dims.describe()}); leave z unset")
        if nz > 1:
            if not -nz <= z < nz:
                raise InvalidArgumentError(f"z={z} was asked of {dims.source}, which has {nz} z-planes "
                                           f"(0..{nz - 1})")
            fixed["Z"] = z % nz
    if nt > 1:
        if nz > 1 and z is None:
            raise _planes_error(dims, f"{nt} time points")
        return "T"
    if nz > 1 and z is None:
        return "Z"
    if ch is None and dims.size("C") > 1 and dims.size("S") <= 1:
        notes.append("the source's only non-spatial axis is channels: read as one frame per channel")
        return "C"
    return None


def select(dims: Dims, ch=None, z=None) -> Selection:
    """Decide the frames, rows, columns and channels of a source for ``ch`` and ``z``.

    >>> from imfun.axes import AxisScale
    >>> d = Dims({'T': 10, 'Z': 5, 'C': 2, 'Y': 64, 'X': 80}, {'T': AxisScale(0.5, 's')}, ['red', 'green'])
    >>> s = select(d, ch='green', z=2)
    >>> s.frame, s.fixed, s.shape, s.axes[0]
    ('T', {'C': 1, 'Z': 2}, (10, 64, 80), AxisScale(scale=0.5, unit='s'))
    >>> select(Dims({'T': 100, 'X': 512})).shape   # a line scan: one frame, time down the rows
    (1, 100, 512)
    """
    z = _check_z(z)
    fixed: dict[str, int] = {}
    notes: list[str] = []
    rows = _rows_letter(dims)
    channel, names = _channels(dims, ch, fixed)
    frame = _frame_letter(dims, z, rows, ch, fixed, notes)
    if frame == "C":
        channel, names = None, []
        if dims.channel_names:
            notes.append(f"channel names of the frames: {list(dims.channel_names)}")
    for letter, n in dims.sizes.items():
        if letter in (frame, rows, "X", channel) or letter in fixed:
            continue
        if n > 1 and letter not in KNOWN:
            warnings.warn(f"{dims.source} has a dimension {letter!r} of {n} elements that imfun does not "
                          "read as frames; its first element is used", ImfunWarning, stacklevel=3)
        fixed[letter] = 0
    n_frames = dims.size(frame) if frame is not None else 1
    shape = (n_frames, dims.size(rows), dims.size("X"))
    if channel is not None:
        shape += (dims.size(channel),)
    frame_scale = dims.scales.get(frame) if frame in ("T", "Z") else None
    axes = [frame_scale, dims.scales.get(rows), dims.scales.get("X")]
    return Selection(frame, rows, "X", channel, fixed, shape, axes, names, notes)


# -- projections over z -------------------------------------------------------------------
def is_projection(z) -> bool:
    return isinstance(z, str) and z.lower() in PROJECTIONS


def open_planes(make: Callable[..., Reader], *args, z=None, **kwargs) -> Reader:
    """``make(*args, z=z, **kwargs)``, or for ``z='max'``/``'mean'`` a projection over all planes.

    ``make`` is a reader class taking ``z=``; its readers expose ``dims`` (a :class:`Dims`).
    """
    if not isinstance(z, str):
        return make(*args, z=z, **kwargs)
    if not is_projection(z):
        raise InvalidArgumentError(f"z={z!r}: use a plane index (int), 'max' or 'mean'")
    first = make(*args, z=0, **kwargs)
    n_planes = first.dims.size("Z")
    if n_planes <= 1:
        first.close()
        raise InvalidArgumentError(f"z={z!r} asks for a projection over z-planes, but {first.source} has "
                                   "none; leave z unset")
    parts = [first]
    try:
        parts += [make(*args, z=k, **kwargs) for k in range(1, n_planes)]
    except BaseException:
        for p in parts:
            p.close()
        raise
    return ZProjectionReader(parts, z.lower())


class ZProjectionReader(Reader):
    """The maximum or mean over z-planes at each frame, from one reader per plane.

    The mean is computed in float64 and given as float32 for 8/16-bit data and
    float32 (float64 otherwise); the maximum keeps the type.  The frame axis
    (time, with its interval) and the metadata are the first plane's.
    """

    def __init__(self, parts: list[Reader], how: str):
        if how not in PROJECTIONS:
            raise InvalidArgumentError(f"a z projection is 'max' or 'mean', got {how!r}")
        first = parts[0]
        self.parts, self.how = parts, how
        self.shape, self.axes = first.shape, first.axes
        self.dtype = first.dtype if how == "max" else np.result_type(first.dtype, np.float32)
        self.metadata = {**first.metadata, "z_projection": f"{how} of {len(parts)} planes"}
        if "dims_selection" in first.metadata:  # a copy: the first plane's own stays as it is
            chosen = first.metadata["dims_selection"]
            fixed = {k: v for k, v in chosen["fixed"].items() if k != "Z"}
            self.metadata["dims_selection"] = {**chosen, "fixed": fixed}
        self.source = f"{how} over {len(parts)} z-planes of {first.source}"
        self.paths = first.paths
        self.dims = getattr(first, "dims", None)
        self.cheap_crop = all(p.cheap_crop for p in parts)
        self.thread_safe = all(p.thread_safe for p in parts)
        self.natural_block = first.natural_block

    def _read(self, frames, crop):
        if self.how == "max":
            out = np.array(self.parts[0].read(frames, crop))
            for p in self.parts[1:]:
                np.maximum(out, p.read(frames, crop), out=out)
            return out
        acc = np.array(self.parts[0].read(frames, crop), dtype=np.float64)
        for p in self.parts[1:]:
            acc += p.read(frames, crop)
        acc /= len(self.parts)
        return acc.astype(self.dtype, copy=False)

    def close(self) -> None:
        for p in getattr(self, "parts", ()):
            p.close()


__all__ = ["Dims", "Selection", "ZProjectionReader", "channel_index", "is_projection", "open_planes",
           "pick_channel", "select"]
