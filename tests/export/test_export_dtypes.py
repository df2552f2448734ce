"""Writers, as3darray, iter_blocks and the command line never wrap values; byte order is kept.

Issue 11 items 2 and 5: ``--dtype uint8`` on 12-bit data gave ``a % 256``, negative
ΔF/F written as uint16 became 65535, and a big-endian ``>u2`` HDF5 data set could
not be written as an ImageJ TIFF.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile
import zarr

from imfun.cli import main
from imfun.dtypes import NarrowingError
from imfun.errors import InvalidArgumentError
from imfun.export import writers
from imfun.fseq import FSeq_arr, open_seq

AXES = [(0.5, "s"), (0.25, "µm"), (0.25, "µm")]
WRITE = {
    "tiff": ("out.tif", writers.to_tiff, tifffile.imread),
    "tiff-zlib": ("out.tif", lambda fs, p, **kw: writers.to_tiff(fs, p, compression="zlib", **kw),
                  tifffile.imread),
    "hdf5": ("out.h5", writers.to_hdf5, lambda p: h5py.File(p, "r")["data"][...]),
    "zarr": ("out.zarr", writers.to_zarr, lambda p: zarr.open_group(str(p), mode="r")["0"][...]),
    "npy": ("out.npy", writers.to_npy, lambda p: np.load(p, allow_pickle=False)),
}


def twelve_bit(n=12, shape=(16, 24), seed=0) -> np.ndarray:
    data = np.random.default_rng(seed).integers(0, 4096, (n, *shape)).astype(np.uint16)
    data[0, 0, 0], data[-1, 1, 1] = 0, 4095
    return data


def reference_rescale(data, dtype, lo, hi) -> np.ndarray:
    top = float(np.iinfo(dtype).max)
    return np.rint(np.clip((data.astype(np.float64) - lo) * (top / (hi - lo)), 0, top)).astype(dtype)


@pytest.mark.parametrize("kind", sorted(WRITE))
def test_a_narrowing_dtype_refuses_data_that_do_not_fit_and_leaves_nothing(tmp_path, kind):
    name, write, _ = WRITE[kind]
    fs = FSeq_arr(twelve_bit(), meta={"axes": AXES})
    with pytest.raises(NarrowingError, match=r"values from \d+ to \d+.*uint8 \(0 to 255.*rescale=True"):
        write(fs, tmp_path / name, dtype="uint8", budget=4 * 16 * 24 * 2)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", sorted(WRITE))
def test_rescale_maps_the_exact_data_range_onto_the_type(tmp_path, kind):
    name, write, read = WRITE[kind]
    data = twelve_bit()
    fs = FSeq_arr(data, meta={"axes": AXES})
    write(fs, tmp_path / name, dtype="uint8", rescale=True, budget=4 * 16 * 24 * 2)
    out = read(tmp_path / name)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, reference_rescale(data, np.uint8, data.min(), data.max()))


def test_a_given_range_clips_outside_values(tmp_path):
    data = twelve_bit()
    fs = FSeq_arr(data, meta={"axes": AXES})
    writers.to_npy(fs, tmp_path / "a.npy", dtype=np.uint8, rescale=(1000, 3000))
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), reference_rescale(data, np.uint8, 1000, 3000))


def test_floats_that_fit_are_rounded_and_a_float_target_gets_0_to_1(tmp_path):
    data = np.linspace(-0.4, 250.6, 4 * 3 * 5).reshape(4, 3, 5)
    fs = FSeq_arr(data, meta={"axes": AXES})
    writers.to_npy(fs, tmp_path / "r.npy", dtype="uint8")
    np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), np.rint(data).astype(np.uint8))
    writers.to_npy(fs, tmp_path / "f.npy", dtype="float32", rescale=True)
    ref = ((data - data.min()) / (data.max() - data.min())).astype(np.float32)
    np.testing.assert_allclose(np.load(tmp_path / "f.npy"), ref, rtol=1e-6, atol=1e-7)


def test_colour_frames_are_rescaled_with_one_range_for_all_channels(tmp_path):
    data = np.random.default_rng(2).integers(0, 4096, (3, 8, 9, 3)).astype(np.uint16)
    data[..., 0] //= 4
    fs = FSeq_arr(data, meta={"axes": AXES})
    writers.to_npy(fs, tmp_path / "c.npy", dtype="uint8", rescale=True)
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"),
                                  reference_rescale(data, np.uint8, data.min(), data.max()))


def test_rescale_needs_a_dtype_and_a_sound_range(tmp_path):
    fs = FSeq_arr(twelve_bit(), meta={"axes": AXES})
    with pytest.raises(InvalidArgumentError, match="give the type too"):
        writers.to_npy(fs, tmp_path / "a.npy", rescale=True)
    with pytest.raises(InvalidArgumentError, match="lo <= hi"):
        writers.to_npy(fs, tmp_path / "a.npy", dtype="uint8", rescale=(5, 1))
    with pytest.raises(InvalidArgumentError, match=r"\(lo, hi\)"):
        writers.to_npy(fs, tmp_path / "a.npy", dtype="uint8", rescale="yes")
    nan = FSeq_arr(np.array([[[np.nan, 1.0]]]), meta={"axes": AXES})
    with pytest.raises(InvalidArgumentError, match="NaN"):
        writers.to_npy(nan, tmp_path / "a.npy", dtype="uint8", rescale=True)
    assert list(tmp_path.iterdir()) == []


def test_as3darray_and_iter_blocks_check_narrowing():
    data = twelve_bit()
    fs = FSeq_arr(data, meta={"axes": AXES})
    with pytest.raises(NarrowingError, match="range_cast"):
        fs.as3darray(dtype=np.uint8)
    with pytest.raises(NarrowingError, match="in frames 0-"):
        list(fs.iter_blocks(dtype=np.int8, budget=4 * 16 * 24 * 2))
    with pytest.raises(NarrowingError):
        np.asarray(fs, dtype=np.uint8)
    np.testing.assert_array_equal(fs.as3darray(), data.astype(np.float64))
    np.testing.assert_array_equal(fs.as3darray(dtype=np.int16), data.astype(np.int16))  # they fit
    blocks = [b for _, b in fs.iter_blocks(dtype=np.float32, budget=4 * 16 * 24 * 2)]
    np.testing.assert_array_equal(np.concatenate(blocks), data.astype(np.float32))


# -- byte order ---------------------------------------------------------------------
@pytest.fixture
def big_endian_h5(tmp_path):
    data = twelve_bit(n=6)
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=data.astype(">u2"))
    return path, data


@pytest.mark.parametrize("kind", sorted(WRITE))
def test_big_endian_data_are_written_as_their_values(tmp_path, big_endian_h5, kind):
    path, data = big_endian_h5
    name, write, read = WRITE[kind]
    with open_seq(path) as fs:
        assert fs.dtype == np.dtype(">u2")
        write(fs, tmp_path / name)  # an ImageJ TIFF takes uint16 whatever its byte order
    out = read(tmp_path / name)
    assert out.dtype.newbyteorder("=") == np.uint16
    np.testing.assert_array_equal(out, data)


def test_big_endian_hdf5_converts_to_imagej_tiff_on_the_command_line(tmp_path, big_endian_h5):
    path, data = big_endian_h5
    assert main(["-q", "convert", str(path), str(tmp_path / "out.tif")]) == 0
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.is_imagej
        np.testing.assert_array_equal(tif.asarray(), data)


# -- the command line ---------------------------------------------------------------
@pytest.fixture
def twelve_bit_tif(tmp_path):
    data = twelve_bit()
    path = tmp_path / "in.tif"
    tifffile.imwrite(path, data, imagej=True)
    return path, data


def test_convert_refuses_a_wrapping_dtype_with_cli_advice(tmp_path, twelve_bit_tif, capsys):
    path, _ = twelve_bit_tif
    assert main(["-q", "convert", str(path), str(tmp_path / "o.tif"), "--dtype", "uint8"]) == 1
    err = capsys.readouterr().err
    assert "0 to 4095" in err and "--scale" in err and "--dtype float32" in err and "rescale=" not in err
    assert not (tmp_path / "o.tif").exists()


def test_convert_scale_maps_the_data_range_or_a_given_one(tmp_path, twelve_bit_tif):
    path, data = twelve_bit_tif
    assert main(["-q", "convert", str(path), str(tmp_path / "a.tif"), "--dtype", "uint8", "--scale"]) == 0
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"),
                                  reference_rescale(data, np.uint8, data.min(), data.max()))
    assert main(["-q", "convert", str(path), str(tmp_path / "b.npy"), "--dtype", "uint8",
                 "--scale", "0,2000"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), reference_rescale(data, np.uint8, 0, 2000))


def test_convert_scale_needs_dtype_and_a_range(tmp_path, twelve_bit_tif, capsys):
    path, _ = twelve_bit_tif
    assert main(["-q", "convert", str(path), str(tmp_path / "a.tif"), "--scale"]) == 1
    assert "--dtype" in capsys.readouterr().err
    assert main(["-q", "convert", str(path), str(tmp_path / "a.tif"), "--dtype", "uint8",
                 "--scale", "9,1"]) == 2
    assert main(["-q", "convert", str(path), str(tmp_path / "a.tif"), "--dtype", "object"]) == 2


def dip_movie(tmp_path):
    """F = 100 with a dip to 25 at frame 10: ΔF/F is -0.75 there (F0 stays 100)."""
    data = np.full((30, 6, 7), 100, np.uint16)
    data[10] = 25
    path = tmp_path / "dip.tif"
    tifffile.imwrite(path, data, imagej=True)
    return path


def test_dfof_to_an_unsigned_type_refuses_negative_values(tmp_path, capsys):
    path = dip_movie(tmp_path)
    out = tmp_path / "d.tif"
    assert main(["-q", "dfof", str(path), "-o", str(out), "--baseline-frames", "11",
                 "--dtype", "uint16"]) == 1
    err = capsys.readouterr().err
    assert "-0.75" in err and "uint16 (0 to 65535" in err and "--scale" in err
    assert not out.exists()


def test_dfof_scale_maps_negative_values_onto_uint16(tmp_path):
    path = dip_movie(tmp_path)
    ref_out = tmp_path / "ref.npy"
    assert main(["-q", "dfof", str(path), "-o", str(ref_out), "--baseline-frames", "11"]) == 0
    ref = np.load(ref_out).astype(np.float64)
    assert ref.min() == pytest.approx(-0.75)
    out = tmp_path / "d.npy"
    assert main(["-q", "dfof", str(path), "-o", str(out), "--baseline-frames", "11", "--dtype", "uint16",
                 "--scale"]) == 0
    got = np.load(out)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, reference_rescale(ref, np.uint16, ref.min(), ref.max()))


def test_sequence_writers_take_rescale(tmp_path):
    """``fs.to_*(dtype=..., rescale=...)``: the methods pass the mapping on to the writers."""
    import tifffile

    from imfun.fseq import FSeq_arr

    fs = FSeq_arr(np.linspace(0, 4095, 4 * 8 * 8).reshape(4, 8, 8).astype(np.uint16))
    with pytest.raises(InvalidArgumentError, match="rescale"):
        fs.to_tiff(tmp_path / "a.tif", dtype=np.uint8)
    p = fs.to_tiff(tmp_path / "b.tif", dtype=np.uint8, rescale=True)
    out = tifffile.imread(p)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    assert np.load(fs.to_npy(tmp_path / "c.npy", dtype=np.uint8, rescale=(0, 4095))).max() == 255
