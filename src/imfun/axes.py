"""Physical axes: a ``(scale, unit)`` pair for the frame axis and the two spatial axes.

Units are kept as the user or the file gives them, with spellings normalised
(``um``/``micron`` -> ``µm``, ``sec`` -> ``s``).  Readers convert what files say
into seconds and micrometres with :func:`to_standard`.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

from .errors import InvalidArgumentError, MetadataWarning

_SPELLINGS = {
    "um": "µm", "μm": "µm", "micron": "µm", "microns": "µm", "micrometer": "µm",
    "micrometre": "µm", "\\u00b5m": "µm", "sec": "s", "second": "s", "seconds": "s",
    "msec": "ms", "millisecond": "ms", "us": "µs", "μs": "µs", "microsecond": "µs",
    "nanometer": "nm", "nanometre": "nm", "millimeter": "mm", "meter": "m", "metre": "m",
    "none": "", "pixel": "", "pixels": "", "px": "",
}
# factors to the standard units of microscopy: µm for length, s for time
_LENGTH_TO_UM = {"m": 1e6, "cm": 1e4, "mm": 1e3, "µm": 1.0, "nm": 1e-3, "pm": 1e-6, "Å": 1e-4}
_TIME_TO_S = {"h": 3600.0, "min": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}


def normalize_unit(unit: str | None) -> str:
    """Return the canonical spelling of a unit name (``'um'`` -> ``'µm'``)."""
    if unit is None:
        return ""
    u = str(unit).strip()
    return _SPELLINGS.get(u.lower(), _SPELLINGS.get(u, u))


def to_standard(scale: float, unit: str | None) -> AxisScale:
    """Convert a length to µm or a time to s; other units are kept as they are.

    >>> to_standard(2.5e-7, "m")
    AxisScale(scale=0.25, unit='µm')
    >>> to_standard(50, "ms")
    AxisScale(scale=0.05, unit='s')
    """
    u = normalize_unit(unit)
    if u in _LENGTH_TO_UM:
        return AxisScale(float(scale) * _LENGTH_TO_UM[u], "µm")
    if u in _TIME_TO_S:
        return AxisScale(float(scale) * _TIME_TO_S[u], "s")
    return AxisScale(float(scale), u)


def checked_scale(value, unit: str | None, where: str) -> AxisScale | None:
    """A scale read from a file, in standard units; None, with a
    :class:`~imfun.errors.MetadataWarning` naming ``where``, when it is not a
    positive number."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not math.isfinite(v) or v <= 0:
        warnings.warn(f"ignored the axis scale {value!r} of {where}: it must be a positive number",
                      MetadataWarning, stacklevel=3)
        return None
    return to_standard(v, unit)


class AxisScale(NamedTuple):
    """The step between neighbouring samples along one axis and its unit."""

    scale: float = 1.0
    unit: str = ""

    @classmethod
    def coerce(cls, value) -> AxisScale:
        """Make an AxisScale from ``(scale, unit)``, a bare number, or None."""
        if value is None:
            return cls()
        if isinstance(value, int | float):
            scale, unit = value, ""
        else:
            try:
                scale, unit = value
            except (TypeError, ValueError):
                raise InvalidArgumentError(
                    f"an axis is a (scale, unit) pair such as (0.05, 's'), got {value!r}") from None
        try:
            scale = float(scale)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"an axis scale must be a number, got {scale!r}") from None
        if not math.isfinite(scale) or scale <= 0:
            raise InvalidArgumentError(f"an axis scale must be positive and finite, got {scale!r}")
        return cls(scale, normalize_unit(unit))

    def __str__(self) -> str:
        return f"{self.scale:g} {self.unit}".rstrip() if self.unit else f"{self.scale:g}"


class Axes(list):
    """``meta['axes']``: three :class:`AxisScale` entries (frames, rows, columns).

    Entries can be replaced with any ``(scale, unit)`` pair; they are checked
    and stored as :class:`AxisScale`.

    >>> ax = Axes()
    >>> ax[0] = (0.05, 's')
    >>> scale, unit = ax[0]
    >>> ax
    [AxisScale(scale=0.05, unit='s'), AxisScale(scale=1.0, unit=''), AxisScale(scale=1.0, unit='')]
    """

    def __init__(self, values=None):
        values = list(values) if values is not None else []
        if len(values) > 3:
            raise InvalidArgumentError(
                f"meta['axes'] holds three (scale, unit) pairs (frames, rows, columns), got {len(values)}")
        values += [None] * (3 - len(values))
        super().__init__(AxisScale.coerce(v) for v in values)

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            new = list(self)
            new[index] = value
            if len(new) != 3:
                raise InvalidArgumentError("meta['axes'] must keep exactly three entries")
            super().__setitem__(slice(None), [AxisScale.coerce(v) for v in new])
        else:
            super().__setitem__(index, AxisScale.coerce(value))

    def _refuse(self, *args, **kwargs):
        raise InvalidArgumentError("meta['axes'] has exactly three entries; assign them instead")

    append = extend = insert = pop = remove = clear = __delitem__ = __iadd__ = _refuse

    def copy(self) -> Axes:
        return Axes(self)

    def __reduce__(self):
        # list subclasses unpickle through extend(), which Axes refuses
        return (Axes, (list(self),))

    def describe(self) -> str:
        """A short text such as ``'t: 0.05 s, y: 0.5 µm, x: 0.5 µm'``."""
        return ", ".join(f"{name}: {ax}" for name, ax in zip("tyx", self, strict=True))
