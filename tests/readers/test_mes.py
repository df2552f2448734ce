"""Femtonics MES files written to the documented layout, as MATLAB v5 and v7.3."""

from __future__ import annotations

import pickle
import struct
import zlib

import h5py
import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imfun.errors import (
    ChannelError,
    CorruptFileError,
    DatasetError,
    TruncatedFileWarning,
    UnsupportedFormatError,
)
from imfun.fseq import FSeq_mes, open_seq
from imfun.readers.matv5 import MAX_DEPTH, scan_mat5
from imfun.readers.mes import list_mes_records, mat_version
from imfun.testing import ReaderConformance

N, NL, L, POS = 10, 16, 20, 3  # frames, lines per frame, pixels per line, first frame line


# -- writers -------------------------------------------------------------------
def _struct_array_v5(entries):
    keys = list(entries[0])
    arr = np.empty((1, len(entries)), dtype=[(k, object) for k in keys])
    for i, e in enumerate(entries):
        for k in keys:
            v = e[k]
            arr[0, i][k] = np.zeros((0, 0)) if v is None else v
    return arr


def write_v5(path, variables):
    out = {}
    for name, val in variables.items():
        out[name] = _struct_array_v5(val) if isinstance(val, list) else val
    scipy.io.savemat(path, out, appendmat=False, format="5")
    return path


_CLASSES = {"float64": "double", "float32": "single", "uint16": "uint16", "uint8": "uint8",
            "int16": "int16", "int32": "int32"}


def _h5_write(f, parent, name, val):
    """Write a value as MATLAB 7.3 does: transposed arrays, uint16 chars, groups for structs."""
    if isinstance(val, list):  # struct array: fields hold references into #refs#
        g = parent.create_group(name)
        g.attrs["MATLAB_class"] = np.bytes_("struct")
        refs = f.require_group("#refs#")
        for key in val[0]:
            ds = g.create_dataset(key, (len(val), 1), dtype=h5py.ref_dtype)
            for i, entry in enumerate(val):
                ref_name = f"r{len(refs)}"
                _h5_write(f, refs, ref_name, entry[key])
                ds[i, 0] = refs[ref_name].ref
        return
    if isinstance(val, dict):
        g = parent.create_group(name)
        g.attrs["MATLAB_class"] = np.bytes_("struct")
        for key, v in val.items():
            _h5_write(f, g, key, v)
        return
    if val is None:
        ds = parent.create_dataset(name, data=np.zeros(2, np.uint64))
        ds.attrs["MATLAB_class"] = np.bytes_("double")
        ds.attrs["MATLAB_empty"] = np.uint8(1)
        return
    if isinstance(val, str):
        ds = parent.create_dataset(name, data=np.array([ord(c) for c in val], np.uint16).reshape(-1, 1))
        ds.attrs["MATLAB_class"] = np.bytes_("char")
        ds.attrs["MATLAB_int_decode"] = np.int32(2)
        return
    arr = np.atleast_2d(np.asarray(val, dtype=float if np.isscalar(val) else None))
    ds = parent.create_dataset(name, data=arr.T)
    ds.attrs["MATLAB_class"] = np.bytes_(_CLASSES[arr.dtype.name])


def write_v73(path, variables):
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, val in variables.items():
            _h5_write(f, f, name, val)
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\0" * 8 + struct.pack("<H", 0x0200) + b"IM"
    with open(path, "r+b") as fh:
        fh.write(header.ljust(512, b"\0"))
    return path


def xyt_record(names, channels, nframes=N, width_step=0.4, transverse=0.5, ms=125.0, shape=(N, NL, L)):
    n, nl, ll = shape
    ffi = {"numFrames": float(nframes), "numFrameLines": float(nl), "frameTimeLength": ms,
           "firstFramePos": float(POS), "firstFrameStartTime": 10.0, "TransverseStep": transverse}
    date = "2014.03.21. 15:02:11,123"
    dims = np.array([float(ll), float(POS + n * nl)])
    return [{"Context": "Measure", "ImageName": n, "Channel": c, "MeasurementDate": date,
             "WidthStep": width_step, "HeightStep": 0.0, "DIMS": dims, "FoldedFrameInfo": ffi,
             "Zlevel": 100.0, "Type": "XY"} for n, c in zip(names, channels, strict=True)]


