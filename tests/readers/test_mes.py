"""Femtonics MES files written to the documented layout, as MATLAB v5 and v7.3."""

from __future__ import annotations

import pickle
import struct

import h5py
import numpy as np
import pytest
import scipy.io

from imfun.errors import (
    ChannelError,
    CorruptFileError,
    DatasetError,
    TruncatedFileWarning,
    UnsupportedFormatError,
)
from imfun.fseq import open_seq
from imfun.readers.mes import FSeq_mes, list_mes_records, mat_version
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
