"""``imfun cells IN -o OUTDIR``: from a movie to cells and their neuropil-corrected ΔF/F traces."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError
from .common import Formatter, add_debug, add_input, open_selected, positive_float, positive_int, say

EPILOG = """\
examples:
  imfun cells movie.tif -o cells/ --diameter 12 --neuropil
  imfun cells movie.tif -o cells/ --register --diameter 10 --baseline-seconds 30 --json
  imfun cells 'frames/*.png' --dt 0.05 -o cells/ --diameter-px 14 --frames 0:3000

Writes into OUTDIR: cells.tif (labels, 0 = background), RoiSet.zip (ImageJ outlines),
traces.csv (the mean in each cell, minus --neuropil-coef x its neuropil with --neuropil),
dfof.csv (ΔF/F of those traces on a running baseline), summary.png (the mean image and the
correlation image with the cells' outlines) and traces.png.  Cells are found by their
activity: seeds in the local-correlation x peak-to-noise image, footprints grown by
correlation with each seed's trace (see imfun.analysis.cells).
"""

OUTPUTS = ("cells.tif", "RoiSet.zip", "traces.csv", "dfof.csv", "summary.png", "traces.png")


def register(sub) -> None:
    p = sub.add_parser("cells", help="find cells; write labels, ImageJ ROIs, traces and ΔF/F",
                       description="Summary images, cell detection, neuropil-corrected traces and "
                                   "ΔF/F of a calcium-imaging movie, in bounded memory.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="IN", help="file, folder or glob (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the results")
    g = p.add_argument_group("detection")
    g.add_argument("--diameter", type=positive_float, metavar="UM",
                   help="typical cell diameter in µm (default 12; needs the pixel size)")
    g.add_argument("--diameter-px", type=positive_float, metavar="PX", help="cell diameter in pixels instead")
    g.add_argument("--threshold", type=positive_float, metavar="K",
                   help="seed threshold in robust SDs above the background (default 5)")
    g.add_argument("--max-cells", type=positive_int, metavar="N", help="keep at most N cells")
    g.add_argument("--time-bin", type=positive_int, metavar="N",
                   help="grow footprints on means of N frames (default: 0.2 s of frames)")
    g.add_argument("--register", action="store_true", help="motion-correct the movie first")
    g.add_argument("--nonrigid", action="store_true", help="piecewise-rigid registration (with --register)")
    t = p.add_argument_group("traces")
    t.add_argument("--neuropil", action="store_true", help="subtract each cell's neuropil annulus")
    t.add_argument("--neuropil-coef", type=float, default=0.7, metavar="C",
                   help="corrected = F - C x Fneu (default 0.7)")
    t.add_argument("--baseline-seconds", type=positive_float, metavar="S",
                   help="ΔF/F baseline window in seconds (default 30)")
    t.add_argument("--baseline-frames", type=positive_int, metavar="N", help="the window in frames instead")
    t.add_argument("--percentile", type=float, default=10.0, help="baseline percentile (default 10)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.add_argument("--budget", help="memory budget, e.g. '512 MiB' (default 256 MiB)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def _check(args, fs) -> None:
    if args.nonrigid and not args.register:
        raise InvalidArgumentError("--nonrigid goes with --register")
    if args.diameter is not None and args.diameter_px is not None:
        raise InvalidArgumentError("give --diameter (µm) or --diameter-px, not both")
    if args.diameter_px is None and fs.meta["axes"][1].unit != "µm":
        raise InvalidArgumentError("the pixel size of the input is unknown: give the cell diameter in "
                                   "pixels with --diameter-px N")
    if args.baseline_seconds is not None and args.baseline_frames is not None:
        raise InvalidArgumentError("give --baseline-seconds or --baseline-frames, not both")
    if args.register and not hasattr(fs, "register"):
        raise InvalidArgumentError("--register needs FrameSequence.register (the registration module), "
                                   "which this imfun does not have")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"{out} is a file; -o needs a folder")
    if not args.overwrite:
        existing = [name for name in OUTPUTS if (out / name).exists()]
        if existing:
            raise FileExistsError(f"{out} already holds {', '.join(existing)}; pass --overwrite to replace")


def _scaled(image: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(image, [1, 99.5])
    return np.clip((image - lo) / ((hi - lo) or 1.0), 0, 1)


def plot_summary(path: Path, summary, cells, overwrite: bool) -> Path:
    """The mean and the correlation image side by side, the cells' outlines on the second."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..export.atomic import atomic_target

    rows, cols = summary.mean.shape
    width = 10.0
    fig = Figure(figsize=(width, 0.5 + width / 2 * rows / cols), layout="constrained")
    FigureCanvasAgg(fig)
    ax_mean, ax_corr = fig.subplots(1, 2, sharex=True, sharey=True)
    ax_mean.imshow(_scaled(summary.mean), cmap="gray", interpolation="nearest")
    ax_mean.set_title("mean")
    ax_corr.imshow(summary.correlation, cmap="magma", interpolation="nearest",
                   vmin=0, vmax=max(float(np.percentile(summary.correlation, 99.5)), 1e-6))
    for line in cells.outlines():
        ax_corr.plot(line[:, 1], line[:, 0], lw=0.7, color="cyan")
    ax_corr.set_title(f"local correlation, {cells.n} cells")
    for ax in (ax_mean, ax_corr):
        ax.set_axis_off()
    with atomic_target(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def plot_dfof(path: Path, traces, dfof: np.ndarray, overwrite: bool) -> Path:
    from ..export.atomic import atomic_target

    ax = traces.plot(values=dfof)
    ax.set_title("ΔF/F per cell (offset for display)")
    with atomic_target(path, overwrite=overwrite) as tmp:
        ax.figure.savefig(tmp, format="png", dpi=110)
    return path


def run(args) -> int:
    from ..analysis.cells import detect_cells
    from ..analysis.summary import summary_images

    if args.json:  # stdout is for the JSON only
        args.quiet = True
    fs = open_selected(args)
    with fs:
        _check(args, fs)
        out = Path(args.output)
        seconds: dict[str, float] = {}
        t0 = time.perf_counter()
        border = 0
        if args.register:
            fs = fs.register(nonrigid=args.nonrigid, budget=args.budget)
            say(args, f"registered {len(fs)} frames" + (" (piecewise rigid)" if args.nonrigid else ""))
            # the edge pixels of moved frames repeat: no seeds within the largest shift of the edge
            border = int(np.ceil(np.abs(fs.shifts).max())) + 1 if len(fs.shifts) else 0
        summary = summary_images(fs, budget=args.budget)
        seconds["summary"] = time.perf_counter() - t0
        diameter = None if args.diameter_px is not None else (args.diameter or 12.0)
        cells = detect_cells(fs, diameter, diameter_px=args.diameter_px, threshold=args.threshold,
                             max_cells=args.max_cells, budget=args.budget, summary=summary,
                             border=min(border, min(fs.frame_shape) // 4), time_bin=args.time_bin or "auto")
        seconds["detection"] = time.perf_counter() - t0 - seconds["summary"]
        if cells.n == 0:
            raise InvalidArgumentError("no cells found; try a lower --threshold, another --diameter, or "
                                       "more frames")
        say(args, f"{cells.n} cells of ~{cells.diameter_px:.3g} px in {len(fs)} frames")
        t1 = time.perf_counter()
        traces = fs.roi_traces(cells, neuropil="annulus" if args.neuropil else None,
                               neuropil_coef=args.neuropil_coef, budget=args.budget)
        window = None if args.baseline_frames is not None else (args.baseline_seconds or 30.0)
        dfof = traces.dfof(window, args.percentile, baseline_frames=args.baseline_frames)
        seconds["traces"] = time.perf_counter() - t1
        written = {
            "labels": cells.to_labels(out / "cells.tif", overwrite=args.overwrite),
            "rois": cells.to_imagej(out / "RoiSet.zip", overwrite=args.overwrite),
            "traces": traces.to_csv(out / "traces.csv", overwrite=args.overwrite, sources=fs.source_paths()),
            "dfof": traces.to_csv(out / "dfof.csv", values=dfof, overwrite=args.overwrite),
            "summary": plot_summary(out / "summary.png", summary, cells, args.overwrite),
            "plot": plot_dfof(out / "traces.png", traces, dfof, args.overwrite),
        }
        say(args, f"wrote {', '.join(Path(p).name for p in written.values())} -> {out}")
        if args.json:
            print(json.dumps({"input": args.path, "frames": len(fs), "frame_shape": list(fs.frame_shape),
                              "cells": cells.n, "diameter_px": cells.diameter_px,
                              "centers": np.round(cells.centers, 2).tolist(), "neuropil": args.neuropil,
                              "seconds": {k: round(v, 3) for k, v in seconds.items()},
                              "outputs": {k: str(v) for k, v in written.items()}}, indent=2,
                             ensure_ascii=False))
    return 0
