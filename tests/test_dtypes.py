"""imfun.dtypes: conversions that never wrap, against plain numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from imfun import dtypes
from imfun.dtypes import NarrowingError, check_cast, dtype_range, native, range_cast
from imfun.errors import InvalidArgumentError

INT_TYPES = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64, np.uint64]
ALL_TYPES = [*INT_TYPES, np.float16, np.float32, np.float64, np.bool_]


@settings(max_examples=150, deadline=None)
@given(src=st.sampled_from(ALL_TYPES), dst=st.sampled_from(ALL_TYPES), data=st.data())
def test_check_cast_converts_exactly_or_refuses(src, dst, data):
    arr = data.draw(hnp.arrays(src, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5)))
    t_lo, t_hi = dtype_range(dst)
    values = arr.astype(np.float64) if arr.dtype != np.uint64 and arr.dtype != np.int64 else arr
    if np.dtype(dst).kind in "biu" and np.dtype(src).kind == "f":
        fits = bool(np.all(np.isfinite(values)) and np.all(np.rint(values) >= t_lo)
                    and np.all(np.rint(values) <= t_hi))
        expected = np.rint(values)
    elif np.dtype(dst).kind == "f":
        finite = values[np.isfinite(values)] if np.dtype(src).kind == "f" else values
        fits = bool(np.all(finite >= t_lo) and np.all(finite <= t_hi))
        expected = values
    else:
        # numpy compares bools only with Python ints below 2**63
        ints = arr.astype(np.uint8) if arr.dtype == np.bool_ else arr
        fits = bool(np.all(ints >= t_lo) and np.all(ints <= t_hi)) if arr.size else True
        expected = arr
    if not fits:
        with pytest.raises(NarrowingError, match="do not fit"):
            check_cast(arr, dst)
        return
    out = check_cast(arr, dst)
    assert out.dtype == np.dtype(dst)
    if np.dtype(dst).kind == "b":
        np.testing.assert_array_equal(out, np.asarray(expected) != 0)
    else:
        np.testing.assert_array_equal(out, np.asarray(expected).astype(dst))


def test_the_wrap_of_the_issue_is_refused_with_ranges_and_advice():
    twelve_bit = np.array([[0, 4095], [256, 300]], np.uint16)
    with pytest.raises(NarrowingError) as info:
        check_cast(twelve_bit, np.uint8, "frames 0-1")
    text = str(info.value)
    assert "frames 0-1" in text and "0 to 4095" in text and "uint8 (0 to 255" in text
    assert "rescale=True" in text and "dtype='float32'" in text
    assert "--scale" in info.value.cli_message() and "--dtype float32" in info.value.cli_message()
    assert isinstance(info.value, InvalidArgumentError) and isinstance(info.value, ValueError)
    negative = np.array([-0.2, 0.5, 1.5], np.float32) - 1  # negative ΔF/F
    with pytest.raises(NarrowingError, match=r"-1\.2 to 0\.5"):
        check_cast(negative, np.uint16)


@pytest.mark.parametrize("dst", [np.uint8, np.int32])
def test_nan_and_infinity_never_go_into_integers(dst):
    with pytest.raises(NarrowingError, match="hold NaN"):
        check_cast(np.array([1.0, np.nan]), dst)
    with pytest.raises(NarrowingError, match="inf"):
        check_cast(np.array([1.0, np.inf]), dst)
    with pytest.raises(NarrowingError, match="hold NaN"):
        range_cast(np.array([1.0, np.nan]), dst, 0, 1)


def test_float_to_float_keeps_nan_and_infinity_and_refuses_overflow():
    out = check_cast(np.array([np.nan, np.inf, -np.inf, 1e30]), np.float32)
    np.testing.assert_array_equal(out, np.array([np.nan, np.inf, -np.inf, 1e30], np.float32))
    with pytest.raises(NarrowingError, match="dtype='float64'"):
        check_cast(np.array([1e39]), np.float32)


def test_rounding_to_the_types_ends_still_fits():
    np.testing.assert_array_equal(check_cast(np.array([-0.4, 255.4]), np.uint8), [0, 255])
    with pytest.raises(NarrowingError):
        check_cast(np.array([255.6]), np.uint8)


def test_complex_data_are_refused():
    with pytest.raises(InvalidArgumentError, match=r"np\.abs"):
        check_cast(np.array([1 + 1j]), np.float64)


def test_byte_order_is_not_a_difference():
    assert native(">u4") == np.dtype(np.uint32) and native(">u4").isnative
    assert native("|u1") == np.dtype(np.uint8)
    out = check_cast(np.arange(9, dtype=">u2"), np.uint16)
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, np.arange(9))


def test_the_same_type_is_no_copy():
    a = np.arange(6, dtype=np.uint16)
    assert check_cast(a, np.uint16) is a


@settings(max_examples=100, deadline=None)
@given(dst=st.sampled_from([np.uint8, np.int16, np.uint16, np.int32, np.float32]),
       values=hnp.arrays(np.float64, st.integers(1, 30),
                         elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
       lo=st.floats(-1e3, 1e3), width=st.floats(1e-3, 1e4))
def test_range_cast_is_the_linear_map_clipped_and_rounded(dst, values, lo, width):
    hi = lo + width
    out = range_cast(values, dst, lo, hi)
    if np.dtype(dst).kind == "f":
        t_lo, t_hi = 0.0, 1.0
    else:
        t_lo, t_hi = (float(v) for v in dtype_range(dst))
    ref = np.clip((values - lo) * ((t_hi - t_lo) / (hi - lo)) + t_lo, t_lo, t_hi)
    if np.dtype(dst).kind != "f":
        ref = np.rint(ref)
    assert out.dtype == np.dtype(dst)
    np.testing.assert_allclose(out.astype(np.float64), ref.astype(dst).astype(np.float64),
                               rtol=1e-6, atol=1.0 if np.dtype(dst).kind != "f" else 1e-6)
    assert out.min() >= t_lo and out.max() <= t_hi


def test_range_cast_maps_the_ends_exactly():
    np.testing.assert_array_equal(range_cast(np.array([100, 4195, 2147.5]), np.uint8, 100, 4195),
                                  [0, 255, 128])
    np.testing.assert_array_equal(range_cast(np.array([0.0, 1.0]), np.uint64, 0, 1),
                                  np.array([0, 2**64 - 2048], np.uint64))  # the largest float64 below 2**64
    np.testing.assert_array_equal(range_cast(np.array([5.0, 5.0]), np.uint8, 5, 5), [0, 0])


def test_range_cast_refuses_bad_ranges():
    for lo, hi in [(1, 0), (0, np.nan), (-np.inf, 1), ("a", 1)]:
        with pytest.raises(InvalidArgumentError, match="range"):
            range_cast(np.zeros(3), np.uint8, lo, hi)


def test_large_blocks_are_converted_in_pieces(monkeypatch):
    monkeypatch.setattr(dtypes, "PIECE_VALUES", 7)  # pieces of one 2x3 frame
    block = np.linspace(-1, 300, 5 * 2 * 3).reshape(5, 2, 3)
    with pytest.raises(NarrowingError, match="-1 to 300"):
        check_cast(block, np.uint8)
    np.testing.assert_array_equal(check_cast(block + 1, np.uint16), np.rint(block + 1).astype(np.uint16))
    ref = np.rint(np.clip((block - 0) * (255 / 200), 0, 255)).astype(np.uint8)
    np.testing.assert_array_equal(range_cast(block, np.uint8, 0, 200), ref)


def test_dtype_range_refuses_non_numbers():
    with pytest.raises(InvalidArgumentError, match="numeric"):
        dtype_range("U4")


@pytest.mark.parametrize("make", [lambda fs: fs.dfof(baseline_frames=3, dtype=np.uint16),
                                  lambda fs: fs.zscore(dtype="int16"), lambda fs: fs.bin(2, dtype=np.uint8)])
def test_computed_sequences_refuse_integer_types(make):
    """dF/F with a uint16 result would turn negative values into 65535: refused, with what to do."""
    from imfun.errors import InvalidArgumentError
    from imfun.fseq import FSeq_arr

    fs = FSeq_arr(np.random.default_rng(0).integers(1, 4000, (8, 4, 4)).astype(np.uint16))
    with pytest.raises(InvalidArgumentError, match="rescale=True"):
        make(fs)
