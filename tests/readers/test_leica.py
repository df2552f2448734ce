"""Leica exports: the XML parser on real LAS X files and on LAS AF / LAS X XML written here,
and image frames opened with their description."""

from __future__ import annotations

import re
import shutil
import warnings

import imageio.v3 as iio
import numpy as np
import pytest

from imfun.errors import CorruptFileError, MetadataWarning
from imfun.fseq import FSeq_glob, FSeq_imgleic, open_seq
from imfun.readers.leica import (
    filetime_to_datetime,
    find_leica_xml,
    parse_leica_xml,
)
from imfun.testing import ReaderConformance

T0 = 0x1D9AB5118DBD0E0  # a FILETIME: 2023-06-30 12:47:58.19 UTC


def las_af_xml(rows=16, cols=20, n=12, delay_ms=250, channels=2, px_m=0.4e-6, stamps=True):
    """An old LAS AF style description: DimIDs with Unit m, nDelayTime_ms, High/Low time stamps
    repeated once per channel (t0 t0 t1 t1 ...)."""
    chans = "".join(f'<ChannelDescription DataType="0" ChannelTag="{c}" Resolution="16"/>'
                    for c in range(channels))
    ticks = [T0 + k * (delay_ms * 10_000 + 1234) for k in range(n)]
    ts = "".join(f'<TimeStamp HighInteger="{t >> 32}" LowInteger="{t & 0xFFFFFFFF}"/>'
                 for t in ticks for _ in range(channels)) if stamps else ""
    w, h = f"{px_m * (cols - 1):e}", f"{px_m * 1.5 * (rows - 1):e}"
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<LEICA Version="2.0"><Element Name="Series003">
<Data><Image TextDescription="">
<ImageDescription><Channels>{chans}</Channels><Dimensions>
<DimensionDescription DimID="1" NumberOfElements="{cols}" Origin="0" Length="{w}" Unit="m"/>
<DimensionDescription DimID="2" NumberOfElements="{rows}" Origin="0" Length="{h}" Unit="m"/>
<DimensionDescription DimID="4" NumberOfElements="{n}" Origin="0" Length="0" Unit="s"/>
</Dimensions></ImageDescription>
<Attachment Name="HardwareSettingList"><HardwareSetting><ScannerSetting>
<ScannerSettingRecord Identifier="nDelayTime_ms" Unit="ms" Variant="{delay_ms}" VariantType="3"/>
<ScannerSettingRecord Identifier="dblZoom" Variant="4"/>
</ScannerSetting></HardwareSetting></Attachment>
<TimeStampList>{ts}</TimeStampList>
</Image></Data></Element></LEICA>""", ticks


def lasx_xml(n=12, dt=0.5, channels=2, rows=16, cols=20):
    """A LAS X style description with a time axis (DimID 4), a wavelength axis (DimID 9, to be
    ignored) and hex FILETIME stamps in channel blocks (t0 t1 ... t0 t1 ...)."""
    ticks = [T0 + int(k * dt * 1e7) for k in range(n)]
    chans = "".join('<ChannelDescription DataType="0" Resolution="8"/>' for _ in range(channels))
    hexes = " ".join(f"{t:x}" for _ in range(channels) for t in ticks)
    w, h = f"{0.2e-6 * (cols - 1):e}", f"{0.2e-6 * (rows - 1):e}"
    return f"""<?xml version="1.0"?>