def folded(frames, seed):
    """MATLAB variable (line length x lines): a few lines before the first frame, then the frames."""
    rng = np.random.default_rng(seed)
    ll = frames.shape[-1]
    pre = rng.integers(0, 1000, (POS, ll), dtype=frames.dtype)
    lines = np.concatenate([pre, frames.reshape(-1, ll)])
    return np.ascontiguousarray(lines.T)


def make_content():
    rng = np.random.default_rng(1)
    g = rng.integers(0, 4000, (N, NL, L), dtype=np.uint16)
    r = rng.integers(0, 4000, (N, NL, L), dtype=np.uint16)
    zs = rng.integers(0, 4000, (4, 2, 12, 14), dtype=np.uint16)  # z, channel, rows, cols
    line_rec = [{"Context": "Measure", "ImageName": "IF0001_001", "Channel": "pmtUG",
                 "MeasurementDate": "2014.03.21. 14:00:00,000", "WidthStep": 0.2, "HeightStep": 0.0,
                 "DIMS": np.array([50.0, 7.0]), "FoldedFrameInfo": None, "Zlevel": 100.0, "Type": "Line2"}]
    z_rec = []
    variables = {"IF0001_001": rng.integers(0, 9, (50, 7), dtype=np.uint16),
                 "IF0002_001": folded(g, 2), "IF0002_002": folded(r, 3)}
    for k in range(4):
        for c, chname in enumerate(("pmtUG", "pmtUR")):
            name = f"IF0003_{2 * k + c + 1:03d}"
            variables[name] = np.ascontiguousarray(zs[k, c].T)  # MATLAB: cols x rows
            z_rec.append({"Context": "Zstack", "ImageName": name, "Channel": chname,
                          "MeasurementDate": "2014.03.21. 16:00:00,000", "WidthStep": 0.3,
                          "HeightStep": 0.35, "DIMS": np.array([14.0, 12.0]), "FoldedFrameInfo": None,
                          "Zlevel": 100.0 + 2.5 * k, "Type": "XY"})
    variables.update({"Df0001": line_rec,
                      "Df0002": xyt_record(["IF0002_001", "IF0002_002"], ["pmtUG", "pmtUR"]),
                      "Df0003": z_rec})
    return variables, g, r, zs


class TestMESv5Conformance(ReaderConformance):
    seq_class = FSeq_mes
    version = "5"

    def write(self, tmp_path, frames):
        variables = {"Df0001": xyt_record(["IF0001_001"], ["pmtUG"], nframes=len(frames),
                                          shape=frames.shape),
                     "IF0001_001": folded(frames, 0)}
        write = write_v5 if self.version == "5" else write_v73
        return write(tmp_path / f"conf{self.version}.mes", variables)


class TestMESv73Conformance(TestMESv5Conformance):
    version = "7.3"


@pytest.fixture(params=["5", "7.3"])
def mesfile(request, tmp_path):
    variables, g, r, zs = make_content()
    write = write_v5 if request.param == "5" else write_v73
    path = write(tmp_path / f"cells_v{request.param}.mes", variables)
    return path, request.param, g, r, zs


# -- tests -----------------------------------------------------------------------
def test_version_from_header(mesfile):
    path, version, *_ = mesfile
    assert mat_version(path) == version


def test_listing(mesfile):
    path, *_ = mesfile
    recs = list_mes_records(path)
    assert [r["record"] for r in recs] == ["Df0001", "Df0002", "Df0003"]
    assert [r["kind"] for r in recs] == ["line scan", "XYT", "Z-stack"]
    assert [r["supported"] for r in recs] == [False, True, True]
    assert recs[1]["channels"] == ["pmtUG", "pmtUR"] and recs[1]["shape"] == (N, NL, L)
    assert recs[1]["date"].startswith("2014.03.21. 15:02")
    assert recs[2]["shape"] == (4, 12, 14)


def test_xyt_default_record_channels_and_axes(mesfile):
    path, _, g, r, _ = mesfile
    with open_seq(path, ch="pmtUG") as fs:  # the first supported record: Df0002
        assert isinstance(fs, FSeq_mes) and fs.meta["mes_record"] == "Df0002"
        np.testing.assert_array_equal(np.asarray(fs), g)
        assert fs.dtype == np.uint16
        dt, dy, dx = fs.meta["axes"]
        assert dt == (0.125, "s") and dx == (0.4, "µm") and dy == (0.5, "µm")
        np.testing.assert_allclose(fs.frame_idx(), np.arange(N) * 0.125)
    with FSeq_mes(path, record=2, ch=1) as fs:
        np.testing.assert_array_equal(np.asarray(fs), r)
        np.testing.assert_array_equal(fs[7], r[7])
        np.testing.assert_array_equal(np.asarray(fs[[8, 1, 4]]), r[[8, 1, 4]])
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(2, 9), slice(5, 11)), dtype=None),
                                      r[:, 2:9, 5:11])
    with FSeq_mes(path, record="Df0002", ch="UR") as fs:
        np.testing.assert_array_equal(fs[0], r[0])
    with FSeq_mes(path, record="Df0002") as fs:  # all channels: colour frames
        assert fs.frame_shape == (NL, L, 2)
        np.testing.assert_array_equal(np.asarray(fs), np.stack([g, r], -1))


