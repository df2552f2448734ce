"""The benchmark cases T1-T10b: imfun against bare numpy on ``tifffile.memmap`` of the same file
(T10/T10b: on globs of single-frame TIFF and PNG files, read file by file).

Each case has an implementation per contender (``ours``, ``numpy``, and when
they have an equivalent ``alt`` (a second numpy way), ``pims`` and ``dask``;
``touch`` times writing a fresh array of the result's size, the page faults
every side pays).  An implementation takes the opened handle and a
:class:`Data` and returns its result; results are compared by :func:`digest`
/ :func:`compare`.  A case reads ``data.path`` unless its ``source`` names
another field of :class:`Data` (a glob pattern).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# PIMS reads PNG globs through skimage.io's deprecated plugins: its warning is not ours to show
warnings.filterwarnings("ignore", message="The plugin infrastructure", category=FutureWarning)

PERCENTILES = [1.0, 99.0]
CHUNK = 100  # frames per chunk in the chunked numpy references


@dataclass
class Data:
    """What every case needs to know about the benchmark file."""

    path: str
    shape: tuple[int, int, int]
    dtype: np.dtype
    dt: float = 0.05
    dx: float = 0.8
    budget: int = 256 * 1024**2
    masks: list[np.ndarray] = field(default_factory=list)
    idx: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    tif_glob: str = ""  # single-frame TIFF files (T10)
    png_glob: str = ""  # single-frame PNG files (T10b)

    @classmethod
    def make(cls, path, shape, dtype, budget, dt=0.05, dx=0.8, n_rois=20, n_idx=200, tif_glob="",
             png_glob="") -> Data:
        """ROIs (disks at seeded random places) and frame indices are fixed by a seed."""
        n, rows, cols = shape
        rng = np.random.default_rng(12345)
        radius = max(2, min(rows, cols) // 40)
        yy, xx = np.mgrid[0:rows, 0:cols]
        masks = []
        for _ in range(n_rois):
            cy = rng.integers(radius, rows - radius)
            cx = rng.integers(radius, cols - radius)
            masks.append((yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2)
        idx = np.sort(rng.choice(n, size=min(n_idx, n), replace=False))
        return cls(str(path), tuple(shape), np.dtype(dtype), dt, dx, budget, masks, idx, tif_glob, png_glob)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


# -- opening each contender's handle --------------------------------------------------

def open_ours(path: str):
    from imfun.fseq import open_seq

    return open_seq(path)


def open_numpy(path: str):
    """``tifffile.memmap`` of the file; the sorted file names of a glob (read one by one)."""
    if "*" in path:
        import glob

        return sorted(glob.glob(path))
    import tifffile

    return tifffile.memmap(path, mode="r")


def open_pims(path: str):
    import pims

    return pims.open(path)


def open_dask(path: str):
    from dask_image.imread import imread

    # one chunk per frame (the default) reopens the file 2000 times; 100 frames per chunk is fair
    return imread(path, nframes=CHUNK)


OPENERS: dict[str, Callable[[str], Any]] = {
    "ours": open_ours, "numpy": open_numpy, "alt": open_numpy, "pims": open_pims, "dask": open_dask,
    "touch": lambda path: None}


def open_handle(impl: str, case, data: Data):
    """The contender's handle on what the case reads."""
    return OPENERS[impl](getattr(data, case.source))


def close_handle(handle) -> None:
    close = getattr(handle, "close", None)
    if callable(close):
        close()


# -- numpy references that stream over chunks of frames ------------------------------------------

def chunked_std(mm, chunk: int = CHUNK) -> np.ndarray:
    """Two passes over chunks of frames: the mean, then the mean squared deviation."""
    n = mm.shape[0]
    total = np.zeros(mm.shape[1:])
    for s in range(0, n, chunk):
        total += mm[s:s + chunk].sum(axis=0, dtype=np.float64)
    mean = total / n
    ss = np.zeros(mm.shape[1:])
    for s in range(0, n, chunk):
        d = mm[s:s + chunk] - mean
        ss += np.einsum("ijk,ijk->jk", d, d)
    return np.sqrt(ss / n)


