"""Converting pixels between data types without ever wrapping around.

One rule for the whole library (writers' ``dtype=``, ``as3darray(dtype=)``,
``iter_blocks(dtype=)``) and the command line (``--dtype``):

- a conversion that can hold every value of the source type (``uint8`` to
  ``uint16``, ``uint16`` to ``float32``, any byte order to any other) is a
  plain ``astype``;
- any other conversion (float to integer, a wider to a narrower integer,
  signed to unsigned, ``float64`` to ``float32``) is *checked*: when every
  value of the data fits the target type it converts (floats to integers are
  rounded to the nearest integer, halves to even), otherwise it refuses with a
  :class:`NarrowingError` that gives the data's range, the target's range and
  what to do.  NaN and infinities never go into an integer type;
- an explicit rescaling, :func:`range_cast`, maps a range ``(lo, hi)`` (the
  data's exact range, e.g. ``fs.data_range()``, or one the caller gives)
  linearly onto the target's range (the whole range of an integer type,
  ``[0, 1]`` for a float type); values outside ``(lo, hi)`` are clipped to the
  target's ends, and NaN is refused for integer targets.

Checks and conversions work on pieces of a block, so that their temporaries
stay small next to the block itself.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgumentError

#: values converted at once (float64 temporaries of at most 8 MiB)
PIECE_VALUES = 1 << 20


class NarrowingError(InvalidArgumentError):
    """Data whose values do not fit the data type they are converted to.

    ``lo``, ``hi`` are the offending data's range, ``dtype`` the target type and
    ``where`` names the data (e.g. ``'frames 40-47'``); :meth:`cli_message`
    words the advice for the command line.
    """

    def __init__(self, lo: float, hi: float, dtype: np.dtype, where: str = "", rescale: bool = True):
        self.lo, self.hi, self.dtype, self.where = lo, hi, np.dtype(dtype), where
        how = ("pass rescale=True to map the data's range onto "
               f"{self.dtype} (or rescale=(lo, hi); values outside are clipped)") if rescale else \
            f"rescale explicitly (imfun.dtypes.range_cast(data, '{self.dtype}', lo, hi))"
        super().__init__(self._text(f"{how}, or choose dtype='{self.wider}'"))

    def _text(self, advice: str) -> str:
        t_lo, t_hi = dtype_range(self.dtype)
        place = f" in {self.where}" if self.where else ""
        held = "NaN" if np.isnan(self.lo) else f"values from {_fmt(self.lo)} to {_fmt(self.hi)}"
        nan = "" if self.dtype.kind in "fc" else ", no NaN"
        return (f"the data{place} hold {held}, which do not fit {self.dtype} ({_fmt(t_lo)} to "
                f"{_fmt(t_hi)}{nan}); converting would change them silently. To convert, {advice}")

    def cli_message(self) -> str:
        """The same error, with the command line's options as advice."""
        return self._text(f"pass --scale to map the data's range onto {self.dtype} (or --scale LO,HI; "
                          f"values outside are clipped), or choose --dtype {self.wider}")

    @property
    def wider(self) -> str:
        """A type that holds the data: float64 for a float target, else float32."""
        return "float64" if self.dtype.kind in "fc" else "float32"