def test_zstack(mesfile):
    path, _, _, _, zs = mesfile
    with FSeq_mes(path, record="Df0003", ch="pmtUR") as fs:
        assert fs.meta["mes_kind"] == "Z-stack"
        np.testing.assert_array_equal(np.asarray(fs), zs[:, 1])
        dz, dy, dx = fs.meta["axes"]
        assert dz == (2.5, "µm") and dy == (0.35, "µm") and dx == (0.3, "µm")
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(1, 5), slice(2, 4)), dtype=None),
                                      zs[:, 1, 1:5, 2:4])
    with FSeq_mes(path, record=3) as fs:
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(zs, 1, -1))


def test_record_and_channel_errors(mesfile):
    path, *_ = mesfile
    with pytest.raises(DatasetError, match="Df0009"):
        FSeq_mes(path, record=9)
    with pytest.raises(UnsupportedFormatError, match="line scan"):
        FSeq_mes(path, record="Df0001")
    with pytest.raises(ChannelError, match="2 channels"):
        FSeq_mes(path, record=2, ch=5)
    with pytest.raises(ChannelError, match="matches"):
        FSeq_mes(path, record=2, ch="pmtU")  # ambiguous
    with pytest.raises(ChannelError):
        FSeq_mes(path, record=2, ch="blue")


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_no_supported_record(tmp_path, version):
    variables, *_ = make_content()
    only = {"Df0001": variables["Df0001"], "IF0001_001": variables["IF0001_001"]}
    path = (write_v5 if version == "5" else write_v73)(tmp_path / "lines.mes", only)
    with pytest.raises(UnsupportedFormatError, match="no record"):
        FSeq_mes(path)
    assert list_mes_records(path)[0]["supported"] is False


@pytest.mark.parametrize("version", ["5", "7.3"])
def test_fewer_frames_than_stated(tmp_path, version):
    rng = np.random.default_rng(5)
    g = rng.integers(0, 100, (N, NL, L), dtype=np.uint16)
    variables = {"Df0001": xyt_record(["IF0001_001"], ["pmtUG"], nframes=N + 3),
                 "IF0001_001": folded(g, 1)}
    path = (write_v5 if version == "5" else write_v73)(tmp_path / "short.mes", variables)
    with pytest.warns(TruncatedFileWarning, match="13 frames"), FSeq_mes(path) as fs:
        assert len(fs) == N
        np.testing.assert_array_equal(np.asarray(fs), g)


def test_missing_image_variable(tmp_path):
    variables = {"Df0001": xyt_record(["IF0001_001"], ["pmtUG"])}
    path = write_v73(tmp_path / "novar.mes", variables)
    with pytest.raises(CorruptFileError, match="IF0001_001"):
        FSeq_mes(path)


def test_image_variable_of_the_wrong_class(tmp_path):
    variables = {"Df0001": xyt_record(["IF0001_001"], ["pmtUG"]), "IF0001_001": {"x": 1.0}}
    path = write_v5(tmp_path / "struct.mes", variables)
    with pytest.raises(CorruptFileError, match="a MATLAB struct, not numbers"):
        FSeq_mes(path)


def test_not_matlab(tmp_path):
    p = tmp_path / "x.mes"
    p.write_bytes(b"hello" * 100)
    with pytest.raises(CorruptFileError, match="MATLAB"):
        FSeq_mes(p)


def test_pickle(mesfile):
    path, _, g, _, _ = mesfile
    with FSeq_mes(path, ch=0) as fs:
        reader = pickle.loads(pickle.dumps(fs.reader))
        np.testing.assert_array_equal(reader.read(slice(2, 5)), g[2:5])
        reader.close()