def hist_percentile(mm, p, chunk: int = CHUNK) -> np.ndarray:
    """Exact percentiles (numpy's linear rule) of unsigned integer data from a histogram."""
    return _percentile_from_chunks((mm[s:s + chunk] for s in range(0, mm.shape[0], chunk)), p)


def _percentile_from_chunks(chunks, p) -> np.ndarray:
    counts = np.zeros(0, np.int64)
    for chunk in chunks:
        c = np.bincount(np.asarray(chunk).ravel())
        if len(c) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(c) - len(counts), np.int64)])
        counts[:len(c)] += c
    cum = np.cumsum(counts)
    h = (cum[-1] - 1) * (np.asarray(p, float) / 100)  # numpy: (n - 1) * (p / 100)
    lo = np.floor(h).astype(np.int64)
    a = np.searchsorted(cum, lo, side="right").astype(float)
    b = np.searchsorted(cum, np.minimum(lo + 1, cum[-1] - 1), side="right").astype(float)
    t = h - lo
    # numpy's own interpolation formula, so that results are equal to the last bit
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _pims_frames(seq):
    for i in range(len(seq)):
        yield np.asarray(seq[i])


def _t4_pims(seq, data):
    total, squares = np.zeros(data.shape[1:]), np.zeros(data.shape[1:])
    for frame in _pims_frames(seq):
        f = frame.astype(np.float64)
        total += f
        squares += f * f
    n = data.shape[0]
    mean = total / n
    return np.sqrt(np.maximum(squares / n - mean * mean, 0))


def _t6_pims(seq, data):
    boxes = [_mask_box(m) for m in data.masks]
    out = np.empty((len(boxes), data.shape[0]))
    for i, frame in enumerate(_pims_frames(seq)):
        out[:, i] = [frame[box][inside].mean() for box, inside in boxes]
    return out


def _mask_box(mask: np.ndarray):
    """The bounding box of a mask and the mask inside it."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return box, mask[box]


def _t6_numpy(mm, data):
    """A loop over each ROI's bounding box on the memory map (the fastest plain numpy way)."""
    out = []
    for box, inside in map(_mask_box, data.masks):
        out.append(mm[:, box[0], box[1]][:, inside].mean(1))
    return np.array(out)


def _t9_pims(seq, data, crop=(slice(None), slice(None))):
    a = np.stack([frame[crop] for frame in _pims_frames(seq)]).astype(np.float32)
    return _dfof(a)


def _t10_numpy(names, data):
    """File by file with the library that writes them (tifffile, or imageio for PNG)."""
    if names and names[0].lower().endswith((".tif", ".tiff")):
        import tifffile

        read = tifffile.imread
    else:
        import imageio.v3 as iio

        read = iio.imread
    total = None
    for name in names:
        frame = read(name).astype(np.float64)
        total = frame if total is None else total + frame
    return total / len(names)


# -- the cases --------------------------------------------------------------------

@dataclass
class Case:
    key: str
    title: str
    impls: dict[str, Callable[[Any, Data], Any]]
    target: float | None = None       # ours / numpy at most (warm runs)
    target_text: str = ""
    exact: bool = False               # results must equal numpy's exactly
    alt_text: str = ""
    rtol: float = 1e-9
    fresh_target: float = 1.0         # ours / numpy at most in fresh processes (open included)
    source: str = "path"              # the field of Data that names what the case reads


def _t1_pims(seq, data):
    out = np.empty(data.shape, data.dtype)
    for i, frame in enumerate(_pims_frames(seq)):
        out[i] = frame
    return out


def _t2_pims(seq, data):
    total = 0.0
    for frame in _pims_frames(seq):
        total = total + frame.astype(np.float64)
    return total / len(seq)


def _t3_pims(seq, data):
    out = np.zeros(data.shape[1:], data.dtype)
    for frame in _pims_frames(seq):
        np.maximum(out, frame, out=out)
    return out


