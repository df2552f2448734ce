"""Hostile files: headers that declare enormous sizes, XML entity tricks, pickles.

A header that declares enormous dimensions must fail (or open what exists)
before anything large is allocated: ``tracemalloc`` (which numpy reports its
buffers to) bounds the peak.  XML is parsed by defusedxml: entity expansion and
external entities are refused.  Nothing in a file is unpickled or executed.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import tifffile
from reliability_kit import _struct_array_v5, make_leica, make_mes, mlf_bytes

from imfun.errors import (
    CorruptFileError,
    MetadataWarning,
    TruncatedFileWarning,
    UnsupportedFormatError,
)
from imfun.fseq import fseq_from_glob, open_seq
from imfun.readers.leica import parse_leica_xml

SMALL = 16 * 1024**2  # bytes: the most a hostile header may make us allocate


@contextlib.contextmanager
def peak_memory():
    """Yield a list that holds the peak of traced allocations (bytes) after the block."""
    result: list[int] = []
    tracemalloc.start()
    try:
        yield result
    finally:
        result.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


# -- enormous dimensions ---------------------------------------------------------------
def test_imagej_header_claiming_billions_of_images(tmp_path):
    page = np.arange(80, dtype=np.uint16).reshape(8, 10)
    path = tmp_path / "claims.tif"
    tifffile.imwrite(path, page, metadata=None,
                     description="ImageJ=1.11a\nimages=4000000000\nframes=4000000000\n")
    with peak_memory() as peak, pytest.warns(TruncatedFileWarning, match="announces 4000000000 images"):
        fs = open_seq(path)
    with fs:
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], page)
    assert peak[0] < SMALL


def tiff_with_dimensions(path: Path, width: int, height: int, compression=None, data_bytes: int = 0) -> Path:
    """A one-page TIFF whose header claims ``width x height``; with ``data_bytes``, the page
    stores about that many bytes of (incompressible) data."""
    side = max(8, int(np.sqrt(data_bytes / 2)) + 1)
    data = np.random.default_rng(0).integers(0, 2**16, (side, side + 2), dtype=np.uint16) if data_bytes \
        else np.zeros((8, 10), np.uint16)
    tifffile.imwrite(path, data, compression=compression)
    with tifffile.TiffFile(path, mode="r+b") as tif:
        tags = tif.pages[0].tags
        tags["ImageWidth"].overwrite(width)
        tags["ImageLength"].overwrite(height)
        if "RowsPerStrip" in tags:
            tags["RowsPerStrip"].overwrite(height)
    return path


def test_tiff_page_of_enormous_dimensions(tmp_path):
    path = tiff_with_dimensions(tmp_path / "huge.tif", 60000, 60000)
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="header is damaged"):
        open_seq(path)
    assert peak[0] < SMALL


def test_compressed_tiff_page_of_enormous_dimensions(tmp_path):
    """No codec packs 7 GB into a few bytes: the page is refused at open, before decoding."""
    path = tiff_with_dimensions(tmp_path / "huge.tif", 60000, 60000, compression="zlib")
    with peak_memory() as peak, pytest.raises(CorruptFileError, match=r"stores \d+ bytes of data"):
        open_seq(path)
    assert peak[0] < SMALL


def test_compressed_tiff_page_fails_as_corrupt_when_memory_is_short(tmp_path):
    """A compressed page within the plausible ratio opens; where its decoded size does not fit
    in memory, the read fails as a CorruptFileError (not a bare MemoryError)."""
    path = tiff_with_dimensions(tmp_path / "huge.tif", 60000, 60000, compression="zlib",
                                data_bytes=200_000)
    code = textwrap.dedent(f"""
        import resource, warnings
        resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
        from imfun.errors import CorruptFileError
        from imfun.fseq import open_seq
        with open_seq({str(path)!r}) as fs:
            assert fs.frame_shape == (60000, 60000), fs.frame_shape
            try:
                fs[0]
            except CorruptFileError as exc:
                print("refused:", exc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused:" in proc.stdout and "allocate" in proc.stdout


@pytest.mark.parametrize("fields", [dict(nframes=2**32 - 1), dict(rows=2**32 - 1, cols=2**32 - 1),
                                    dict(nframes=2**31, rows=2**31, cols=2**31)])
def test_mlf_header_of_enormous_sizes(tmp_path, fields):
    path = tmp_path / "huge.mlf"
    path.write_bytes(mlf_bytes(np.zeros((2, 4, 5), np.uint16), **fields))
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="truncated or its header is wrong"):
        open_seq(path)
    assert peak[0] < SMALL


