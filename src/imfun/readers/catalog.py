"""The built-in formats, as the registry knows them before any reader module is imported.

Each row gives a format's name, endings, options, priority and what else the
registry needs to choose it (a sniff of the first bytes, written here so that
it costs no import), and names — as ``"module:function"`` — its opener, its
``claims`` test and its ``contents`` lister. A reader module and its codecs are
imported only when a source of its format is opened (or its claims test runs),
so ``import imfun.fseq`` and the first ``open_seq`` stay cheap.
"""

from __future__ import annotations

import os

from .options import ARRAY, AXES, CH, DATASET, KIND, LEVEL, RECORD, ROI, SERIES, XMLNAME, Z

TIFF_ENDINGS = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".btf", ".tf8")
IMAGE_ENDINGS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".gif")
VIDEO_ENDINGS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")  # classic and BigTIFF, both byte orders
NPY_MAGIC = b"\x93NUMPY"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MLF_TEXTS = (b"moor flpi live image data file v2", b"moorflpi live image data file v3")
ZARR_ENDINGS = (".zarr", ".ome.zarr")
ZARR_METADATA = (".zarray", ".zgroup", "zarr.json")  # files that make a folder a Zarr store


def is_tiff(head: bytes) -> bool:
    """Whether a file's first bytes are a TIFF (or BigTIFF) header."""
    return head[:4] in TIFF_MAGIC


def is_npy(head: bytes) -> bool:
    """Whether a file's first bytes are a NumPy ``.npy`` header."""
    return head.startswith(NPY_MAGIC)


def is_hdf5(head: bytes) -> bool:
    """Whether a file's first bytes are the HDF5 signature."""
    return head.startswith(HDF5_SIGNATURE)


def is_mlf(head: bytes) -> bool:
    """Whether the first bytes of a file are those of a Moor FLPI file."""
    text = head[:64].lower()
    return any(t in text for t in MLF_TEXTS)


def no_bytes(head: bytes) -> bool:
    """A folder has no first bytes (Zarr stores are folders)."""
    return not head


def is_zarr_store(src) -> bool:
    """A folder is a Zarr store when it ends in .zarr or holds Zarr metadata files (checked
    here, so that opening a folder of frame files does not import the Zarr reader)."""
    from .registry import file_ending

    path = src.names[0]
    if not os.path.isdir(path):
        return False
    return file_ending(path) in ZARR_ENDINGS or any(os.path.isfile(os.path.join(path, m))
                                                    for m in ZARR_METADATA)


_VENDOR = {"extra": "vendor", "options": (SERIES, CH, Z),
           "contents": "imfun.readers.vendor:list_vendor_contents"}
SCANIMAGE_ENDINGS = (".tif", ".tiff", ".btf", ".tf8")