def _fits_in_memory(nbytes: int) -> bool:
    try:
        import psutil

        return nbytes < 0.6 * psutil.virtual_memory().available
    except ImportError:
        return nbytes < 4 * 1024**3


def _t4_full(mm, data):
    if not _fits_in_memory(3 * int(np.prod(data.shape)) * 8):
        return None  # numpy's std makes float64 copies of everything
    return mm.std(axis=0)


def _t7_full(mm, data):
    if not _fits_in_memory(3 * data.nbytes):
        return None
    return np.percentile(mm, PERCENTILES)


def _t7_dask(arr, data):
    import dask.array as da

    return da.percentile(arr.ravel(), PERCENTILES).compute()


def _dfof(v):
    # in place, as the numpy side: pw_transform hands pwfn a private copy
    m = v.mean(0)
    v -= m
    v /= m
    return v


def _crop(data: Data) -> tuple[slice, slice]:
    """T9c's crop: the top-left 256 x 256 pixels (or the whole of a smaller frame)."""
    return slice(0, min(256, data.shape[1])), slice(0, min(256, data.shape[2]))


def _t9_ours(fs, data, crop=None):
    # float32 vectors, as the numpy side computes in float32
    return fs.pw_transform(_dfof, vectorized=True, dtype=np.float32, crop=crop)


def _t9_numpy(mm, data, crop=(slice(None), slice(None))):
    return _dfof(np.array(mm[(slice(None), *crop)], dtype=np.float32))


def _touch(shape):
    """Write a fresh float32 array of a result's size: the first-touch cost of its pages."""
    def touch(_, data):
        a = np.empty(shape(data), np.float32)
        a.fill(1.0)
        return a
    return touch


CASES: list[Case] = [
    Case("T1", "full read", {
        "ours": lambda fs, d: np.asarray(fs),
        "numpy": lambda mm, d: np.array(mm),
        "pims": _t1_pims,
        "dask": lambda a, d: a.compute(),
    }, 1.2, "<= 1.2", exact=True),
    Case("T2", "mean frame", {
        "ours": lambda fs, d: fs.mean_frame(),
        "numpy": lambda mm, d: mm.mean(axis=0),
        "pims": _t2_pims,
        "dask": lambda a, d: a.mean(axis=0).compute(),
    }, 1.2, "<= 1.2"),
    Case("T3", "max projection", {
        "ours": lambda fs, d: fs.max_project(),
        "numpy": lambda mm, d: mm.max(axis=0),
        "pims": _t3_pims,
        "dask": lambda a, d: a.max(axis=0).compute(),
    }, 1.2, "<= 1.2", exact=True),
    Case("T4", "std projection", {
        "ours": lambda fs, d: fs.std(axis=0),
        "numpy": lambda mm, d: chunked_std(mm),
        "alt": _t4_full,
        "pims": _t4_pims,
        "dask": lambda a, d: a.std(axis=0).compute(),
    }, 1.0, "<= chunked", alt_text="mm.std(0)", rtol=1e-7),
    Case("T5", "1 ROI trace", {
        "ours": lambda fs, d: fs.mask_reduce(d.masks[0]),
        "numpy": lambda mm, d: mm[:, d.masks[0]].mean(1),
        "pims": lambda seq, d: np.array([f[d.masks[0]].mean() for f in _pims_frames(seq)]),
    }, 2.0, "<= 2", fresh_target=1.2),
    Case("T6", "20 ROI traces", {
        "ours": lambda fs, d: fs.multi_mask_reduce(d.masks),
        "numpy": _t6_numpy,
        "alt": lambda mm, d: np.array([mm[:, m].mean(1) for m in d.masks]),
        "pims": _t6_pims,
    }, 2.0, "<= 2", alt_text="mm[:, mask] per ROI"),
    Case("T7", "1st/99th percentile", {
        "ours": lambda fs, d: fs.data_percentile(PERCENTILES),
        "numpy": lambda mm, d: hist_percentile(mm, PERCENTILES),
        "alt": _t7_full,
        "pims": lambda seq, d: _percentile_from_chunks(_pims_frames(seq), PERCENTILES),
        "dask": _t7_dask,
    }, 1.2, "<= 1.2 hist", exact=True, alt_text="np.percentile"),
    Case("T8", "200 random frames", {
        "ours": lambda fs, d: np.asarray(fs[d.idx]),
        "numpy": lambda mm, d: mm[d.idx],
        "pims": lambda seq, d: np.stack([np.asarray(seq[int(i)]) for i in d.idx]),
        "dask": lambda a, d: a[d.idx].compute(),
    }, 1.5, "<= 1.5", exact=True, fresh_target=1.2),
    Case("T9", "per-pixel dF/F", {
        "ours": _t9_ours,
        "numpy": _t9_numpy,
        "pims": _t9_pims,
        "touch": _touch(lambda d: d.shape),
    }, 1.5, "<= 1.5", rtol=1e-4),
    Case("T9c", "dF/F of a 256x256 crop", {
        "ours": lambda fs, d: _t9_ours(fs, d, _crop(d)),
        "numpy": lambda mm, d: _t9_numpy(mm, d, _crop(d)),
        "pims": lambda seq, d: _t9_pims(seq, d, _crop(d)),
        "touch": _touch(lambda d: (d.shape[0], _crop(d)[0].stop, _crop(d)[1].stop)),
    }, 1.5, "<= 1.5", rtol=1e-4),
    Case("T10", "mean of TIFF files", {
        "ours": lambda fs, d: fs.mean_frame(),
        "numpy": _t10_numpy,
        "pims": _t2_pims,
    }, 1.0, "<= 1", source="tif_glob"),
    Case("T10b", "mean of PNG files", {
        "ours": lambda fs, d: fs.mean_frame(),
        "numpy": _t10_numpy,
        "pims": _t2_pims,
    }, 1.0, "<= 1", source="png_glob"),
]
CASES_BY_KEY = {c.key: c for c in CASES}
IMPLS = ("ours", "numpy", "alt", "pims", "dask", "touch")


