"""The benchmark cases T1-T9: imfun against bare numpy on ``tifffile.memmap`` of the same file.

Each case has an implementation per contender (``ours``, ``numpy``, and when
they have an equivalent ``alt`` (a second numpy way), ``pims`` and ``dask``).
An implementation takes the opened handle and a :class:`Data` and returns
its result; results are compared by :func:`digest` / :func:`compare`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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

    @classmethod
    def make(cls, path, shape, dtype, budget, dt=0.05, dx=0.8, n_rois=20, n_idx=200) -> Data:
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
        return cls(str(path), tuple(shape), np.dtype(dtype), dt, dx, budget, masks, idx)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize


# -- opening each contender's handle --------------------------------------------------

def open_ours(data: Data):
    """``open_seq`` once it reads TIFF files; ``FSeq_arr(tifffile.memmap)`` until then."""
    import tifffile

    from imfun.errors import UnsupportedFormatError
    from imfun.fseq import FSeq_arr, open_seq

    try:
        return open_seq(data.path)
    except UnsupportedFormatError:
        meta = {"axes": [(data.dt, "s"), (data.dx, "µm"), (data.dx, "µm")]}
        return FSeq_arr(tifffile.memmap(data.path, mode="r"), meta=meta)


def open_numpy(data: Data):
    import tifffile

    return tifffile.memmap(data.path, mode="r")


def open_pims(data: Data):
    import pims

    return pims.open(data.path)


def open_dask(data: Data):
    from dask_image.imread import imread

    # one chunk per frame (the default) reopens the file 2000 times; 100 frames per chunk is fair
    return imread(data.path, nframes=min(CHUNK, data.shape[0]))


OPENERS: dict[str, Callable[[Data], Any]] = {
    "ours": open_ours, "numpy": open_numpy, "alt": open_numpy, "pims": open_pims, "dask": open_dask}


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
    counts = np.zeros(0, np.int64)
    for s in range(0, mm.shape[0], chunk):
        c = np.bincount(np.asarray(mm[s:s + chunk]).ravel())
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


# -- the cases --------------------------------------------------------------------

@dataclass
class Case:
    key: str
    title: str
    impls: dict[str, Callable[[Any, Data], Any]]
    target: float | None = None       # ours / numpy at most
    target_text: str = ""
    exact: bool = False               # results must equal numpy's exactly
    alt_text: str = ""
    rtol: float = 1e-9


def _t1_pims(seq, data):
    out = np.empty(data.shape, data.dtype)
    for i, frame in enumerate(_pims_frames(seq)):
        out[i] = frame
    return out


def _t2_pims(seq, data):
    total = np.zeros(data.shape[1:])
    for frame in _pims_frames(seq):
        total += frame
    return total / data.shape[0]


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


def _t9_ours(fs, data):
    # float32 vectors, as the numpy side computes in float32
    return fs.pw_transform(_dfof, vectorized=True, dtype=np.float32)


def _t9_numpy(mm, data):
    a = np.array(mm, dtype=np.float32)
    m = a.mean(0)
    a -= m
    a /= m
    return a


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
        "dask": lambda a, d: a.std(axis=0).compute(),
    }, 1.0, "<= chunked", alt_text="mm.std(0)", rtol=1e-7),
    Case("T5", "1 ROI trace", {
        "ours": lambda fs, d: fs.mask_reduce(d.masks[0]),
        "numpy": lambda mm, d: mm[:, d.masks[0]].mean(1),
    }, 2.0, "<= 2"),
    Case("T6", "20 ROI traces", {
        "ours": lambda fs, d: fs.multi_mask_reduce(d.masks),
        "numpy": lambda mm, d: np.array([mm[:, m].mean(1) for m in d.masks]),
    }, 2.0, "<= 2"),
    Case("T7", "1st/99th percentile", {
        "ours": lambda fs, d: fs.data_percentile(PERCENTILES),
        "numpy": lambda mm, d: hist_percentile(mm, PERCENTILES),
        "alt": _t7_full,
        "dask": _t7_dask,
    }, 1.2, "<= 1.2 hist", exact=True, alt_text="np.percentile"),
    Case("T8", "200 random frames", {
        "ours": lambda fs, d: np.asarray(fs[d.idx]),
        "numpy": lambda mm, d: mm[d.idx],
        "pims": lambda seq, d: np.stack([np.asarray(seq[int(i)]) for i in d.idx]),
        "dask": lambda a, d: a[d.idx].compute(),
    }, 1.5, "<= 1.5", exact=True),
    Case("T9", "per-pixel dF/F", {
        "ours": _t9_ours,
        "numpy": _t9_numpy,
    }, 1.5, "<= 1.5", rtol=1e-4),
]
CASES_BY_KEY = {c.key: c for c in CASES}
IMPLS = ("ours", "numpy", "alt", "pims", "dask")


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
