"""FSeq_spe on SPE files written byte by byte to the header specification, and on the
real Princeton Instruments file in ../shared/data."""

import struct

import numpy as np
import pytest

from imfun.errors import CorruptFileError
from imfun.fseq import FSeq_spe, open_seq
from imfun.readers.spe import DATA_TYPES, HEADER_BYTES, read_spe_header
from imfun.testing import ReaderConformance

CODES = {np.dtype(v): k for k, v in DATA_TYPES.items()}


def spe_bytes(frames: np.ndarray, version: float = 2.5, footer: bytes = b"", **override) -> bytes:
    n, rows, cols = frames.shape
    header = bytearray(HEADER_BYTES)
    fields = {"cols": cols, "code": CODES[frames.dtype], "rows": rows, "n": n, **override}
    struct.pack_into("<H", header, 42, fields["cols"])
    struct.pack_into("<h", header, 108, fields["code"])
    struct.pack_into("<H", header, 656, fields["rows"])
    struct.pack_into("<i", header, 1446, fields["n"])
    struct.pack_into("<f", header, 10, 0.02)
    struct.pack_into("<f", header, 1992, version)
    data = frames.astype(frames.dtype.newbyteorder("<")).tobytes()
    if footer:
        struct.pack_into("<Q", header, 678, HEADER_BYTES + len(data))
    return bytes(header) + data + footer


class SpeConformance(ReaderConformance):
    seq_class = FSeq_spe

    def write(self, tmp_path, frames):
        path = tmp_path / "movie.spe"
        path.write_bytes(spe_bytes(frames))
        return path


class TestUint16(SpeConformance):
    pass


class TestFloat32(SpeConformance):
    def make_frames(self):
        return np.random.default_rng(2).normal(100, 20, (12, 16, 20)).astype(np.float32)


class TestInt32(SpeConformance):
    def make_frames(self):
        return np.random.default_rng(3).integers(-5000, 5000, (12, 16, 20)).astype(np.int32)


def test_header_and_lightfield_footer(tmp_path):
    frames = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    path = tmp_path / "lf.spe"
    path.write_bytes(spe_bytes(frames, version=3.0, footer=b"<SpeFormat version='3.0'/>"))
    header = read_spe_header(path)
    assert (header["nframes"], header["rows"], header["cols"]) == (2, 3, 4)
    assert header["exposure_s"] == pytest.approx(0.02) and header["xml_footer"].startswith("<SpeFormat")
    with open_seq(path) as fs:
        np.testing.assert_array_equal(np.asarray(fs), frames)


@pytest.mark.parametrize("override, message", [
    ({"n": 1000}, "truncated"), ({"code": 42}, "data type"), ({"n": 0}, "positive"),
    ({"n": 2**31 - 1, "rows": 65535, "cols": 65535}, "truncated")])
def test_bad_headers(tmp_path, override, message):
    path = tmp_path / "bad.spe"
    path.write_bytes(spe_bytes(np.zeros((2, 3, 4), np.uint16), **override))
    with pytest.raises(CorruptFileError, match=message):
        open_seq(path)


def test_short_file(tmp_path):
    path = tmp_path / "short.spe"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(CorruptFileError, match="shorter than an SPE header"):
        open_seq(path)


def test_real_princeton_file(shared_data):
    path = shared_data / "pims" / "spestack_test.spe"
    with open_seq(path) as fs:
        assert isinstance(fs, FSeq_spe) and len(fs) == 5 and fs.frame_shape == (128, 128)
        for i in (0, 1):
            truth = np.load(shared_data / "pims" / f"spestack_test_frame{i}.npy")
            np.testing.assert_array_equal(fs[i], truth)