# -- comparing results without keeping huge arrays ------------------------------------------

FULL_LIMIT = 32 * 1024**2
SAMPLE = 1_000_000


def as_array(result) -> np.ndarray | None:
    if result is None:
        return None
    if hasattr(result, "reader") and hasattr(result, "iter_blocks"):  # a FrameSequence
        data = getattr(result, "data", None)
        return np.asarray(data if data is not None else result)
    return np.asarray(result)


def digest(result) -> dict[str, np.ndarray] | None:
    """Shape, dtype, a hash of the bytes, a strided sample, and the whole array if small."""
    arr = as_array(result)
    if arr is None:
        return None
    h = hashlib.blake2b(digest_size=16)
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(1, -1)
    for row in flat:
        h.update(np.ascontiguousarray(row).tobytes())
    step = max(1, arr.size // SAMPLE)
    out = {"shape": np.array(arr.shape), "dtype": np.array(arr.dtype.str),
           "hash": np.array(h.hexdigest()), "sample": arr.reshape(-1)[::step].astype(np.float64)}
    if arr.nbytes <= FULL_LIMIT:
        out["full"] = arr
    return out


def compare(ref: dict | None, other: dict | None, rtol: float) -> str:
    """``exact``, ``close`` (within rtol), ``DIFF ...``, or ``-`` when one side is missing."""
    if ref is None or other is None:
        return "-"
    if tuple(ref["shape"]) != tuple(other["shape"]):
        return f"DIFF shape {tuple(other['shape'])}"
    if "full" in ref and "full" in other:
        a, b = np.asarray(ref["full"], float), np.asarray(other["full"], float)
    else:
        if str(ref["hash"]) == str(other["hash"]) and str(ref["dtype"]) == str(other["dtype"]):
            return "exact"
        a, b = ref["sample"], other["sample"]
    if np.array_equal(a, b):
        return "exact"
    scale = max(float(np.max(np.abs(a), initial=0.0)), 1e-300)
    if np.allclose(b, a, rtol=rtol, atol=rtol * scale):
        return "close"
    err = float(np.max(np.abs(a - b))) / scale
    return f"DIFF {err:.1e}"