@pytest.mark.parametrize("shape", [(2**40, 2**40, 2**40), (2**31, 2**16, 2**16), (10**12, 4, 4)])
def test_npy_header_of_enormous_shape(tmp_path, shape):
    """Also shapes whose product wraps around in int64 (2**120 elements looks like 0)."""
    path = tmp_path / "huge.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<u2", "fortran_order": False, "shape": shape})
        fh.write(b"\0" * 64)
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="truncated: its header announces"):
        open_seq(path)
    assert peak[0] < SMALL


def test_hdf5_data_set_of_enormous_frames_opens_lazily(tmp_path):
    """HDF5 stores unwritten chunks as nothing: a terabyte-frame data set is a legal 30 kB file.
    Opening reads the header only, and a crop reads only its chunks."""
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", shape=(4, 2**20, 2**20), dtype="u2", chunks=(1, 64, 64))
    with peak_memory() as peak, open_seq(path) as fs:
        assert fs.frame_shape == (2**20, 2**20)
        block = fs.as3darray(crop=(slice(0, 8), slice(0, 8)))
    assert block.shape == (4, 8, 8)
    assert peak[0] < SMALL


def test_mes_descriptor_of_enormous_dimensions(tmp_path):
    record = [{"Context": "Measure", "ImageName": "IF0001_001", "Channel": "pmtUG",
               "MeasurementDate": "2014.03.21. 15:02:11,123", "WidthStep": 0.4, "HeightStep": 0.4,
               "DIMS": np.array([1e9, 1e9]), "FoldedFrameInfo": None, "Zlevel": 100.0, "Type": "XY"}]
    path = tmp_path / "huge.mes"
    scipy.io.savemat(path, {"IF0001_001": np.zeros((5, 4), np.uint16), "Df0001": _struct_array_v5(record)},
                     appendmat=False, format="5")
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="DIMS says 1000000000 x 1000000000"):
        open_seq(path)
    assert peak[0] < SMALL


def test_mes_time_lapse_claiming_a_trillion_frames(tmp_path):
    path, frames = make_mes(tmp_path, n=3, nl=4, ll=5)
    mat = scipy.io.loadmat(path, struct_as_record=False, squeeze_me=True)
    record = mat["Df0001"]
    entry = {k: getattr(record, k) for k in record._fieldnames}
    entry["FoldedFrameInfo"] = {k: getattr(entry["FoldedFrameInfo"], k)
                                for k in entry["FoldedFrameInfo"]._fieldnames}
    entry["FoldedFrameInfo"]["numFrames"] = 1e12
    scipy.io.savemat(path, {"IF0001_001": mat["IF0001_001"], "Df0001": _struct_array_v5([entry])},
                     appendmat=False, format="5")
    with peak_memory() as peak, pytest.warns(TruncatedFileWarning, match="says 1000000000000 frames"):
        fs = open_seq(path)
    with fs:
        np.testing.assert_array_equal(np.asarray(fs), frames)
    assert peak[0] < SMALL