<Data><Image TextDescription=""><ImageDescription><Channels>{chans}</Channels><Dimensions>
<DimensionDescription DimID="1" NumberOfElements="{cols}" Origin="0" Length="{w}" Unit="m"/>
<DimensionDescription DimID="2" NumberOfElements="{rows}" Origin="0" Length="{h}" Unit="m"/>
<DimensionDescription DimID="4" NumberOfElements="{n}" Origin="0" Length="{dt * (n - 1):e}" Unit="s"/>
<DimensionDescription DimID="9" NumberOfElements="1" Origin="5e-7" Length="0" Unit="m"/>
</Dimensions></ImageDescription>
<TimeStampList NumberOfTimeStamps="{n * channels}">{hexes} </TimeStampList></Image></Data>""", ticks


def write_frames(folder, stem, frames, ending=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        iio.imwrite(folder / f"{stem}_t{k:03d}_ch00{ending}", frame)
    return str(folder / f"{stem}_t*_ch00{ending}")


def test_filetime():
    assert filetime_to_datetime(0x1D9AB5118DBD0E0).isoformat() == "2023-06-30T12:47:58.190000+00:00"


# -- the real LAS X files, checked against their _Properties twins -----------------------
def _real_pairs(shared_data):
    folder = shared_data / "leica-lasx" / "MetaData"
    mains = sorted(p for p in folder.glob("*.xml") if not p.stem.endswith("_Properties"))
    if not mains:
        pytest.skip("no Leica LAS X sample files")
    return [(m, m.with_name(m.stem + "_Properties.xml")) for m in mains]


def test_real_lasx_against_properties(shared_data):
    for main, props in _real_pairs(shared_data):
        info = parse_leica_xml(main)
        text = props.read_text(encoding="utf-8")
        assert info["generation"] == "LAS X" and not info["missing"]
        # pixel size: Properties gives Length in µm and a rounded Voxel
        for axis in "XY":
            m = re.search(rf'DimID="{axis}" NumberOfElements="(\d+)" Origin="[^"]*" Length="([\d.]+)" '
                          rf'Unit="µm".*?Voxel="([\d.]+)"', text)
            n, length, voxel = int(m[1]), float(m[2]), float(m[3])
            got = info["dx" if axis == "X" else "dy"]
            assert got == pytest.approx(length / (n - 1), rel=1e-4)
            assert got == pytest.approx(voxel, abs=0.0006)
        # the wavelength axis (DimID 5) is kept in the dimensions but is not a frame axis
        lam = next(d for d in info["dimensions"] if d["DimID"] == "5")
        assert lam["n"] == 60 and lam["axis"] is None
        assert lam["step"] == pytest.approx(3e-9) and lam["origin"] == pytest.approx(600e-9)
        assert info["dz"] is None and info["dt"] is None
        # time stamps: hex FILETIME (UTC) against the twin's relative times and local clock
        rel = [float(x) for x in re.findall(r'<TimeStamp RelativeTime="([\d.]+)"', text)]
        assert len(info["frame_times"]) == len(rel) == 60
        np.testing.assert_allclose(info["frame_times"], rel, atol=1.5e-3)
        assert len(info["frame_times_raw"]) == 60
        first = re.search(r'<TimeStamp RelativeTime="0.000" Date="([^"]+)" '
                          r'Time="(\d+):(\d\d):(\d\d) (AM|PM)" MiliSeconds="(\d+)"', text)
        utc = filetime_to_datetime(info["frame_times_raw"][0])
        assert (utc.minute, utc.second, utc.microsecond // 1000) == \
            (int(first[3]), int(first[4]), int(first[6]))
        local_hour = int(first[2]) % 12 + (12 if first[5] == "PM" else 0)
        assert (local_hour - utc.hour) % 24 in range(0, 15)  # a whole-hour time zone offset
        # and the twin parses to the same
        twin = parse_leica_xml(props)
        assert twin["generation"] == "LAS X properties"
        assert twin["dx"] == pytest.approx(info["dx"], rel=1e-4)
        np.testing.assert_allclose(twin["frame_times"], info["frame_times"])


def test_real_xml_end_to_end(shared_data, tmp_path):
    main, props = _real_pairs(shared_data)[0]
    meta_dir = tmp_path / "MetaData"
    meta_dir.mkdir()
    shutil.copy(main, meta_dir / main.name)  # into tmp_path only, never into the repo
    shutil.copy(props, meta_dir / props.name)
    frames = np.random.default_rng(0).integers(0, 255, (60, 8, 10), dtype=np.uint8)
    for k, frame in enumerate(frames):
        iio.imwrite(tmp_path / f"{main.stem}_l{k:02d}_ch00.png", frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MetadataWarning)
        fs = open_seq(str(tmp_path / "*.png"))
    with fs:
        assert type(fs) is FSeq_imgleic
        assert fs.meta["leica_xml"] == str(meta_dir / main.name)
        np.testing.assert_array_equal(np.asarray(fs), frames)
        assert fs.meta["axes"][1] == fs.meta["axes"][2]
        assert fs.meta["axes"][2].scale == pytest.approx(138.3929 / 1399, rel=1e-5)
        assert fs.meta["axes"][2].unit == "µm"
        assert fs.meta["axes"][0].unit == ""  # frames go along λ: no time or z axis
        assert fs.frame_idx()[1] == pytest.approx(3.737, abs=1e-3)
        assert len(fs.meta["frame_times_raw"]) == 60


# -- descriptions written here ---------------------------------------------------------------
def test_parse_las_af():
    text, ticks = las_af_xml()
    info = parse_leica_xml(text.encode("latin-1"), "las_af.xml")
    assert info["generation"] == "LAS AF" and info["n_channels"] == 2
    assert info["dx"] == pytest.approx(0.4) and info["dy"] == pytest.approx(0.6)
    assert info["dt"] == pytest.approx(0.25)  # DimID 4 has Length 0: nDelayTime_ms is used
    assert len(info["frame_times"]) == 12  # the per-channel repeats are removed
    np.testing.assert_allclose(info["frame_times"], np.arange(12) * 0.2501234)
    assert info["frame_times_raw"][:2] == [ticks[0], ticks[0]]
    assert info["start_time"].startswith("2023-06-30T12:47:58")


def test_parse_lasx_time_axis_and_blocks():
    text, _ticks = lasx_xml(n=12, dt=0.5, channels=3)
    info = parse_leica_xml(text.encode(), "x.xml")
    assert info["dt"] == pytest.approx(0.5) and info["dx"] == pytest.approx(0.2)
    assert info["generation"] == "LAS X" and info["n_channels"] == 3
    np.testing.assert_allclose(info["frame_times"], np.arange(12) * 0.5)
    assert len(info["frame_times_raw"]) == 36


def test_parse_errors():
    with pytest.raises(CorruptFileError, match="well-formed"):
        parse_leica_xml(b"<Data><Image>", "broken.xml")
    with pytest.raises(CorruptFileError, match="no Leica image description"):
        parse_leica_xml(b"<config><item/></config>", "other.xml")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b"<Data><ImageDescription>&b;</ImageDescription></Data>")
    with pytest.raises(CorruptFileError, match="refused"):
        parse_leica_xml(bomb, "bomb.xml")
    info = parse_leica_xml(b"<Data><Image><ImageDescription/></Image></Data>", "empty.xml")
    assert info["dx"] is None and "pixel size" in info["missing"][0]


def test_las_af_end_to_end(tmp_path):
    frames = np.random.default_rng(3).integers(0, 60000, (12, 16, 20), dtype=np.uint16)
    pattern = write_frames(tmp_path, "Series003", frames)
    text, _ = las_af_xml(channels=1)
    (tmp_path / "Series003.xml").write_text(text, encoding="latin-1")
    with open_seq(pattern) as fs:
        assert type(fs) is FSeq_imgleic
        np.testing.assert_array_equal(np.asarray(fs), frames)
        assert fs.meta["axes"].describe() == "t: 0.25 s, y: 0.6 µm, x: 0.4 µm"
        np.testing.assert_allclose(fs.frame_idx(), np.arange(12) * 0.2501234)
        assert fs[2:8:2].frame_idx()[0] == pytest.approx(2 * 0.2501234)


def test_subsequence_keeps_recorded_times(tmp_path):
    frames = np.zeros((12, 4, 5), np.uint8)
    pattern = write_frames(tmp_path, "Series003", frames)
    text, _ = las_af_xml(channels=1, rows=4, cols=5)
    (tmp_path / "Series003.xml").write_text(text, encoding="latin-1")
    with open_seq(pattern) as fs:
        np.testing.assert_allclose(fs[2:8:2].frame_idx(), np.arange(2, 8, 2) * 0.2501234)


def test_best_prefix_and_metadata_folder(tmp_path):
    frames = np.zeros((3, 4, 5), np.uint8)
    pattern = write_frames(tmp_path, "Exp_Series1_pos2", frames)
    (tmp_path / "MetaData").mkdir()
    short, _ = las_af_xml(rows=4, cols=5, n=3, px_m=1e-6)
    long, _ = lasx_xml(n=3, rows=4, cols=5)
    (tmp_path / "MetaData" / "Exp_Series1.xml").write_text(short)
    (tmp_path / "MetaData" / "Exp_Series1_pos2.xml").write_text(long)
    (tmp_path / "MetaData" / "Exp_Series1_pos2_Properties.xml").write_text(long)
    (tmp_path / "Exp_Series10.xml").write_text(short)  # not a prefix at a separator
    first = tmp_path / "Exp_Series1_pos2_t000_ch00.png"
    assert find_leica_xml(first) == tmp_path / "MetaData" / "Exp_Series1_pos2.xml"
    with open_seq(pattern) as fs:
        assert fs.meta["axes"][2].scale == pytest.approx(0.2)
        assert fs.meta["axes"][0] == (0.5, "s")


def test_unrelated_xml_is_not_claimed(tmp_path):
    frames = np.zeros((3, 4, 5), np.uint8)
    pattern = write_frames(tmp_path, "Series1", frames)
    (tmp_path / "Series1.xml").write_text("<config><item value='1'/></config>")
    with open_seq(pattern) as fs:
        assert type(fs) is FSeq_glob
    with pytest.warns(MetadataWarning, match=r"Series1\.xml.*no Leica image description"):
        fs = FSeq_imgleic(pattern, xmlname=tmp_path / "Series1.xml")
    assert fs.meta["axes"][2] == (1.0, "")
    fs.close()


def test_malformed_and_incomplete_xml_warn(tmp_path):
    frames = np.ones((3, 4, 5), np.uint8)
    pattern = write_frames(tmp_path, "S", frames)
    bad = tmp_path / "S.xml"
    bad.write_text("<Data><Image><ImageDescription><Dimensions>")  # passes the cheap check
    with pytest.warns(MetadataWarning, match=r"S\.xml.*well-formed"):
        fs = open_seq(pattern)
    assert type(fs) is FSeq_imgleic and len(fs) == 3
    fs.close()
    bad.write_text("<Data><Image><ImageDescription/></Image></Data>")
    with pytest.warns(MetadataWarning, match=r"S\.xml lacks the pixel size"):
        FSeq_imgleic(pattern).close()
    lonely = write_frames(tmp_path / "other", "Q", frames)
    with pytest.warns(MetadataWarning, match="no Leica XML description found"):
        FSeq_imgleic(lonely).close()


def test_stamp_count_mismatch_warns(tmp_path):
    frames = np.ones((3, 4, 5), np.uint8)
    pattern = write_frames(tmp_path, "S", frames)
    text, _ = las_af_xml(rows=4, cols=5, n=5, channels=1)
    (tmp_path / "S.xml").write_text(text)
    with pytest.warns(MetadataWarning, match="5 frame time stamps for 3 image files"):
        fs = open_seq(pattern)
    assert "frame_times" not in fs.meta and len(fs.meta["leica_frame_times"]) == 5
    fs.close()


class TestLeicaConformance(ReaderConformance):
    seq_class = FSeq_imgleic

    def write(self, tmp_path, frames):
        pattern = write_frames(tmp_path, "Series007", frames)
        (tmp_path / "MetaData").mkdir()
        text, _ = lasx_xml(n=len(frames), channels=1, rows=frames.shape[1], cols=frames.shape[2])
        (tmp_path / "MetaData" / "Series007.xml").write_text(text)
        return pattern
