"""Issue 14: summary images, cell detection and ROI traces, timed and scored.

- **correlation image** (and PNR, and all summary images in one pass): frames per second on a
  synthetic uint16 two-photon TIFF (``frames × size × size``, default 2000 × 512 × 512, 1 GiB),
  read through ``open_seq`` (memory-mapped); goal ≥ 200 frames/s at 512 × 512 on 2 cores.
- **detection**: F1 and time on the TIFF itself (read from the file), and F1 (centroids within
  half a diameter, one-to-one) and time on
  ``imfun.synthdata.two_photon_movie`` movies of 20–200 cells at SNR 2 and 3 (peak ΔF of one
  spike over the shot-noise SD of a cell pixel in one frame); goal F1 ≥ 0.9.  (No suite2p
  comparison: suite2p needs torch, which is not installed here.)
- **ROI traces**: 20 ROIs of the TIFF with ``fs.roi_traces`` against a numpy loop over each
  ROI's bounding box on ``tifffile.memmap``; goal ratio ours / numpy ≤ 1.0.

Run ``python -m bench.cells_bench`` (``--frames 500 --size 256`` for a quick run).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def source(out: Path, frames: int, size: int):
    """The synthetic TIFF (written anew each run: its ground truth comes with the writing)."""
    from imfun.synthdata import two_photon_tiff

    out.mkdir(parents=True, exist_ok=True)
    return two_photon_tiff(out / f"cells_{frames}x{size}x{size}.tif", frames, (size, size), seed=0)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def summary_speed(path: str, frames: int, repeats: int) -> dict[str, float]:
    """Frames per second of the summary images, read from the file."""
    from imfun.analysis.summary import summary_images
    from imfun.fseq import open_seq

    fs = open_seq(path)
    return {name: frames / best_of(fn, repeats) for name, fn in (
        ("correlation_fps", fs.correlation_image), ("pnr_fps", fs.pnr_image),
        ("summary_fps", lambda: summary_images(fs)))}


def baseline_for(snr: float, dff: float = 0.8) -> float:
    """The synthdata ``baseline`` that gives this SNR (cell pixels: background b + resting b)."""
    return 2 * (snr / dff) ** 2


def detection(cases, repeats: int) -> list[dict]:
    from imfun.analysis.cells import demo_cells
    from imfun.synthdata import two_photon_movie

    rows = []
    for n_cells, snr, size, kw in cases:
        sm = two_photon_movie(n_frames=300, shape=(size, size), n_cells=n_cells, seed=0,
                              baseline=baseline_for(snr), **kw)
        fs = sm.to_fseq()
        out = demo_cells(sm, fs)
        seconds = best_of(lambda fs=fs, sm=sm: demo_cells(sm, fs), repeats)
        row = {"cells": n_cells, "snr": snr, "size": size, **kw, "f1": round(out["f1"], 3),
               "precision": round(out["precision"], 3), "recall": round(out["recall"], 3),
               "seconds": round(seconds, 3)}
        rows.append(row)
    return rows


def roi_traces(sm, n_rois: int, repeats: int) -> dict[str, float]:
    """20 ROI traces: ``fs.roi_traces`` against a numpy loop over each ROI's bbox on a memmap."""
    import tifffile

    from imfun.fseq import open_seq

    labels = np.where(sm.labels <= n_rois, sm.labels, 0)
    masks = labels[None] == np.arange(1, n_rois + 1)[:, None, None]
    mm = tifffile.memmap(sm.path, mode="r")

    def numpy_loop():
        out = []
        for m in masks:
            rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
            box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            out.append(mm[:, box[0], box[1]][:, m[box]].mean(axis=1))
        return np.array(out)

    fs = open_seq(sm.path)
    np.testing.assert_allclose(fs.roi_traces(labels).F, numpy_loop(), rtol=1e-9)  # also warms up both
    ours = best_of(lambda: fs.roi_traces(labels), repeats)
    ref = best_of(numpy_loop, repeats)
    neuropil = best_of(lambda: fs.roi_traces(labels, neuropil="annulus"), repeats)
    return {"ours_s": round(ours, 4), "numpy_s": round(ref, 4), "ratio": round(ours / ref, 3),
            "with_neuropil_s": round(neuropil, 4)}


def file_detection(sm) -> dict:
    """Detection on the whole TIFF (read from the file: three streaming passes), scored."""
    from imfun.analysis.cells import demo_cells
    from imfun.fseq import open_seq

    out = demo_cells(sm, open_seq(sm.path))
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items() if k != "cells"}


CASES = [(20, 2, 128, {}), (40, 2, 128, {}), (40, 3, 128, {"donut": True}), (150, 2, 256, {}),
         (200, 2, 320, {}), (200, 3, 320, {"donut": True})]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--rois", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "bench-output")
    p.add_argument("--skip-detection", action="store_true")
    args = p.parse_args(argv)
    sm = source(args.out, args.frames, args.size)
    speed = summary_speed(sm.path, args.frames, args.repeat)
    report = {"movie": f"{args.frames}x{args.size}x{args.size} uint16",
              "summary": {k: round(v, 1) for k, v in speed.items()},
              "roi_traces": roi_traces(sm, min(args.rois, sm.n_cells), args.repeat)}
    print(f"summary images, {report['movie']}: {report['summary']} (goal correlation ≥ 200 frames/s)")
    print(f"{args.rois} ROI traces: {report['roi_traces']} (goal ratio ≤ 1.0)")
    if not args.skip_detection:
        report["file_detection"] = file_detection(sm)
        print(f"detection on the {report['movie']} file: {report['file_detection']}")
        report["detection"] = detection(CASES, args.repeat)
        for row in report["detection"]:
            print("detection", row)
        if importlib.util.find_spec("suite2p") is not None:
            print("suite2p is installed, but the comparison with it is not written yet")
    (args.out / "cells_results.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
