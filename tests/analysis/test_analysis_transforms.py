"""Lazy geometry transforms: values equal numpy, and the physical axes follow."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imfun.config
from imfun.errors import InvalidArgumentError
from imfun.fseq import FSeq_arr, open_seq

AXES = [(0.1, "s"), (0.5, "um"), (0.25, "um")]


def make(n=20, shape=(32, 48), seed=0, dtype=np.uint16):
    x = np.random.default_rng(seed).integers(0, 4000, (n, *shape)).astype(dtype)
    return x, FSeq_arr(x, meta={"axes": AXES})


def test_bin_space_values_and_axes():
    x, fs = make()
    b = fs.bin(2)
    assert b.frame_shape == (16, 24) and len(b) == 20 and b.dtype == np.float32
    assert b.meta["axes"][1] == (1.0, "µm") and b.meta["axes"][2] == (0.5, "µm")
    assert b.meta["axes"][0] == (0.1, "s")
    assert fs.meta["axes"][1] == (0.5, "µm")  # the parent is untouched
    with imfun.config.budget("16 KiB"):
        np.testing.assert_allclose(np.asarray(b), x.reshape(20, 16, 2, 24, 2).mean((2, 4)), rtol=1e-6)
    assert b.reader.source == "bin(2) of array"


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), rows=st.integers(1, 13), cols=st.integers(1, 13), fy=st.integers(1, 4),
       fx=st.integers(1, 4), budget=st.integers(200, 5000), colour=st.booleans())
def test_bin_hypothesis(n, rows, cols, fy, fx, budget, colour):
    if rows < fy or cols < fx:
        return
    shape = (n, rows, cols, 2) if colour else (n, rows, cols)
    x = np.random.default_rng(n * rows + cols).random(shape)
    b = FSeq_arr(x).bin((fy, fx), budget=budget)
    r, c = rows // fy, cols // fx
    ref = x[:, :r * fy, :c * fx].reshape(n, r, fy, c, fx, *shape[3:]).mean((2, 4))
    np.testing.assert_allclose(np.asarray(b), ref, rtol=1e-12)
    # a strided crop of the binned frames
    np.testing.assert_allclose(b.as3darray(crop=(slice(0, None, 2), slice(c - 1, None))),
                               ref[:, ::2, c - 1:], rtol=1e-12)


def test_bin_time_values_times_and_axes():
    x, fs = make(21)
    fs.meta["t0"] = 5.0
    b = fs.bin_time(4)
    assert len(b) == 5 and b.meta["axes"][0] == (0.4, "s")
    np.testing.assert_allclose(np.asarray(b), x[:20].reshape(5, 4, 32, 48).mean(1), rtol=1e-6)
    np.testing.assert_allclose(b.frame_idx(), fs.frame_idx()[:20].reshape(5, 4).mean(1))
    np.testing.assert_allclose(np.asarray(b[[4, 1]]), x[:20].reshape(5, 4, 32, 48).mean(1)[[4, 1]], rtol=1e-6)
    # irregular frame times give binned frame times
    fs.meta["frame_times"] = np.cumsum(np.linspace(0.1, 0.3, 21))
    b = fs.bin_time(3)
    np.testing.assert_allclose(b.frame_idx(), fs.meta["frame_times"].reshape(7, 3).mean(1))


def test_crop_frames_lazy_and_scaled():
    x, fs = make()
    c = fs.crop_frames(slice(4, 20), slice(0, 48, 3))
    assert c.frame_shape == (16, 16)
    assert c.meta["axes"][1] == (0.5, "µm") and c.meta["axes"][2] == (0.75, "µm")
    np.testing.assert_array_equal(np.asarray(c), x[:, 4:20, ::3])
    np.testing.assert_array_equal(c.mean_frame(), x[:, 4:20, ::3].mean(0))
    # crops compose, and a crop of a crop is the crop of the frame
    cc = c.cropped((slice(2, 5),))
    np.testing.assert_array_equal(np.asarray(cc), x[:, 6:9, ::3])
    assert fs.frame_shape == (32, 48)
    with pytest.raises(InvalidArgumentError):
        fs.crop_frames(slice(None, None, -1))


def test_crop_with_pipeline():
    x, fs = make()
    fs.fns = [lambda f: f * 2.0]
    c = fs.crop_frames(slice(1, 5), slice(2, 3))
    np.testing.assert_array_equal(np.asarray(c), x[:, 1:5, 2:3] * 2.0)


def test_resample_time_linear():
    x, fs = make(11)
    r = fs.resample_time(dt=0.05)
    assert len(r) == 21 and r.meta["axes"][0] == (0.05, "s")
    xf = x.astype(float)
    ref = np.empty((21, 32, 48))
    ref[0::2] = xf
    ref[1::2] = (xf[:-1] + xf[1:]) / 2
    with imfun.config.budget("16 KiB"):
        np.testing.assert_allclose(np.asarray(r), ref, rtol=1e-6)
    np.testing.assert_allclose(r.frame_idx(), np.arange(21) * 0.05)
    down = fs.resample_time(factor=0.5)
    assert len(down) == 6 and down.meta["axes"][0].scale == pytest.approx(0.2)
    np.testing.assert_allclose(np.asarray(down), xf[::2], rtol=1e-6)
    # irregular frame times: interpolation uses them
    fs.meta["frame_times"] = np.array([0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11.0])
    r = fs.resample_time(dt=1.0)
    np.testing.assert_allclose(np.asarray(r[2]), (xf[1] + xf[2]) / 2, rtol=1e-6)


def test_resample_errors():
    x, _ = make(5)
    fs = FSeq_arr(x)
    with pytest.raises(InvalidArgumentError, match="time unit"):
        fs.resample_time(dt=0.5)
    with pytest.raises(InvalidArgumentError):
        fs.resample_time()
    assert len(fs.resample_time(factor=2)) == 9


def test_bin_errors():
    _, fs = make()
    for bad in (0, (2,), (2, 0), 1.5, True):
        with pytest.raises(InvalidArgumentError):
            fs.bin(bad)
    with pytest.raises(InvalidArgumentError):
        fs.bin(64)
    with pytest.raises(InvalidArgumentError):
        fs.bin_time(100)


def test_chain_on_a_file_pickles_and_reads(tmp_path):
    import tifffile

    x, _ = make(12)
    p = tmp_path / "m.tif"
    tifffile.imwrite(p, x, imagej=True, resolution=(2.0, 2.0),
                     metadata={"finterval": 0.1, "unit": "um", "axes": "TYX"})
    with open_seq(p) as fs:
        chain = fs[2:].crop_frames(slice(0, 30)).bin(3).bin_time(2)
        assert chain.meta["axes"][0].scale == pytest.approx(0.2)
        assert chain.meta["axes"][1].scale == pytest.approx(1.5)
        ref = x[2:, :30, :48].astype(float).reshape(10, 10, 3, 16, 3).mean((2, 4))
        ref = ref.reshape(5, 2, 10, 16).mean(1)
        np.testing.assert_allclose(np.asarray(chain), ref, rtol=1e-5)
        again = pickle.loads(pickle.dumps(chain))
        np.testing.assert_allclose(np.asarray(again), ref, rtol=1e-5)
        again.close()
        assert "bin_time(2) of bin(3) of" in chain.reader.source
