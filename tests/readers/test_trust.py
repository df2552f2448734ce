"""One rule for frames, planes and channels in every reader (the axis layer, ``readers/dims.py``),
and files users write every day that must read back as written."""

import struct

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from imfun.axes import AxisScale
from imfun.errors import ChannelError, InvalidArgumentError
from imfun.fseq import FSeq_stk, open_seq
from imfun.readers.dims import Dims, select
from imfun.readers.vendor import VendorReader


# -- the rules, on dimensions alone ---------------------------------------------------------
def test_time_and_planes_need_z_and_the_error_lists_the_planes():
    d = Dims({"T": 10, "Z": 4, "Y": 5, "X": 6}, source="movie.xyz")
    with pytest.raises(InvalidArgumentError, match=r"10 time points of 4 z-planes.*z=0\.\.3.*.max."):
        select(d)
    s = select(d, z=-1)
    assert (s.frame, s.fixed, s.shape) == ("T", {"Z": 3}, (10, 5, 6))
    with pytest.raises(InvalidArgumentError, match="4 z-planes"):
        select(d, z=4)


def test_a_z_stack_is_read_plane_by_plane_and_z_picks_one():
    d = Dims({"Z": 7, "Y": 5, "X": 6}, {"Z": AxisScale(2.0, "µm")})
    s = select(d)
    assert (s.frame, s.shape, s.axes[0]) == ("Z", (7, 5, 6), AxisScale(2.0, "µm"))
    assert select(d, z=3).fixed == {"Z": 3} and select(d, z=3).shape == (1, 5, 6)


def test_channels_by_index_name_or_letter_and_all_as_the_last_axis():
    d = Dims({"T": 3, "C": 2, "Y": 4, "X": 5}, channel_names=["red", "green"])
    assert select(d).shape == (3, 4, 5, 2) and select(d).channel_names == ["red", "green"]
    assert select(d, ch="green").fixed == {"C": 1} and select(d, ch="green").channel_names == ["green"]
    assert select(d, ch="g").fixed == {"C": 1} and select(d, ch=-2).fixed == {"C": 0}
    with pytest.raises(ChannelError, match=r"2 channels 0\.\.1 \(red, green\)"):
        select(d, ch=2)
    with pytest.raises(ChannelError, match="unknown channel 'blue'"):
        select(d, ch="blue")
    rgb = Dims({"T": 3, "Y": 4, "X": 5, "S": 3})
    assert select(rgb).shape == (3, 4, 5, 3) and select(rgb, ch="b").fixed == {"S": 2}
    with pytest.raises(ChannelError, match="one channel"):
        select(Dims({"T": 3, "Y": 4, "X": 5}), ch=1)


def test_channels_only_open_as_frames():
    s = select(Dims({"C": 5, "Y": 4, "X": 6}))
    assert (s.frame, s.channel, s.shape) == ("C", None, (5, 4, 6))
    assert select(Dims({"C": 5, "Y": 4, "X": 6}), ch=2).shape == (1, 4, 6)


def test_frames_without_rows_axis_xz_and_line_scans():
    xzt = Dims({"T": 4, "Z": 6, "X": 8}, {"T": AxisScale(0.5, "s"), "Z": AxisScale(1.5, "µm"),
                                          "X": AxisScale(0.2, "µm")})
    s = select(xzt)
    assert (s.frame, s.rows, s.shape) == ("T", "Z", (4, 6, 8))
    assert s.axes == [AxisScale(0.5, "s"), AxisScale(1.5, "µm"), AxisScale(0.2, "µm")]
    xt = select(Dims({"T": 100, "X": 512}, {"T": AxisScale(0.001, "s")}))
    assert (xt.frame, xt.rows, xt.shape, xt.axes[1]) == (None, "T", (1, 100, 512), AxisScale(0.001, "s"))


def test_other_dimensions_are_read_at_their_first_element_with_a_warning():
    with pytest.warns(UserWarning, match="dimension 'M' of 3"):
        s = select(Dims({"M": 3, "T": 2, "Y": 4, "X": 5}))
    assert s.fixed == {"M": 0} and s.shape == (2, 4, 5)


# -- a vendor reader built on the same base as ND2/LIF, over an array (xzt as Leica stores it) ------
class XZTReader(VendorReader):
    """A LIF-like image of T x Z x X: planes are (Z, X), as liffile's frames are."""

    format_name = "test xzt"

    def __init__(self, data):
        self.data = data
        super().__init__("/dev/null")

    def _open(self):
        return self.data

    def _close_handle(self, handle):
        pass

    def _describe(self, data):
        return {"T": data.shape[0], "Z": data.shape[1], "X": data.shape[2]}, \
            {"T": (0.25, "s"), "Z": (2.0, "µm"), "X": (0.5, "µm")}, {}, data.dtype

    def _plane(self, data, sel):
        assert "Z" not in sel  # the rows of the frame: never fixed
        return data[sel["T"]]


