"""Issue 14: summary images, cell detection and ROI traces, timed and scored.

- **correlation image** (and PNR, and all summary images in one pass): frames per second on a
  synthetic uint16 two-photon TIFF (``frames × size × size``, default 2000 × 512 × 512, 1 GiB),
  read through ``open_seq`` (memory-mapped); goal ≥ 200 frames/s at 512 × 512 on 2 cores.
- **detection**: F1 and time on the TIFF itself (read from the file), and, against suite2p, on
  ``imfun.synthdata.two_photon_movie`` movies (``--det-frames``, default 1000 frames at 20 Hz,
  decay time 0.5 s) of 20–200 cells at SNR 2 and 3 (peak ΔF of one spike over the shot-noise SD
  of a cell pixel in one frame), some with donut cells.  F1: centroids within half a diameter,
  one-to-one.  Goal: F1 ≥ 0.9, ≥ suite2p's, at ≥ 2× its speed.
  *Ours*: ``detect_cells(open_seq(tif), diameter_px=d)`` (the default ``time_bin='auto'``: runs of
  0.2 s, 4 frames at 20 Hz),
  timed from opening the TIFF (summary images, seed passes, footprints), and once more with
  ``time_bin=1`` (every frame).  *suite2p* (``--peer-python``: an interpreter with suite2p 1.x and
  torch; run in a child process): ``suite2p.detection.detection_wrapper`` with its default
  detection settings (``sparsery``), ``diameter=[d, d]``, ``tau=0.5``, ``fs=20``, on the CPU, on
  the movie in memory as int16 (its binary's type) — loading and registration not timed.  Its
  centres are the ``lam``-weighted centroids of its ROIs.  Times are the best of ``--repeat``
  runs, wall and CPU (all threads).
- **ROI traces**: 20 ROIs of the TIFF with ``fs.roi_traces`` against a numpy loop over each
  ROI's bounding box on ``tifffile.memmap``; goal ratio ours / numpy ≤ 1.0.

Run ``python -m bench.cells_bench --peer-python /path/to/suite2p-venv/bin/python``
(``--frames 500 --size 256 --det-frames 400`` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
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


# -- detection against suite2p --------------------------------------------------------------------

TAU, RATE = 0.5, 20.0  # synthdata's defaults: decay time of a transient (s), frames per second
TIME_BIN = "auto"  # ours as users run it: runs of 0.2 s (suite2p bins a whole decay time)
CASES = [(20, 2, 128, {}), (20, 3, 128, {}), (100, 2, 256, {}), (100, 3, 256, {"donut": True}),
         (200, 2, 320, {}), (200, 3, 320, {"donut": True}), (200, 3, 512, {})]


def write_case(out: Path, n_cells: int, snr: float, size: int, frames: int, kw: dict) -> dict:
    """A synthdata movie as a TIFF (ours reads it) and an int16 ``.npy`` (suite2p's binary is int16),
    with the true centres and diameter (the median equivalent diameter of the true cells)."""
    from scipy import ndimage

    from imfun.synthdata import two_photon_movie, write_tiff

    sm = two_photon_movie(n_frames=frames, shape=(size, size), n_cells=n_cells, seed=0,
                          baseline=baseline_for(snr), **kw)
    stem = out / f"det_{n_cells}c_snr{snr:g}_{frames}x{size}{'_donut' if kw.get('donut') else ''}"
    write_tiff(stem.with_suffix(".tif"), sm.movie, sm.dt, sm.dx)  # with its frame interval, as a microscope's
    if sm.movie.max() >= 2**15:
        raise OverflowError(f"{stem}: values above the int16 range of suite2p's binary")
    np.save(stem.with_suffix(".npy"), sm.movie.astype(np.int16))
    masks = np.asarray(sm.cell_masks, bool)
    centers = np.array([ndimage.center_of_mass(m) for m in masks]).reshape(-1, 2)
    diameter = float(2 * np.sqrt(np.median(masks.reshape(len(masks), -1).sum(axis=1)) / np.pi))
    return {"stem": stem, "centers": centers, "diameter": diameter}


def timed(fn, repeats: int) -> tuple[object, float, float]:
    """``(result, best wall seconds, CPU seconds of that run)`` (CPU: all threads of this process)."""
    best = (None, np.inf, np.inf)
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        t1, c1 = time.perf_counter(), time.process_time()
        if t1 - t0 < best[1]:
            best = (out, t1 - t0, c1 - c0)
    return best


def ours(case: dict, time_bin: int, repeats: int) -> dict:
    """``detect_cells`` on the TIFF, from opening the file (summary images and seed passes included)."""
    from imfun.analysis.cells import detect_cells, match_centers
    from imfun.fseq import open_seq

    path = str(case["stem"].with_suffix(".tif"))
    cells, wall, cpu = timed(lambda: detect_cells(open_seq(path), diameter_px=case["diameter"],
                                                  time_bin=time_bin), repeats)
    score = match_centers(case["centers"], cells.centers, case["diameter"] / 2)
    return {"f1": score["f1"], "found": score["n_found"], "s": wall, "cpu_s": cpu}


def suite2p_child(args) -> None:
    """In the peer interpreter: suite2p's ``detection_wrapper`` on the movie in memory; one JSON line.

    Timed: binning, high-pass, ``sparsery`` (suite2p's default detector) and ``roi_stats`` — not the
    loading of the ``.npy``.  Centres are the ``lam``-weighted centroids of the ROIs' pixels.
    """
    import logging

    import torch
    from suite2p import default_settings
    from suite2p.detection import detection_wrapper

    logging.disable(logging.WARNING)
    movie = np.load(args.child_suite2p)
    d = args.diameter

    def run():
        settings = default_settings()["detection"]
        return detection_wrapper(movie, diameter=[d, d], tau=args.tau, fs=args.rate, settings=settings,
                                 device=torch.device("cpu"))[1]

    stat, wall, cpu = timed(run, args.repeat)
    centers = [[float(np.average(st[axis], weights=st["lam"])) for axis in ("ypix", "xpix")] for st in stat]
    print(json.dumps({"s": wall, "cpu_s": cpu, "centers": centers}), flush=True)


def suite2p(case: dict, python: str, repeats: int) -> dict:
    """Run :func:`suite2p_child` in ``python`` (another venv, with suite2p and torch) and score it."""
    from imfun.analysis.cells import match_centers

    cmd = [python, str(Path(__file__).resolve()), "--child-suite2p", str(case["stem"].with_suffix(".npy")),
           "--diameter", repr(case["diameter"]), "--tau", repr(TAU), "--rate", repr(RATE),
           "--repeat", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]}
    info = json.loads(lines[-1])
    score = match_centers(case["centers"], np.array(info.pop("centers")), case["diameter"] / 2)
    return {"f1": score["f1"], "found": score["n_found"], **info}


def detection(cases, frames: int, out: Path, peer_python: str | None, repeats: int) -> list[dict]:
    """F1 and time of ours (every frame, and runs of ``TIME_BIN``) and suite2p, on the same movies."""
    rows = []
    for n_cells, snr, size, kw in cases:
        case = write_case(out, n_cells, snr, size, frames, kw)
        row = {"cells": n_cells, "snr": snr, "size": size, "frames": frames, **kw}
        for name, k in (("ours", TIME_BIN), ("ours_every_frame", 1)):
            row.update({f"{name}_{key}": v for key, v in ours(case, k, repeats).items()})
        if peer_python:
            row.update({f"suite2p_{key}": v for key, v in suite2p(case, peer_python, repeats).items()})
            if "suite2p_s" in row:
                row["speedup"] = row["suite2p_s"] / row["ours_s"]
                row["cpu_speedup"] = row["suite2p_cpu_s"] / row["ours_cpu_s"]
        rows.append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
        print("detection", rows[-1], flush=True)
        for path in (case["stem"].with_suffix(".tif"), case["stem"].with_suffix(".npy")):
            path.unlink()
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


def table(rows: list[dict]) -> str:
    """The detection rows as a Markdown table."""
    cols = ["cells", "snr", "size", "frames", "donut", "ours_f1", "ours_s", "ours_cpu_s",
            "ours_every_frame_f1", "ours_every_frame_s", "suite2p_f1", "suite2p_s", "suite2p_cpu_s",
            "speedup", "cpu_speedup"]
    cols = [c for c in cols if any(c in r for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--rois", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "bench-output")
    p.add_argument("--skip-detection", action="store_true")
    p.add_argument("--det-frames", type=int, default=1000, help="frames of the detection movies")
    p.add_argument("--peer-python", help="interpreter with suite2p (and torch): adds the suite2p columns")
    p.add_argument("--child-suite2p", help=argparse.SUPPRESS)  # the peer side: an .npy movie
    p.add_argument("--diameter", type=float, help=argparse.SUPPRESS)
    p.add_argument("--tau", type=float, help=argparse.SUPPRESS)
    p.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_suite2p:
        return suite2p_child(args)
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
        report["detection"] = detection(CASES, args.det_frames, args.out, args.peer_python, args.repeat)
        print(f"detection (ours: time_bin={TIME_BIN}; goal F1 ≥ 0.9, ≥ suite2p's, speedup ≥ 2):")
        print(table(report["detection"]))
    (args.out / "cells_results.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