BUILTIN: tuple[dict, ...] = (
    dict(name="scanimage", opener="imfun.readers.scanimage:open_scanimage", endings=SCANIMAGE_ENDINGS,
         collection=True, claims="imfun.readers.scanimage_header:claims", priority=10, options=(CH, Z, ROI),
         description="ScanImage TIFF (3.x, 4/5, 2015, 2016+ BigTIFF), one file or split files",
         seq_name="FSeq_scanimage"),
    # single=False: one file with an XML beside it is more likely a multi-page TIFF than a one-frame export
    dict(name="leica", opener="imfun.readers.leica:open_leica_images", endings=IMAGE_ENDINGS,
         collection=True, single=False, claims="imfun.readers.leica_files:claims", priority=10,
         options=(CH, XMLNAME), seq_name="FSeq_imgleic",
         description="image files exported by Leica LAS AF / LAS X with their XML"),
    dict(name="tiff-files", opener="imfun.readers.tiff:open_tiff_files", endings=TIFF_ENDINGS,
         collection=True, single=False, claims="imfun.readers.tiff:multipage_files", priority=5,
         options=(CH, SERIES, Z), seq_name="FSeq_tiffs",
         description="several multi-page TIFF files, one acquisition split over files"),
    dict(name="lsm", opener="imfun.readers.vendor:open_lsm", endings=(".lsm",), priority=5,
         options=(SERIES, CH, Z), description="Zeiss LSM (tifffile)", seq_name="FSeq_lsm"),
    dict(name="stk", opener="imfun.readers.vendor:open_stk", endings=(".stk",), priority=5,
         options=(SERIES, CH, Z), description="MetaMorph STK (tifffile)", seq_name="FSeq_stk"),
    dict(name="tiff", opener="imfun.readers.tiff:open_tiff", endings=TIFF_ENDINGS, sniff=is_tiff,
         options=(CH, SERIES, Z), contents="imfun.readers.tiff:list_tiff_contents",
         description="multi-page TIFF, BigTIFF, ImageJ hyperstack, OME-TIFF", seq_name="FSeq_tiff"),
    dict(name="npy", opener="imfun.readers.npy:open_npy", endings=(".npy",), sniff=is_npy,
         collection=True, description="NumPy .npy: one stack, or one frame per file", seq_name="FSeq_npy"),
    dict(name="txt", opener="imfun.readers.text:open_text", endings=(".txt",), collection=True,
         description="text files of numbers, one frame per file", seq_name="FSeq_txt"),
    dict(name="hdf5", opener="imfun.readers.hdf5:open_hdf5", endings=(".h5", ".hdf5", ".hdf", ".he5", ".nwb"),
         sniff=is_hdf5, extra="hdf5", options=(DATASET, AXES, CH, Z),
         contents="imfun.readers.hdf5:list_hdf5_contents", container="dataset",
         seq_name="FSeq_hdf5",
         description="HDF5 data set (h5py); dataset= names it, axes= says where time is"),
    dict(name="zarr", opener="imfun.readers.zarr:open_zarr", endings=ZARR_ENDINGS, sniff=no_bytes,
         claims=is_zarr_store, directory=True, extra="zarr",
         options=(ARRAY, LEVEL, AXES, CH, Z), container="array", seq_name="FSeq_zarr",
         description="Zarr store (format 2/3) or OME-Zarr image; array= and level= choose"),
    dict(name="video", opener="imfun.readers.video:open_video", endings=VIDEO_ENDINGS, extra="video",
         options=(CH,), description="video files through PyAV (frame-exact seeking)", seq_name="FSeq_video"),
    dict(name="mes", opener="imfun.readers.mes:open_mes", endings=(".mes",), options=(RECORD, CH),
         container="record", seq_name="FSeq_mes",
         description="Femtonics MES (MATLAB v5 or v7.3) measurement records"),
    dict(name="mlf", opener="imfun.readers.mlf:open_mlf", endings=(".mlf",), sniff=is_mlf, options=(KIND,),
         description="Moor FLPI laser-speckle flux images", seq_name="FSeq_mlf"),
    dict(name="spe", opener="imfun.readers.spe:open_spe", endings=(".spe",),
         description="Princeton Instruments SPE 2.x / 3.0", seq_name="FSeq_spe"),
    dict(name="nd2", opener="imfun.readers.vendor:open_nd2", endings=(".nd2",), **_VENDOR,
         description="Nikon NIS-Elements ND2 (nd2)", seq_name="FSeq_nd2"),
    dict(name="lif", opener="imfun.readers.vendor:open_lif", endings=(".lif",), **_VENDOR,
         description="Leica LIF (liffile)", seq_name="FSeq_lif"),
    dict(name="czi", opener="imfun.readers.vendor:open_czi", endings=(".czi",), **_VENDOR,
         description="Zeiss CZI (czifile)", seq_name="FSeq_czi"),
    dict(name="oif", opener="imfun.readers.vendor:open_oif", endings=(".oif", ".oib"), **_VENDOR,
         description="Olympus OIF/OIB (oiffile)", seq_name="FSeq_oif"),
    # below the TIFF reader, which opens a single TIFF file whatever its pages
    dict(name="images", opener="imfun.readers.images:open_images", endings=IMAGE_ENDINGS,
         collection=True, priority=-1, options=(CH,), seq_name="FSeq_glob",
         description="image files, one frame per file (a glob, folder, list or one file)"),
)

__all__ = ["BUILTIN", "HDF5_SIGNATURE", "IMAGE_ENDINGS", "NPY_MAGIC", "TIFF_ENDINGS", "TIFF_MAGIC",
           "VIDEO_ENDINGS", "is_hdf5", "is_mlf", "is_npy", "is_tiff", "no_bytes"]