def test_vendor_xzt_image_opens_with_z_as_rows():
    data = np.random.default_rng(0).integers(0, 999, (5, 6, 7)).astype(np.uint16)
    r = XZTReader(data)
    assert r.shape == (5, 6, 7)
    np.testing.assert_array_equal(r.read(np.arange(5)), data)
    assert [tuple(a) for a in r.axes] == [(0.25, "s"), (2.0, "µm"), (0.5, "µm")]


# -- files users write every day -----------------------------------------------------------------
def test_imagej_stack_written_by_tifffile_reads_back(tmp_path):
    stack = np.random.default_rng(1).integers(0, 4000, (7, 9, 11)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "s.tif", stack, imagej=True)  # tifffile records channels=7
    with open_seq(tmp_path / "s.tif") as fs:
        assert len(fs) == 7 and fs.frame_shape == (9, 11)
        np.testing.assert_array_equal(np.asarray(fs), stack)
        np.testing.assert_array_equal(fs[-1], stack[-1])


def test_imagej_tzcyx_projection_keeps_the_frame_interval(tmp_path):
    data = np.random.default_rng(2).integers(0, 4000, (4, 3, 2, 5, 6)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "h.tif", data, imagej=True, metadata={"axes": "TZCYX", "finterval": 0.2})
    with pytest.raises(InvalidArgumentError, match="3 z-planes"):
        open_seq(tmp_path / "h.tif")
    with open_seq(tmp_path / "h.tif", z="max") as fs:
        assert fs.meta["axes"][0] == (0.2, "s") and fs.frame_shape == (5, 6, 2)
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(data.max(axis=1), 1, -1))
    with open_seq(tmp_path / "h.tif", z=1, ch=1) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data[:, 1, 1])
        assert fs.meta["axes"][0] == (0.2, "s")


def test_hdf5_dimension_labels_tzyxc_need_a_plane(tmp_path):
    data = np.random.default_rng(3).integers(0, 999, (4, 3, 5, 6, 2)).astype(np.uint16)
    with h5py.File(tmp_path / "l.h5", "w") as f:
        ds = f.create_dataset("data", data=data)
        for i, label in enumerate("tzyxc"):
            ds.dims[i].label = label
    with pytest.raises(InvalidArgumentError, match="4 time points of 3 z-planes"):
        open_seq(tmp_path / "l.h5")
    with open_seq(tmp_path / "l.h5", z=2, ch=0) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data[:, 2, :, :, 0])
    with open_seq(tmp_path / "l.h5", z="mean") as fs:
        np.testing.assert_allclose(np.asarray(fs), data.mean(axis=1), rtol=1e-6)


def test_hdf5_axis_order_from_labels_and_a_stated_guess_without_them(tmp_path):
    yxt = np.random.default_rng(4).integers(0, 999, (12, 8, 5)).astype(np.uint16)
    with h5py.File(tmp_path / "sima.h5", "w") as f:
        f["plain"] = yxt
        f["labelled"] = yxt
        for i, label in enumerate(("y", "x", "time")):
            f["labelled"].dims[i].label = label
    with open_seq(tmp_path / "sima.h5", dataset="labelled") as fs:
        assert len(fs) == 5 and "note:" not in repr(fs)
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(yxt, -1, 0))
    with open_seq(tmp_path / "sima.h5", dataset="plain") as fs:
        assert len(fs) == 12
        assert "taken as 'tyx'" in repr(fs) and "axes='yxt'" in repr(fs)
    with open_seq(tmp_path / "sima.h5", dataset="plain", axes="yxt") as fs:
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(yxt, -1, 0))


@pytest.mark.parametrize("ending", ["png", "bmp", "jpg", "gif"])
def test_a_single_image_file_is_a_one_frame_sequence(tmp_path, ending):
    img = np.zeros((6, 8, 3), np.uint8)
    img[..., 1] = 200
    iio.imwrite(tmp_path / f"one.{ending}", img)
    with open_seq(tmp_path / f"one.{ending}") as fs:
        assert len(fs) == 1 and fs.frame_shape == (6, 8, 3)
    with open_seq(tmp_path / f"one.{ending}", ch="g") as fs:
        assert fs.frame_shape == (6, 8) and abs(int(fs[0][3, 3]) - 200) <= 3


def test_a_single_page_tiff_is_a_one_frame_sequence(tmp_path):
    tifffile.imwrite(tmp_path / "one.tif", np.arange(12, dtype=np.uint16).reshape(3, 4))
    with open_seq(tmp_path / "one.tif") as fs:
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], np.arange(12).reshape(3, 4))


