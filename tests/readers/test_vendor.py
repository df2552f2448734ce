"""Vendor formats: ND2 on the real sample, LSM written here with tifffile, error paths of the rest.

Untested for lack of sample files: reading LIF (liffile), CZI (czifile) and OIF/OIB
(oiffile) pixels and metadata, and real MetaMorph STK metadata (tifffile cannot write
STK; a plain TIFF named .stk is read instead).
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
import tifffile

from imfun.errors import (
    ChannelError,
    CorruptFileError,
    DatasetError,
    InvalidArgumentError,
    MissingDependencyError,
)
from imfun.fseq import FSeq_czi, FSeq_lif, FSeq_lsm, FSeq_nd2, FSeq_oif, FSeq_stk, open_seq
from imfun.testing import ReaderConformance


# -- ND2: the real sample --------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(shared_data):
    nd2 = pytest.importorskip("nd2")
    path = shared_data / "pims" / "cluster.nd2"
    if not path.exists():
        pytest.skip("cluster.nd2 is not available")
    with nd2.ND2File(path) as f:
        return path, f.asarray()  # (T=3, Z=10, C=2, 31, 38)


def test_nd2_shapes_channels_z(cluster):
    path, full = cluster
    assert full.shape == (3, 10, 2, 31, 38)
    with open_seq(path, z=4) as fs:
        assert type(fs) is FSeq_nd2
        assert len(fs) == 3 and fs.frame_shape == (31, 38, 2) and fs.dtype == np.uint16
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(full[:, 4], 1, -1))
        dt, dy, dx = fs.meta["axes"]
        assert dy.unit == dx.unit == "µm" and dx.scale == pytest.approx(0.1678, rel=1e-3)
        assert dt.unit == "s" and dt.scale > 0
        assert len(fs.meta["frame_times"]) == 3 and fs.meta["frame_times"][0] == 0
        assert fs.meta["channel_names"] == ["5-FAM/pH 9.0", "FM 4-64/2% CHAPS"]
    with FSeq_nd2(path, ch=1, z=9) as fs:
        assert fs.frame_shape == (31, 38)
        np.testing.assert_array_equal(fs[2], full[2, 9, 1])
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(3, 20), slice(5, 9)), dtype=None),
                                      full[:, 9, 1, 3:20, 5:9])
        np.testing.assert_array_equal(np.asarray(fs[[2, 0, 0]]), full[[2, 0, 0], 9, 1])
        fs2 = pickle.loads(pickle.dumps(fs))
        np.testing.assert_array_equal(fs2[1], full[1, 9, 1])
        fs2.close()


def test_nd2_errors(cluster):
    path, _ = cluster
    with pytest.raises(InvalidArgumentError, match="z="):
        FSeq_nd2(path)  # 3 time points of 10 planes: which plane?
    with pytest.raises(ChannelError, match="2 channels"):
        FSeq_nd2(path, z=0, ch=2)
    with pytest.raises(InvalidArgumentError, match="10 z-planes"):
        FSeq_nd2(path, z=10)
    with pytest.raises(DatasetError, match="series=1"):
        FSeq_nd2(path, series=1, z=0)


# -- LSM written with tifffile (pages + CZ_LSMINFO tag + thumbnails, as Zeiss writes them) --------
def write_lsm(path, data, dx=0.3e-6, dy=0.4e-6, dz=1e-6, dt=0.5):
    """``data`` (T, C, Y, X) uint16 as an LSM time series (ScanType 3: TCYX).

    tifffile cannot write LSM; this writes the TIFF pages an LSM has: one data page per
    time point (channels as separate planes) with the CZ_LSMINFO tag on the first, each
    followed by an RGB thumbnail page."""
    t, c, y, x = data.shape
    rec = np.zeros(1, dtype=tifffile.TIFF.CZ_LSMINFO)
    rec["MagicNumber"], rec["StructureSize"] = 67127628, rec.dtype.itemsize
    rec["DimensionX"], rec["DimensionY"], rec["DimensionZ"] = x, y, 1
    rec["DimensionChannels"], rec["DimensionTime"] = c, t
    rec["DataType"], rec["ThumbnailX"], rec["ThumbnailY"] = 2, 4, 4
    rec["VoxelSizeX"], rec["VoxelSizeY"], rec["VoxelSizeZ"] = dx, dy, dz
    rec["ScanType"], rec["TimeIntervall"] = 3, dt
    info = rec.tobytes()
    with tifffile.TiffWriter(path) as tw:
        for k in range(t):
            tags = [(34412, 1, len(info), info, True)] if k == 0 else []
            tw.write(data[k] if c > 1 else data[k, 0], planarconfig="separate" if c > 1 else None,
                     photometric="minisblack", metadata=None, extratags=tags, contiguous=False)
            tw.write(np.zeros((4, 4, 3), np.uint8), subfiletype=1, photometric="rgb", metadata=None,
                     contiguous=False)
    return path


def test_lsm_channels_and_axes(tmp_path):
    # 3 channels: tifffile misreads an LSM BitsPerSample of count 2, so not 2
    data = np.random.default_rng(0).integers(0, 4000, (6, 3, 8, 10), dtype=np.uint16)
    path = write_lsm(tmp_path / "t.lsm", data)
    with open_seq(path) as fs:
        assert type(fs) is FSeq_lsm
        assert fs.frame_shape == (8, 10, 3)
        np.testing.assert_array_equal(np.asarray(fs), np.moveaxis(data, 1, -1))
        assert fs.meta["axes"].describe() == "t: 0.5 s, y: 0.4 µm, x: 0.3 µm"
    with open_seq(path, ch=2) as fs:
        np.testing.assert_array_equal(np.asarray(fs), data[:, 2])
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(1, 5), slice(2, 9)), dtype=None),
                                      data[:, 2, 1:5, 2:9])
    with pytest.raises(ChannelError):
        FSeq_lsm(path, ch=3)
    with pytest.raises(InvalidArgumentError, match="no z-planes"):
        FSeq_lsm(path, z=2)


class TestLSMConformance(ReaderConformance):
    seq_class = FSeq_lsm

    def write(self, tmp_path, frames):
        return write_lsm(tmp_path / "c.lsm", frames[:, None])


def test_stk_plain_tiff(tmp_path):
    """A plain TIFF stack named .stk reads as frames without MetaMorph calibration."""
    data = np.arange(4 * 6 * 7, dtype=np.uint16).reshape(4, 6, 7)
    path = tmp_path / "s.stk"
    tifffile.imwrite(path, data, photometric="minisblack")
    with open_seq(path) as fs:
        assert type(fs) is FSeq_stk
        np.testing.assert_array_equal(np.asarray(fs), data)


# -- LIF, CZI, OIF: error paths --------------------------------------------------------------------
@pytest.mark.parametrize("cls,module,ending", [
    (FSeq_nd2, "nd2", ".nd2"), (FSeq_lif, "liffile", ".lif"), (FSeq_czi, "czifile", ".czi"),
    (FSeq_oif, "oiffile", ".oib")])
def test_missing_dependency(tmp_path, monkeypatch, cls, module, ending):
    path = tmp_path / f"x{ending}"
    path.write_bytes(b"\0" * 64)
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'imfun\[vendor\]'"):
        cls(path)


@pytest.mark.parametrize("ending", [".nd2", ".lif", ".czi", ".oib", ".lsm"])
def test_corrupt_files(tmp_path, ending):
    path = tmp_path / f"bad{ending}"
    path.write_bytes(b"this is not a microscope file" * 20)
    with pytest.raises(CorruptFileError, match="bad"):
        open_seq(path)