# -- the MATLAB v5 validator (imfun.readers.matv5) ------------------------------------------------
def test_compressed_v5_reads_as_uncompressed(tmp_path):
    variables, g, r, zs = make_content()
    out = {k: _struct_array_v5(v) if isinstance(v, list) else v for k, v in variables.items()}
    path = tmp_path / "packed.mes"
    scipy.io.savemat(path, out, appendmat=False, format="5", do_compression=True)
    assert all(v.compressed for v in scan_mat5(path))
    with FSeq_mes(path, record=2) as fs:
        np.testing.assert_array_equal(np.asarray(fs), np.stack([g, r], -1))
    with FSeq_mes(path, record=3, ch=0) as fs:
        np.testing.assert_array_equal(np.asarray(fs), zs[:, 0])


RICH = {"d": np.arange(12.0).reshape(3, 4), "f": np.ones((2, 1), np.float32),
        "i8": np.arange(-3, 3, dtype=np.int8).reshape(2, 3), "u64": np.array([[2**60]], np.uint64),
        "b": np.array([[True, False]]), "z": np.array([[1 + 2j, 3 - 1j]]), "empty": np.zeros((0, 3)),
        "text": "héllo wörld", "texts": np.array(["ab", "cd"]), "cell": np.array([[1.0, "x", np.eye(2)]],
                                                                                object),
        "nested": {"a": {"b": {"c": np.arange(3)}}, "s": "t"},
        "sparse": __import__("scipy.sparse").sparse.random(5, 4, 0.4, random_state=1, format="csc")}


@pytest.mark.parametrize("compressed", [False, True])
def test_scan_agrees_with_scipy(tmp_path, compressed):
    path = tmp_path / "rich.mat"
    scipy.io.savemat(path, RICH, do_compression=compressed)
    found = {v.name: ("logical" if v.logical else v.class_name,
                      v.dims[:-1] if v.class_name == "char" else v.dims, v.compressed)
             for v in scan_mat5(path)}
    # whosmat gives a char array's shape without the length of its strings
    assert found == {n: (c, tuple(s), compressed) for n, s, c in scipy.io.whosmat(path)}


_DTYPES = ["f8", "f4", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "c16", "?"]
_arrays = st.builds(lambda dt, shape, seed: np.random.default_rng(seed).integers(0, 100, shape).astype(dt),
                    st.sampled_from(_DTYPES), st.lists(st.integers(0, 4), min_size=1, max_size=3),
                    st.integers(0, 2**16))
_values = st.recursive(_arrays | st.text(max_size=5),
                       lambda inner: st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                                                     inner, min_size=1, max_size=3), max_leaves=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variables=st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True), _values,
                                 min_size=1, max_size=4), compressed=st.booleans())
def test_scan_accepts_what_scipy_writes(tmp_path, variables, compressed):
    path = tmp_path / "any.mat"
    scipy.io.savemat(path, variables, do_compression=compressed)
    found = scan_mat5(path)
    assert [v.name for v in found] == [n for n, _, _ in scipy.io.whosmat(path)]
    assert all(v.compressed == compressed for v in found)