def write_stk(path, data, z_um=2.0):
    """A MetaMorph STK as MetaMorph writes it: ONE IFD whose UIC2 tag counts the planes, all
    planes contiguous after the first (tifffile cannot write STK; its reader reads this)."""
    n = len(data)
    uic2 = [v for i in range(n) for v in (int(z_um * 1000), 1000, 2451545, 1000 * i, 2451545, 1000 * i)]
    tifffile.imwrite(path, data[0], metadata=None,
                     extratags=[(33628, "I", 2, [1, 0], True), (33629, 5, 3 * n, uic2, True)])
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages.first.tags[33629].offset
    with open(path, "r+b") as fh:
        fh.seek(entry + 4)
        fh.write(struct.pack("<I", n))  # UIC2's count is the number of planes (6 longs each)
        fh.seek(0, 2)
        fh.write(np.ascontiguousarray(data[1:]).astype("<u2").tobytes())


@pytest.mark.filterwarnings("ignore::UserWarning")  # tifffile: the made-up creation dates
def test_metamorph_stk_with_planes_in_one_ifd(tmp_path):
    data = np.random.default_rng(5).integers(0, 4000, (4, 6, 9)).astype(np.uint16)
    write_stk(tmp_path / "s.stk", data)
    with open_seq(tmp_path / "s.stk") as fs:
        assert type(fs) is FSeq_stk and len(fs) == 4
        np.testing.assert_array_equal(np.asarray(fs), data)
        np.testing.assert_array_equal(fs[3], data[3])
        np.testing.assert_array_equal(np.asarray(fs[[3, 0, 2]]), data[[3, 0, 2]])
        assert fs.meta["axes"][0] == (2.0, "µm")


# -- warnings that are true -----------------------------------------------------------------------
def test_a_file_written_in_contiguous_chunks_opens_without_a_warning(tmp_path, recwarn):
    data = np.arange(60 * 8 * 8, dtype=np.uint16).reshape(60, 8, 8)
    with tifffile.TiffWriter(tmp_path / "chunks.tif") as tw:
        for i in range(0, 60, 20):
            tw.write(data[i:i + 20], contiguous=True)  # tifffile: one series of shape (3, 20, 8, 8)
    with open_seq(tmp_path / "chunks.tif") as fs:
        np.testing.assert_array_equal(np.asarray(fs), data)
    assert not [w for w in recwarn if "imfun" in w.filename or issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("how", ["shaped", "plain", "imagej"])
def test_a_file_cut_short_says_what_was_expected_and_what_is_readable(tmp_path, how):
    from imfun.errors import TruncatedFileWarning

    data = np.arange(40 * 64 * 64, dtype=np.uint16).reshape(40, 64, 64)
    kwargs = {"shaped": {}, "plain": {"metadata": None}, "imagej": {"imagej": True}}[how]
    tifffile.imwrite(tmp_path / "full.tif", data, **kwargs)
    cut = (tmp_path / "full.tif").read_bytes()[:200_000]  # 24 frames of 8 KiB and a part
    (tmp_path / "cut.tif").write_bytes(cut)
    with pytest.warns(TruncatedFileWarning) as record, open_seq(tmp_path / "cut.tif") as fs:
        n = len(fs)
        np.testing.assert_array_equal(np.asarray(fs), data[:n])
    messages = [str(w.message) for w in record if w.category is TruncatedFileWarning]
    assert len(messages) == 1, messages  # said once
    if how == "plain":  # no header says how many: the broken directory chain is named
        assert n == 1 and "past the end of the file" in messages[0]
    else:
        assert n == 24 and "announces 40 images but only 24 are in the file" in messages[0]


def test_hdf5_axis_order_from_scale_names_and_order_attributes(tmp_path):
    yxt = np.random.default_rng(6).integers(0, 999, (6, 7, 5)).astype(np.uint16)
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["scaled"] = yxt
        for i, name in enumerate(("y", "x", "time")):
            f[name] = np.arange(yxt.shape[i], dtype=float)
            f[name].make_scale()
            f["scaled"].dims[i].attach_scale(f[name])
        f["ordered"] = yxt
        f["ordered"].attrs["dim_order"] = "yxt"
    for name in ("scaled", "ordered"):
        with open_seq(tmp_path / "s.h5", dataset=name) as fs:
            assert len(fs) == 5 and "note:" not in repr(fs), name
            np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(yxt, -1, 0))


def test_a_projection_leaves_its_planes_metadata_alone(tmp_path):
    data = np.random.default_rng(7).integers(0, 999, (3, 4, 5, 6)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "tz.tif", data, imagej=True, metadata={"axes": "TZYX"})
    with open_seq(tmp_path / "tz.tif", z="mean") as fs:
        assert "Z" not in fs.meta["dims_selection"]["fixed"]
        assert [p.metadata["dims_selection"]["fixed"]["Z"] for p in fs.reader.parts] == [0, 1, 2, 3]
