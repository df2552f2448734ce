"""Moor FLPI (.mlf) files written byte by byte to the documented layout."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest

from imfun.errors import CorruptFileError
from imfun.fseq import FSeq_mlf, open_seq
from imfun.readers.mlf import DATA_OFFSET, read_mlf_header
from imfun.testing import ReaderConformance

V2_TEXT = b"Moor FLPI Live Image Data file V2.0"
V3_TEXT = b"moorFLPI Live Image Data File V3.0"


def write_mlf(path, flux, dc, version=2, dt=40, exposure=6, gain=3, nframes=None, truncate=0):
    """Write an MLF file: text, header fields, then flux/DC frames interleaved (uint16)."""
    n, rows, cols = flux.shape
    header = bytearray(DATA_OFFSET)
    text = V2_TEXT if version == 2 else V3_TEXT
    header[:len(text)] = text
    nf = n if nframes is None else nframes
    if version == 2:
        for off, val in ((0x8000, nf), (0x8008, cols), (0x8010, rows), (0x8018, dt), (0x8028, exposure)):
            header[off:off + 4] = struct.pack("<I", val)
    else:
        for off, val in ((0x100, 3), (0x1000, nf), (0x1008, cols), (0x1010, rows), (0x1018, dt),
                         (0x1028, exposure), (0x1030, gain)):
            header[off:off + 8] = struct.pack("<q", val)
    body = np.stack([flux, dc], axis=1).astype("<u2").tobytes()
    data = bytes(header) + body
    path.write_bytes(data[:len(data) - truncate] if truncate else data)
    return path


def frames(n=12, rows=16, cols=20, seed=0):
    rng = np.random.default_rng(seed)
    flux = rng.integers(0, 60000, (n, rows, cols), dtype=np.uint16)
    dc = rng.integers(0, 60000, (n, rows, cols), dtype=np.uint16)
    return flux, dc


class TestMLFConformance(ReaderConformance):
    seq_class = FSeq_mlf

    def write(self, tmp_path, frames):
        dc = (frames[::-1] // 2).astype(np.uint16)
        return write_mlf(tmp_path / "c.mlf", frames.astype(np.uint16), dc, version=3, dt=25000)


@pytest.mark.parametrize("version,dt,expected_dt", [(2, 40, 0.04), (3, 25000, 0.025)])
def test_flux_dc_and_dt(tmp_path, version, dt, expected_dt):
    flux, dc = frames()
    p = write_mlf(tmp_path / f"v{version}.mlf", flux, dc, version=version, dt=dt)
    with open_seq(p) as fs:
        assert isinstance(fs, FSeq_mlf)
        assert len(fs) == 12 and fs.frame_shape == (16, 20) and fs.dtype == np.uint16
        np.testing.assert_array_equal(np.asarray(fs), flux)
        np.testing.assert_array_equal(fs[5], flux[5])
        np.testing.assert_array_equal(np.asarray(fs[[7, 2, 2]]), flux[[7, 2, 2]])
        np.testing.assert_array_equal(fs.as3darray(crop=(slice(3, 9), slice(2, 5)), dtype=None),
                                      flux[:, 3:9, 2:5])
        np.testing.assert_array_equal(fs.reader.read(np.array([1, 4, 9]), (slice(0, 4), slice(1, 3))),
                                      flux[[1, 4, 9], 0:4, 1:3])
        assert fs.meta["axes"][0].scale == pytest.approx(expected_dt)
        assert fs.meta["axes"][0].unit == "s"
        np.testing.assert_allclose(fs.frame_idx(), np.arange(12) * expected_dt)
        assert fs.meta["exposure"] == 6
        assert fs.reader.cheap_crop
        dcs = fs.dc_frames()
        np.testing.assert_array_equal(np.asarray(dcs), dc)
        assert dcs.meta["axes"][0] == fs.meta["axes"][0]
        dcs.close()
    with FSeq_mlf(p, kind="dc") as fdc:
        np.testing.assert_array_equal(fdc[3], dc[3])


def test_memory_mapped_readonly_view(tmp_path):
    flux, dc = frames()
    p = write_mlf(tmp_path / "m.mlf", flux, dc)
    fs = FSeq_mlf(p)
    block = fs.reader.read(slice(2, 6))
    assert not block.flags.writeable  # a read-only view of the map, not a copy
    assert isinstance(block.base, np.memmap) or isinstance(block, np.memmap)
    fs.close()
    np.testing.assert_array_equal(fs[1], flux[1])  # reopens after close


def test_v3_header_fields(tmp_path):
    flux, dc = frames(3, 4, 5)
    p = write_mlf(tmp_path / "h.mlf", flux, dc, version=3, dt=1000, exposure=7, gain=2)
    h = read_mlf_header(p)
    assert (h["format_version"], h["version"], h["nframes"], h["rows"], h["cols"]) == (3, 3, 3, 4, 5)
    assert (h["dt"], h["dt_unit"], h["exposure"], h["gain"]) == (1000, "µs", 7, 2)


def test_pickle_roundtrip(tmp_path):
    flux, dc = frames(4, 4, 5)
    p = write_mlf(tmp_path / "p.mlf", flux, dc)
    with FSeq_mlf(p) as fs:
        reader = pickle.loads(pickle.dumps(fs.reader))
        np.testing.assert_array_equal(reader.read(slice(0, 4)), flux)
        reader.close()


def test_truncated_file(tmp_path):
    flux, dc = frames(5, 8, 8)
    p = write_mlf(tmp_path / "t.mlf", flux, dc, truncate=10)
    with pytest.raises(CorruptFileError, match="truncated"):
        FSeq_mlf(p)


def test_header_beyond_file(tmp_path):
    flux, dc = frames(2, 8, 8)
    # a corrupt count: 4e9 frames would be ~1 TB; must fail on the header, not by allocating
    p = write_mlf(tmp_path / "big.mlf", flux, dc, nframes=4_000_000_000)
    with pytest.raises(CorruptFileError, match="need"):
        FSeq_mlf(p)


def test_short_header_and_bad_text(tmp_path):
    p = tmp_path / "short.mlf"
    p.write_bytes(V3_TEXT + b"\0" * 100)
    with pytest.raises(CorruptFileError, match="truncated"):
        FSeq_mlf(p)
    q = tmp_path / "other.mlf"
    q.write_bytes(b"not a speckle file" + b"\0" * DATA_OFFSET)
    with pytest.raises(CorruptFileError, match="not a Moor FLPI"):
        FSeq_mlf(q)


def test_zero_sizes(tmp_path):
    flux, dc = frames(2, 4, 4)
    p = write_mlf(tmp_path / "z.mlf", flux, dc, nframes=0)
    with pytest.raises(CorruptFileError, match="positive"):
        FSeq_mlf(p)


def test_sniffed_without_ending(tmp_path):
    flux, dc = frames(3, 4, 5)
    p = write_mlf(tmp_path / "speckle.dat", flux, dc, version=3)
    with open_seq(p) as fs:
        assert isinstance(fs, FSeq_mlf)
        np.testing.assert_array_equal(np.asarray(fs), flux)
