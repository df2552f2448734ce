"""Small valid files of every format, written with the real libraries, for the reliability tests.

Each ``make_<format>(folder)`` writes a few frames of 32 x 48 (or smaller) and returns
what to pass to ``open_seq`` together with the frames written.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

N, ROWS, COLS = 12, 32, 48
MLF_OFFSET = 0x10000
MLF_V2_TEXT = b"Moor FLPI Live Image Data file V2.0"


def frames(n: int = N, rows: int = ROWS, cols: int = COLS, dtype=np.uint16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4000, (n, rows, cols)).astype(dtype)


def make_tiff(folder: Path, compression=None, name: str = "movie.tif") -> tuple[str, np.ndarray]:
    import tifffile

    data = frames()
    path = folder / name
    tifffile.imwrite(path, data, imagej=compression is None, compression=compression,
                     metadata={"axes": "TYX", "finterval": 0.1} if compression is None else None)
    return str(path), data


def make_png_glob(folder: Path) -> tuple[str, np.ndarray]:
    import imageio.v3 as iio

    data = frames(dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(data):
        iio.imwrite(folder / f"frame{k:03d}.png", frame)
    return str(folder / "frame*.png"), data


def make_npy(folder: Path) -> tuple[str, np.ndarray]:
    data = frames(dtype=np.float32)
    path = folder / "stack.npy"
    np.save(path, data)
    return str(path), data


def make_hdf5(folder: Path) -> tuple[str, np.ndarray]:
    import h5py

    data = frames()
    path = folder / "rec.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=data, chunks=(4, ROWS, COLS))
    return str(path), data


def make_zarr(folder: Path) -> tuple[str, np.ndarray]:
    import zarr

    data = frames()
    path = folder / "rec.zarr"
    arr = zarr.create_array(str(path), shape=data.shape, chunks=(4, ROWS, COLS), dtype=data.dtype)
    arr[:] = data
    return str(path), data


def make_video(folder: Path) -> tuple[str, np.ndarray]:
    """A lossless grey-ish RGB movie (ffv1 in mkv); frames come back exactly."""
    import av

    rng = np.random.default_rng(3)
    data = rng.integers(0, 255, (N, ROWS, COLS, 3), dtype=np.uint8)
    path = folder / "movie.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=10)
        stream.width, stream.height, stream.pix_fmt = COLS, ROWS, "bgr0"
        for frame in data:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path), data


def mlf_bytes(data: np.ndarray, nframes: int | None = None, rows: int | None = None,
              cols: int | None = None, text: bytes = MLF_V2_TEXT) -> bytes:
    """A Moor FLPI V2 file: text, uint32 header fields, flux/DC frames interleaved."""
    n, r, c = data.shape
    header = bytearray(MLF_OFFSET)
    header[:len(text)] = text
    for off, val in ((0x8000, n if nframes is None else nframes), (0x8008, c if cols is None else cols),
                     (0x8010, r if rows is None else rows), (0x8018, 40), (0x8028, 6)):
        header[off:off + 4] = struct.pack("<I", val)
    body = np.stack([data, data // 2], axis=1).astype("<u2").tobytes()
    return bytes(header) + body


def make_mlf(folder: Path, n: int = N, rows: int = ROWS, cols: int = COLS) -> tuple[str, np.ndarray]:
    data = frames(n, rows, cols)
    path = folder / "speckle.mlf"
    path.write_bytes(mlf_bytes(data))
    return str(path), data


def _struct_array_v5(entries: list[dict]) -> np.ndarray:
    keys = list(entries[0])
    arr = np.empty((1, len(entries)), dtype=[(k, object) for k in keys])
    for i, e in enumerate(entries):
        for k in keys:
            arr[0, i][k] = np.zeros((0, 0)) if e[k] is None else e[k]
    return arr


def make_mes(folder: Path, n: int = 6, nl: int = 8, ll: int = 10, pos: int = 2,
             name: str = "cells.mes") -> tuple[str, np.ndarray]:
    """A MATLAB v5 MES file with one XYT record of one channel (the documented layout)."""
    import scipy.io

    rng = np.random.default_rng(5)
    data = rng.integers(0, 4000, (n, nl, ll), dtype=np.uint16)
    pre = np.zeros((pos, ll), np.uint16)
    folded = np.ascontiguousarray(np.concatenate([pre, data.reshape(-1, ll)]).T)
    ffi = {"numFrames": float(n), "numFrameLines": float(nl), "frameTimeLength": 125.0,
           "firstFramePos": float(pos), "firstFrameStartTime": 10.0, "TransverseStep": 0.5}
    record = [{"Context": "Measure", "ImageName": "IF0001_001", "Channel": "pmtUG",
               "MeasurementDate": "2014.03.21. 15:02:11,123", "WidthStep": 0.4, "HeightStep": 0.0,
               "DIMS": np.array([float(ll), float(pos + n * nl)]), "FoldedFrameInfo": ffi,
               "Zlevel": 100.0, "Type": "XY"}]
    path = folder / name
    scipy.io.savemat(path, {"IF0001_001": folded, "Df0001": _struct_array_v5(record)},
                     appendmat=False, format="5")
    return str(path), data


LEICA_XML = """<?xml version="1.0"?>
<Data><Image TextDescription=""><ImageDescription><Channels>
<ChannelDescription DataType="0" Resolution="8"/></Channels><Dimensions>
<DimensionDescription DimID="1" NumberOfElements="{cols}" Origin="0" Length="9.4e-06" Unit="m"/>
<DimensionDescription DimID="2" NumberOfElements="{rows}" Origin="0" Length="6.2e-06" Unit="m"/>
<DimensionDescription DimID="4" NumberOfElements="{n}" Origin="0" Length="1.5" Unit="s"/>
</Dimensions></ImageDescription>
<TimeStampList NumberOfTimeStamps="{n}">{stamps}</TimeStampList></Image></Data>"""


def leica_xml(n: int = 4, rows: int = 8, cols: int = 10) -> bytes:
    stamps = " ".join(f"{0x1D9AB5118DBD0E0 + k * 5_000_000:x}" for k in range(n))
    return LEICA_XML.format(n=n, rows=rows, cols=cols, stamps=stamps).encode()


def make_leica(folder: Path, xml: bytes | None = None, n: int = 4) -> tuple[str, np.ndarray]:
    """A LAS X style export: PNG frames and ``MetaData/Series001.xml``."""
    import imageio.v3 as iio

    data = frames(n, 8, 10, dtype=np.uint8)
    (folder / "MetaData").mkdir(parents=True, exist_ok=True)
    (folder / "MetaData" / "Series001.xml").write_bytes(leica_xml(n) if xml is None else xml)
    for k, frame in enumerate(data):
        iio.imwrite(folder / f"Series001_t{k:03d}_ch00.png", frame)
    return str(folder / "Series001_t*_ch00.png"), data


# every file reader, by name: a maker returning (what to open, frames written)
MAKERS = {
    "tiff-memmap": make_tiff,
    "tiff-compressed": lambda folder: make_tiff(folder, compression="zlib", name="packed.tif"),
    "image-glob": lambda folder: make_png_glob(folder / "pngs"),
    "npy": make_npy,
    "hdf5": make_hdf5,
    "zarr": make_zarr,
    "video": make_video,
    "mlf": make_mlf,
    "mes": make_mes,
    "leica": lambda folder: make_leica(folder / "leica"),
}