def _fmt(value: float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def native(dtype) -> np.dtype:
    """``dtype`` in the machine's byte order: byte order is not a difference of type.

    Examples
    --------
    >>> native(np.dtype('>u2')) == np.dtype('uint16')
    True
    """
    dtype = np.dtype(dtype)
    return dtype.newbyteorder("=") if dtype.byteorder not in ("=", "|") else dtype


def dtype_range(dtype) -> tuple[int | float, int | float]:
    """The smallest and largest value of a numeric type (Python ints for integers).

    Examples
    --------
    >>> dtype_range('uint8'), dtype_range('int16'), dtype_range(bool)
    ((0, 255), (-32768, 32767), (0, 1))
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return 0, 1
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return int(info.min), int(info.max)
    if dtype.kind in "fc":
        info = np.finfo(dtype)
        return float(info.min), float(info.max)
    raise InvalidArgumentError(f"cannot convert pixels to {dtype}: choose a numeric type such as "
                               "uint16 or float32")


def always_fits(src, dst) -> bool:
    """Whether every value of type ``src`` is held exactly by ``dst`` (byte order ignored)."""
    return bool(np.can_cast(native(src), native(dst), "safe"))


def _pieces(block: np.ndarray):
    """Slices along the first axis of ``block`` of about :data:`PIECE_VALUES` values each."""
    per = max(1, PIECE_VALUES // max(1, int(np.prod(block.shape[1:]))))
    for i in range(0, max(len(block), 1), per):
        yield slice(i, i + per)


def _float_range(block: np.ndarray, finite: bool) -> tuple[float, float] | None:
    """``(min, max)`` of a float block, of its finite values only when ``finite``;
    None when the block holds NaN (and ``finite`` is False)."""
    lo, hi = np.inf, -np.inf
    for sl in _pieces(block):
        part = block[sl]
        keep = np.isfinite(part) if finite else True
        p_lo = float(np.min(part, where=keep, initial=np.inf))
        p_hi = float(np.max(part, where=keep, initial=-np.inf))
        if np.isnan(p_lo) or np.isnan(p_hi):
            return None
        lo, hi = min(lo, p_lo), max(hi, p_hi)
    return lo, hi


def check_cast(block: np.ndarray, dtype, where: str = "", rescale: bool = True) -> np.ndarray:
    """``block`` converted to ``dtype``, refused when any value would change beyond rounding.

    Parameters
    ----------
    block : numpy.ndarray
        The data.
    dtype : numpy dtype
        The target type.
    where : str
        What the data are, for the error message (e.g. ``'frames 40-47'``).
    rescale : bool
        Whether the caller takes ``rescale=`` (the error's advice says so).

    Returns
    -------
    numpy.ndarray
        ``block`` itself when it already has the type, else a new array; floats
        converted to integers are rounded (``np.rint``).

    Raises
    ------
    NarrowingError
        When a value lies outside the target's range, or is NaN or infinite and
        the target is an integer type.

    Examples
    --------
    >>> check_cast(np.array([0.4, 2.6, 255.2]), np.uint8)
    array([  0,   3, 255], dtype=uint8)
    >>> check_cast(np.array([-1, 300]), np.uint8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    imfun.dtypes.NarrowingError: the data hold values from -1 to 300, which do not fit uint8 (0 to 255, ...
    """
    dtype = np.dtype(dtype)
    block = np.asarray(block)
    if block.dtype == dtype:
        return block
    if always_fits(block.dtype, dtype):
        return block.astype(dtype)
    if block.dtype.kind == "c" and dtype.kind != "c":
        raise InvalidArgumentError(f"cannot convert complex data{' in ' + where if where else ''} to "
                                   f"{dtype}: take np.abs, .real or .imag in the pipeline first")
    if block.size == 0:
        return block.astype(dtype)
    t_lo, t_hi = dtype_range(dtype)
    if block.dtype.kind == "f":
        # NaN and infinities stay what they are in a float type; an integer type has none
        rng = _float_range(block, finite=dtype.kind in "fc")
        if rng is None:
            raise NarrowingError(np.nan, np.nan, dtype, where, rescale)
        lo, hi = rng
        bad = lo < t_lo or hi > t_hi if dtype.kind in "fc" else \
            not np.isfinite(lo + hi) or np.rint(lo) < t_lo or np.rint(hi) > t_hi  # 255.4 -> 255 fits
    else:
        lo, hi = block.min().item(), block.max().item()
        bad = lo < t_lo or hi > t_hi
    if bad:
        raise NarrowingError(lo, hi, dtype, where, rescale)
    return _convert(block, dtype)


def _convert(block: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Values known to fit: floats to integers are rounded, in pieces (no float temporaries)."""
    if block.dtype.kind != "f" or dtype.kind in "fc":
        return block.astype(dtype)
    out = np.empty(block.shape, dtype)
    for sl in _pieces(block):
        np.rint(block[sl], out=out[sl], casting="unsafe")
    return out


def range_cast(block: np.ndarray, dtype, lo: float, hi: float, where: str = "") -> np.ndarray:
    """Map ``[lo, hi]`` linearly onto the range of ``dtype`` and convert (an explicit rescaling).

    The target's range is the whole range of an integer type (``0..255`` for
    ``uint8``), ``[0, 1]`` for a float type.  Values below ``lo`` or above ``hi``
    are clipped to the target's ends; integer results are rounded.  When
    ``lo == hi`` every value maps to the target's lowest value.

    Raises
    ------
    InvalidArgumentError
        When ``lo > hi`` or either is not finite.
    NarrowingError
        When the data hold NaN and the target is an integer type.

    Examples
    --------
    >>> range_cast(np.array([-0.5, 0.0, 1.0, 1.5]), np.uint8, 0.0, 1.0)
    array([  0,   0, 255, 255], dtype=uint8)
    >>> range_cast(np.array([100, 4195]), np.uint8, 100, 4195)
    array([  0, 255], dtype=uint8)
    """
    dtype = np.dtype(dtype)
    lo, hi = check_range(lo, hi)
    t_lo, t_hi = dtype_range(dtype)
    if dtype.kind in "fc":
        t_lo, t_hi = 0.0, 1.0
    scale = (float(t_hi) - float(t_lo)) / (hi - lo) if hi > lo else 0.0
    # the largest float64 not above the type's maximum (2**63 - 1 is not a float64)
    top = float(t_hi) if float(t_hi) <= t_hi else float(np.nextafter(float(t_hi), -np.inf))
    block = np.asarray(block)
    out = np.empty(block.shape, dtype)
    for sl in _pieces(block):
        part = block[sl].astype(np.float64)
        if dtype.kind not in "fc" and np.isnan(part).any():
            raise NarrowingError(float("nan"), float("nan"), dtype, where)
        part -= lo
        part *= scale
        part += float(t_lo)
        np.clip(part, float(t_lo), top, out=part)
        if dtype.kind in "fc":
            out[sl] = part
        else:
            np.rint(part, out=out[sl], casting="unsafe")
    return out


def check_range(lo, hi) -> tuple[float, float]:
    """``(lo, hi)`` as floats, finite and ``lo <= hi`` (else :class:`InvalidArgumentError`)."""
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"a range to rescale is two numbers (lo, hi), got {lo!r}, {hi!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise InvalidArgumentError(
            f"a range to rescale needs finite lo <= hi, got ({lo}, {hi}); data holding NaN or "
            "infinities need a range given explicitly, e.g. rescale=(0, 1)")
    return lo, hi


__all__ = ["NarrowingError", "always_fits", "check_cast", "check_range", "dtype_range", "native",
           "range_cast"]
