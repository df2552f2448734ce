"""T10: the mean of a glob of PNG files, ``open_seq(glob).mean_frame()`` against a
sequential ``imageio.v3.imread`` + numpy loop (target ≤ 0.6 thanks to parallel
decoding on 2 cores).

Run ``python -m bench.glob_bench`` or call :func:`t10`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_pngs(out: Path, n_files: int, size: int) -> str:
    """``n_files`` PNG frames of ``size × size`` uint8 with texture (made once, reused)."""
    import imageio.v3 as iio

    folder = out / f"t10_png_{n_files}x{size}"
    folder.mkdir(parents=True, exist_ok=True)
    names = [folder / f"frame{i:04d}.png" for i in range(n_files)]
    if not all(p.exists() for p in names):
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[:size, :size]
        base = 80 + 60 * np.sin(xx / 13.0) * np.cos(yy / 19.0)
        for p in names:
            iio.imwrite(p, np.clip(rng.poisson(base), 0, 255).astype(np.uint8))
    return str(folder / "frame*.png")


def make_tiffs(out: Path, source: str, n_files: int) -> str:
    """The first ``n_files`` frames of the TIFF ``source``, one file each (made once, reused)."""
    import tifffile

    folder = out / f"t10_tif_{n_files}"
    folder.mkdir(parents=True, exist_ok=True)
    names = [folder / f"frame{i:04d}.tif" for i in range(n_files)]
    if not all(p.exists() for p in names):
        frames = tifffile.memmap(source, mode="r")
        for i, p in enumerate(names):
            tifffile.imwrite(p, frames[i % len(frames)])
    return str(folder / "frame*.tif")


def _numpy_loop(pattern: str) -> np.ndarray:
    import glob

    import imageio.v3 as iio

    total, n = None, 0
    for name in sorted(glob.glob(pattern)):
        frame = iio.imread(name).astype(np.float64)
        total = frame if total is None else total + frame
        n += 1
    return total / n


def _ours(pattern: str) -> np.ndarray:
    from imfun.fseq import open_seq

    with open_seq(pattern) as fs:
        return fs.mean_frame()


def t10(out: Path, n_files: int = 300, size: int = 512, repeats: int = 3, quiet: bool = False) -> dict:
    """Time both sides (best of ``repeats``, alternating) and check they agree."""
    pattern = make_pngs(Path(out), n_files, size)
    t_o = t_l = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        ref = _numpy_loop(pattern)
        t_l = min(t_l, time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = _ours(pattern)
        t_o = min(t_o, time.perf_counter() - t0)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    result = {"ours": t_o, "loop": t_l, "ratio": t_o / t_l, "files": n_files, "size": size}
    if not quiet:
        print(f"T10 mean of {n_files} PNG {size}x{size}: ours {t_o:.3f} s, imageio+numpy loop "
              f"{t_l:.3f} s, ratio {t_o / t_l:.2f} (target <= 0.6)"
              f"{'' if t_o / t_l <= 0.6 else '  (above 0.6)'}", flush=True)
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-output")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    t10(a.out, a.files, a.size, a.repeats)


if __name__ == "__main__":
    main()
