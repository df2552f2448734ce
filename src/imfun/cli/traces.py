"""``imfun traces PATH --rois FILE -o traces.csv``: the mean in each ROI, per frame."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError
from .common import Formatter, add_debug, add_input, open_selected, positive_float, positive_int, say

EPILOG = """\
examples:
  imfun traces movie.tif --rois labels.tif -o traces.csv
  imfun traces movie.tif --rois RoiSet.zip -o traces.csv --dfof --baseline-seconds 10 --plot traces.png
  imfun traces movie.tif --rois cells.npy -o traces.csv --dfof --baseline-frames 101 --percentile 20
  imfun traces 'frames/*.png' --rois mask.png --components --dt 0.1 -o traces.csv

ROI files: a label image (.tif/.png, 0 = background), a mask image (one ROI, or one per
connected component with --components), a .npy (2-D labels or 3-D stack of masks), or an
ImageJ .roi / RoiSet .zip.  The CSV has a time column (time_s, or frame when the frame
interval is unknown) and one column per ROI, named by its label or ImageJ name.
"""


def register(sub) -> None:
    p = sub.add_parser("traces", help="mean per ROI and frame into a CSV (optionally ΔF/F)",
                       description="Average the pixels of each ROI in each frame (all ROIs in one pass).",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="PATH", help="file, folder or glob (quote globs)")
    p.add_argument("--rois", required=True, metavar="FILE", help="label/mask image, .npy, ImageJ .roi/.zip")
    p.add_argument("-o", "--output", required=True, metavar="CSV", help="the table (.csv)")
    p.add_argument("--components", action="store_true", help="split a single mask into connected parts")
    p.add_argument("--dfof", action="store_true", help="ΔF/F of each trace on a running baseline")
    p.add_argument("--baseline-seconds", type=positive_float, metavar="S",
                   help="baseline window in seconds (with --dfof)")
    p.add_argument("--baseline-frames", type=positive_int, metavar="N",
                   help="baseline window in frames (with --dfof)")
    p.add_argument("--percentile", type=float, default=10.0, help="baseline percentile (default 10)")
    p.add_argument("--method", choices=("percentile", "mean"), default="percentile",
                   help="running baseline statistic (default percentile)")
    p.add_argument("--plot", metavar="IMAGE", help="also draw the traces into this image (.png, .svg, .pdf)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def trace_dfof(traces: np.ndarray, fs, args) -> np.ndarray:
    """ΔF/F of ``(n_rois, n_frames)`` traces with the same running baseline as ``fs.dfof``."""
    from ..analysis.dfof import _check, dfof_array, window_frames

    _check(args.method, "nearest", args.percentile)
    if args.baseline_seconds is None and args.baseline_frames is None:
        raise InvalidArgumentError("--dfof needs --baseline-seconds S (or --baseline-frames N)")
    w = window_frames(fs, args.baseline_seconds, args.baseline_frames, "baseline")
    return dfof_array(traces.T, w, args.method, args.percentile).T


def write_csv(path, times: np.ndarray, time_name: str, traces: np.ndarray, names: list[str],
              overwrite: bool, sources=()) -> Path:
    from ..export.atomic import atomic_target

    with atomic_target(path, overwrite=overwrite, sources=sources) as tmp, \
            open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([time_name, *names])
        for t, row in zip(times, traces.T, strict=True):
            w.writerow([f"{t:.6g}", *(f"{v:.7g}" for v in row)])
    return Path(path)


def plot_traces(path, times, time_label: str, traces, names, ylabel: str, overwrite: bool) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..export.atomic import atomic_target

    n = len(traces)
    spread = np.nanpercentile(np.ptp(traces, axis=1), 75) if n else 1.0
    step = float(spread) or 1.0
    fig = Figure(figsize=(10, 1.2 + 0.45 * min(n, 40)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for k in range(n):
        ax.plot(times, traces[k] - np.median(traces[k]) + (n - 1 - k) * step, lw=0.8)
    ax.set_yticks([(n - 1 - k) * step for k in range(n)], names, fontsize=7 if n > 20 else 9)
    ax.set_xlabel(time_label)
    ax.set_title(f"{ylabel} per ROI (offset for display)")
    ax.set_xlim(times[0], times[-1])
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    with atomic_target(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110)
    return Path(path)


def run(args) -> int:
    if not args.dfof and (args.baseline_seconds or args.baseline_frames):
        raise InvalidArgumentError("--baseline-seconds/--baseline-frames go with --dfof")
    fs = open_selected(args)
    with fs:
        traces, names = fs.roi_traces(args.rois, components=args.components)
        if traces.ndim == 3:
            raise InvalidArgumentError("traces of colour frames: choose a channel with --ch")
        if args.dfof:
            traces = trace_dfof(traces, fs, args)
        unit = fs.meta["axes"][0].unit
        times = fs.frame_idx()
        timed = unit == "s" or ("frame_times" in fs.meta and not unit)
        time_name = "time_s" if timed else ("frame" if not unit else f"time_{unit}")
        out = write_csv(args.output, times, time_name, traces, names, args.overwrite, fs.source_paths())
        say(args, f"{len(names)} ROI traces of {len(fs)} frames -> {out}")
        if args.plot:
            label = "time, s" if timed else (f"time, {unit}" if unit else "frame")
            plot = plot_traces(args.plot, times, label, traces, names, "ΔF/F" if args.dfof else "mean",
                               args.overwrite)
            say(args, f"plot -> {plot}")
    return 0