def _element(order, mtype, payload):
    return struct.pack(order + "II", mtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def _matrix(order, cls, dims, name, parts, flags=0, pad=True):
    body = (_element(order, 6, struct.pack(order + "II", cls | flags << 8, 0))
            + _element(order, 5, struct.pack(f"{order}{len(dims)}i", *dims))
            + _element(order, 1, name.encode()) + b"".join(parts))
    return struct.pack(order + "II", 14, len(body)) + body


def _mat_file(path, order, elements):
    text = b"MATLAB 5.0 MAT-file, hand-made".ljust(116, b" ")
    header = text + b"\0" * 8 + struct.pack(order + "H", 0x0100) + (b"IM" if order == "<" else b"MI")
    path.write_bytes(header + b"".join(elements))
    return path


@pytest.mark.parametrize("order", ["<", ">"])
def test_hand_made_files_both_byte_orders(tmp_path, order):
    values = np.arange(6.0).reshape(2, 3)
    real = _element(order, 9, values.astype(order + "f8").tobytes(order="F"))
    path = _mat_file(tmp_path / "hand.mat", order, [_matrix(order, 6, (2, 3), "x", [real])])
    (var,) = scan_mat5(path)
    assert (var.name, var.class_name, var.dims) == ("x", "double", (2, 3))
    np.testing.assert_array_equal(scipy.io.loadmat(path)["x"], values)


def test_damage_is_refused_with_where_and_what(tmp_path):
    good = tmp_path / "good.mat"
    scipy.io.savemat(good, {"img": np.arange(20, dtype=np.uint16).reshape(4, 5)})
    data = good.read_bytes()
    cases = {
        "truncated": (data[:-3], r"at offset 128: the element declares \d+ bytes but only"),
        "header": (data[:100], "128-byte header"),
        "endian": (data[:126] + b"XX" + data[128:], "endian indicator"),
        "version": (data[:124] + b"\x00\x02" + data[126:], "version"),
        "dims": (data[:160] + struct.pack("<i", -4) + data[164:], "dimensions of size >= 0"),
        "count": (data[:180] + struct.pack("<I", 38) + data[184:], "the real part holds 38 bytes"),
        "trailing": (data + b"\x01\x02", "an element tag needs 8 bytes"),
    }
    for name, (damaged, message) in cases.items():
        path = tmp_path / f"{name}.mat"
        path.write_bytes(damaged)
        with pytest.raises(CorruptFileError, match=message):
            scan_mat5(path)
    (tmp_path / "empty.mat").write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty"):
        scan_mat5(tmp_path / "empty.mat")


def test_deep_nesting_is_refused(tmp_path):
    order = "<"
    inner = _matrix(order, 6, (1, 1), "", [_element(order, 9, struct.pack("<d", 1.0))])
    for _ in range(MAX_DEPTH + 2):
        inner = _matrix(order, 1, (1, 1), "", [inner])
    path = _mat_file(tmp_path / "deep.mat", order, [inner])
    with pytest.raises(CorruptFileError, match="nested more than"):
        scan_mat5(path)


def test_zip_bombs_and_lying_compressed_sizes_are_refused(tmp_path):
    order = "<"
    real = _element(order, 2, bytes(64))
    matrix = _matrix(order, 9, (8, 8), "a", [real])

    def packed(inner):
        blob = zlib.compress(inner)
        return struct.pack("<II", 15, len(blob)) + blob

    ok = _mat_file(tmp_path / "ok.mat", order, [packed(matrix)])
    assert scan_mat5(ok)[0].dims == (8, 8)
    np.testing.assert_array_equal(scipy.io.loadmat(ok)["a"], np.zeros((8, 8), np.uint8))
    bomb = matrix[:4] + struct.pack("<I", 2**31) + matrix[8:]  # declares 2 GiB inflated
    with pytest.raises(CorruptFileError, match="zip bomb"):
        scan_mat5(_mat_file(tmp_path / "bomb.mat", order, [packed(bomb)]))
    short = matrix[:4] + struct.pack("<I", len(matrix) - 16) + matrix[8:]  # inflates to more
    with pytest.raises(CorruptFileError, match="holds more"):
        scan_mat5(_mat_file(tmp_path / "short.mat", order, [packed(short)]))
    blob = zlib.compress(matrix)
    cut = struct.pack("<II", 15, len(blob) - 9) + blob[:-9]  # the stream ends too early
    with pytest.raises(CorruptFileError, match="compressed element"):
        scan_mat5(_mat_file(tmp_path / "cut.mat", order, [cut]))


def test_compressed_pixels_are_checked_when_read(tmp_path):
    """Opening checks the headers of compressed pixel variables; their contents, when read."""
    frames = np.random.default_rng(9).integers(0, 4000, (40, 32, 32), dtype=np.uint16)
    variables = {"Df0001": _struct_array_v5(xyt_record(["IF0001_001"], ["pmtUG"], nframes=40,
                                                       shape=frames.shape)),
                 "IF0001_001": folded(frames, 0)}
    path = tmp_path / "packed.mes"
    scipy.io.savemat(path, variables, appendmat=False, format="5", do_compression=True)
    found = scan_mat5(path, deep=lambda name: name.startswith("Df"))
    pixels = next(v for v in found if v.name == "IF0001_001")
    assert pixels.compressed and not pixels.checked
    with FSeq_mes(path) as fs:
        np.testing.assert_array_equal(fs[39], frames[39])
    data = bytearray(path.read_bytes())
    end = pixels.offset + 8 + struct.unpack_from("<I", data, pixels.offset + 4)[0]
    data[end - 200: end - 190] = bytes(10)  # inside the deflate stream, far from its start
    path.write_bytes(bytes(data))
    with FSeq_mes(path) as fs:  # the header is fine: it opens
        assert len(fs) == 40
        with pytest.raises(CorruptFileError, match="compressed element"):
            fs[0]