# -- XML -----------------------------------------------------------------------------
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Data [
 <!ENTITY a "haha">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
 <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<Data><Image TextDescription="&i;"><ImageDescription><Dimensions>
<DimensionDescription DimID="1" NumberOfElements="10" Length="9e-06" Unit="m"/>
</Dimensions></ImageDescription></Image></Data>"""


def external_entity_xml(secret: Path) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE Data [<!ENTITY leak SYSTEM "file://{secret}">]>\n'
            '<Data><Image TextDescription="x"><ImageDescription><Dimensions>'
            '<DimensionDescription DimID="1" NumberOfElements="10" Length="9e-06" Unit="m"/>'
            '</Dimensions></ImageDescription><TimeStampList>&leak;</TimeStampList></Image></Data>'
            ).encode()


def test_xml_entity_expansion_is_refused(tmp_path):
    start = time.perf_counter()
    with peak_memory() as peak, pytest.raises(CorruptFileError, match="refused by the hardened XML parser"):
        parse_leica_xml(LAUGHS, name="laughs.xml")
    assert time.perf_counter() - start < 2 and peak[0] < SMALL


def test_xml_external_entity_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("1d9ab5118dbd0e0 TOP-SECRET")
    with pytest.raises(CorruptFileError, match="refused by the hardened XML parser"):
        parse_leica_xml(external_entity_xml(secret), name="xxe.xml")


@pytest.mark.parametrize("kind", ["laughs", "external"])
def test_hostile_leica_xml_is_ignored_and_the_frames_open(tmp_path, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("1d9ab5118dbd0e0 TOP-SECRET")
    xml = LAUGHS if kind == "laughs" else external_entity_xml(secret)
    pattern, frames = make_leica(tmp_path / "export", xml=xml)
    with pytest.warns(MetadataWarning, match="refused by the hardened XML parser"):
        fs = open_seq(pattern)
    with fs:
        np.testing.assert_array_equal(np.asarray(fs), frames)
        assert "TOP-SECRET" not in repr(fs.meta)
        assert fs.meta.get("frame_times") is None


def test_ome_xml_entity_expansion_in_a_tiff_stays_small(tmp_path):
    """OME-XML in a TIFF description is parsed by tifffile and by imfun (defusedxml)."""
    path = tmp_path / "laughs.ome.tif"
    description = LAUGHS.replace(b"<Data>", b'<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
                                 ).replace(b"</Data>", b"</OME>").replace(b"DOCTYPE Data", b"DOCTYPE OME")
    tifffile.imwrite(path, np.ones((5, 8, 10), np.uint16), description=description.decode(), metadata=None)
    start = time.perf_counter()
    with peak_memory() as peak, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with open_seq(path) as fs:
                assert fs.frame_shape == (8, 10)
        except CorruptFileError:
            pass  # refusing the file is fine too; expanding the entities is not
    assert time.perf_counter() - start < 5 and peak[0] < 64 * 1024**2


# -- pickles -----------------------------------------------------------------------------
class Payload:
    """Unpickling this creates a marker file: proof that something was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_npy_of_objects_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "objects.npy"
    np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(UnsupportedFormatError, match=r"holds Python objects .* never unpickles"):
        open_seq(path)
    folder = tmp_path / "frames"
    folder.mkdir()
    np.save(folder / "f0.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        list(fseq_from_glob(str(folder / "*.npy")))
    assert not marker.exists()


def test_a_pickle_named_npy_is_not_unpickled(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "frames.npy"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises((CorruptFileError, UnsupportedFormatError)):
        open_seq(path)
    assert not marker.exists()


# A TIFF whose IFD chain loops back on itself (found by atheris): tifffile's page
# iterator used to walk it forever.  Run in a subprocess so a regression fails, not hangs.
CIRCULAR_IFD_TIFF = (
    "SUkqAAgAAAAOAAABBAABAAAACgAAAAEBBAABAAAACAAAAAIBAwABAAAAEAAAAAMBAwABAAAAAQAAAAYBAwABAAAAAQAAAA4B"
    "AgBYAAAAtgAAAO//AgABAAAAcAEAABUBAwABAAAAAQAAABYBBAABAAAA/gAAABcBBAABAAAAoAAAABoBBQABAAAATgEAABsB"
    "BQABAAAAVgEAACgBAwABAAAAAQAAADEBAgAMAAAAXgEAAPADAABJbWFnZUo9MS4xMWEKaW1hZ2VzPTQKZnJhbWVzPTQKaHlw"
    "ZXJzdGFjaz10cnVlCBwKBQSdCfAL/gUzB5QPkwxTD+4FtgrYDikKIQ3BCgALEwasDRwCCwlFCzUNNQjdBdgEmwaXBzsL5Q0j"
    "AZgOTQiXBYIK7gj6AwcFPgtJCQ0YDzQCyAjlCwsEQgTGA0YD4A1qA4cB9QHyASkMgQSHDCgJaQ2oCPALpgz0AMEIGgeBBBEH"
    "cwavB8gM5QzKCRkL/A7zCcUFSAGiCJ0DRwlmAEENwg5FAswMWgamADcOsw6sAEUJ2gxXDH0Gbw33DMUBJwCYAbQFtgE6AQsE"
    "MgowCEcE2Q76CukJvw5GDPsBkwCDDV8G7QAMAAABBAABAAAACgAAAAEBBAABAAAACAAAAAIBAwABAAAAEAAAAAMBAwABAAAA"
    "AQAAAAYBAwABAAAAAQAAABEBBAAKbW9kZT1ncmF5c2NhbGUKbG9vcD1mYWxzZQpmaW50ZXJ2YWw9MC4xCgAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAAAAEAAAABAAAAAQAAAHRp"
    "ZmZmaWxlLnB5AAAAAAAAAEoN8wn8BzcEzwSjACwBQgC9ArUMJQpDDt4HegkqD2UL4Ql+CL8InA5VBL8MewoKACgGZQ2pCIYA"
    "8wtmCzoNvgJlAXwNWAB1CEEBrgSEB5oGTAZxABUA8Y0BIQB6CjYIHAoFBJ0J8Av+BTMHlA+TDFMP7gW2CtgOKQohDcEKAAsT"
    "BqwNHAILCUULNQ01CN0F2ASbBpcHOwvlDSMBmA5NCJcFggruCPoDBwU+C0kJDRgPNALICOULCwRCBMYDRgPgDWoDhwH1AfIB"
    "KQyBBIcMKAlpDagI8AumDPQAwQgaB4EEEQdzBq8HyAzlDMoJGQv8DvMJxQVIAaIInQNHCWYAQQ3CDkUCzAxaBqYANw6zDqwA"
    "RQnaDFcMfQZvDfcMxQEnAJgBtAW2AToBCwQyCjAIRwTZDvoK6Qm/DkYM+wGTAIMNXwbtAAwAAAEEAAEAAAAKAAAAAQEEAAEA"
    "AAAIAAAAAgEDAAEAAAAQAAAAAwEDAAEAAAABAAAABgEDAAEAAAABAAAAEQEEAAEAAAAQAgAAFQEDAAEAAAABAAAAFgEEAAAR"
    "AQQAAVAAAAADAAAVAQMAAQAAAAEAAAAWAQQAAQAAAAgAAAAXAQQAAQAAAKAAAAAaAQUAAQAAAIYEAAAbAQUAAQAAAI4EAAAo"
    "AQMAAQAAAAEAAAAAAAAAAQAAAAEAAAABAAAAAQAAAA=="
)


def test_circular_ifd_chain_does_not_hang(tmp_path):
    import base64
    import subprocess
    import sys

    path = tmp_path / "circular.tif"
    path.write_bytes(base64.b64decode(CIRCULAR_IFD_TIFF))
    code = (
        "import sys, warnings, numpy as np\n"
        "warnings.simplefilter('ignore')\n"
        "from imfun.errors import ImfunError\n"
        "from imfun.fseq import open_seq\n"
        "try:\n"
        "    with open_seq(sys.argv[1]) as fs:\n"
        "        np.asarray(fs[0]); fs.mean_frame()\n"
        "except ImfunError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_imagej_stack_with_a_circular_chain_opens_from_its_header(tmp_path):
    """An intact ImageJ hyperstack is read from its first page (no walk of the directory
    chain, so a fresh open costs what tifffile's does); a chain made circular after the data
    neither hangs nor changes the frames."""
    import struct
    import subprocess
    import sys

    import tifffile

    data = np.arange(6 * 8 * 9, dtype=np.uint16).reshape(6, 8, 9)
    path = tmp_path / "ij_circular.tif"
    tifffile.imwrite(path, data, imagej=True)
    with tifffile.TiffFile(path) as tif:
        order = "<" if tif.byteorder == "<" else ">"
        first, last = tif.pages[0].offset, tif.pages[-1].offset
    raw = bytearray(path.read_bytes())
    n_tags = struct.unpack_from(order + "H", raw, last)[0]
    struct.pack_into(order + "I", raw, last + 2 + 12 * n_tags, first)  # the last IFD points to the first
    path.write_bytes(bytes(raw))
    from imfun.readers.tiff import _imagej_intact

    with tifffile.TiffFile(path) as tif:
        assert _imagej_intact(tif)  # read from the header: the chain is not walked
    code = ("import sys, numpy as np\nfrom imfun.fseq import open_seq\n"
            "fs = open_seq(sys.argv[1])\nnp.save(sys.argv[2], np.asarray(fs))\n")
    out = tmp_path / "frames.npy"
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(out)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_array_equal(np.load(out), data)
