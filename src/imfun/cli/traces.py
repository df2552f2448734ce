"""``imfun traces PATH --rois FILE -o traces.csv``: the mean in each ROI, per frame."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError
from ..plotting import frame_numbers, time_unit
from .common import Formatter, add_debug, add_input, open_selected, positive_float, positive_int, say

EPILOG = """\
examples:
  imfun traces movie.tif --rois labels.tif -o traces.csv
  imfun traces movie.tif --rois RoiSet.zip -o traces.csv --dfof --baseline-seconds 10 --plot traces.png
  imfun traces movie.tif --rois cells.npy -o traces.csv --dfof --baseline-frames 101 --percentile 20
  imfun traces 'frames/*.png' --rois mask.png --components --dt 0.1 -o traces.csv

ROI files: a label image (.tif/.png, 0 = background), a mask image (one ROI, or one per
connected component with --components), a .npy (2-D labels or 3-D stack of masks), or an
ImageJ .roi / RoiSet .zip.  The CSV has a column "frame" (the source frame number: after
--frames 10:20 it starts at 10), a column "time_s" (its time, when the frame interval is
known) and one column per ROI, named by its label or ImageJ name.  The plot has a time
axis in s, the ROI names and an amplitude scale bar (ΔF/F with --dfof).
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
    p.add_argument("--method", choices=("fast", "exact", "percentile", "maximin", "mean"), default="fast",
                   help="running baseline: fast (default), exact (= percentile), maximin or mean "
                        "(as imfun dfof)")
    p.add_argument("--plot", metavar="IMAGE", help="also draw the traces into this image (.png, .svg, .pdf)")
    p.add_argument("--figsize", type=positive_float, nargs=2, metavar=("W", "H"),
                   help="size of the plot in inches (default 10 wide, 0.45 high per ROI)")
    p.add_argument("--dpi", type=positive_int, default=110, help="dots per inch of the plot (default 110)")
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


def write_csv(path, index: dict[str, np.ndarray], traces: np.ndarray, names: list[str], overwrite: bool,
              sources=()) -> Path:
    """The table: the ``index`` columns (source frame number, time), then one column per ROI."""
    from ..export.atomic import atomic_target

    cols = [np.asarray(v) for v in index.values()]
    fmts = ["{:d}" if np.issubdtype(c.dtype, np.integer) else "{:.10g}" for c in cols]
    with atomic_target(path, overwrite=overwrite, sources=sources) as tmp, \
            open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*index, *names])
        for i, row in enumerate(traces.T):
            w.writerow([*(fmt.format(c[i]) for fmt, c in zip(fmts, cols, strict=True)),
                        *(f"{v:.7g}" for v in row)])
    return Path(path)


def plot_traces(path, times, time_label: str, traces, names, ylabel: str, overwrite: bool,
                figsize=None, dpi: int = 110) -> Path:
    """Traces one above the other, named by ROI, against time, with an amplitude scale bar."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..export.atomic import atomic_target
    from ..plotting import nice_length

    n = len(traces)
    spread = np.nanpercentile(np.ptp(traces, axis=1), 75) if n else 1.0
    step = float(spread) or 1.0
    fig = Figure(figsize=figsize or (10, 1.2 + 0.45 * min(n, 40)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for k in range(n):
        ax.plot(times, traces[k] - np.median(traces[k]) + (n - 1 - k) * step, lw=0.8)
    ax.set_yticks([(n - 1 - k) * step for k in range(n)], names, fontsize=7 if n > 20 else 9)
    ax.set_xlabel(time_label)
    ax.set_title(f"{ylabel} per ROI (offset for display)")
    ax.set_xlim(times[0], times[-1])
    _amplitude_bar(ax, times, nice_length(0.8 * step), ylabel)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    with atomic_target(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return Path(path)


def _amplitude_bar(ax, times, length: float, unit: str) -> None:
    """A vertical bar of ``length`` (in the traces' units) right of the traces, labelled."""
    x = times[-1] + 0.01 * (times[-1] - times[0] or 1)
    y0 = ax.get_ylim()[0]
    ax.plot([x, x], [y0, y0 + length], color="black", lw=2, clip_on=False, solid_capstyle="butt")
    ax.text(x, y0 + length / 2, f" {length:g} {unit}", va="center", ha="left", fontsize=8, clip_on=False)


def run(args) -> int:
    if not args.dfof and (args.baseline_seconds or args.baseline_frames):
        raise InvalidArgumentError("--baseline-seconds/--baseline-frames go with --dfof")
    fs = open_selected(args)
    with fs:
        measured = fs.roi_traces(args.rois, components=args.components)
        traces, names = measured.F, measured.names
        if traces.ndim == 3:
            raise InvalidArgumentError("traces of colour frames: choose a channel with --ch")
        if args.dfof:
            traces = trace_dfof(traces, fs, args)
        timed = time_unit(fs) == "s"
        index = {"frame": frame_numbers(fs)}
        if timed:
            index["time_s"] = fs.frame_idx()
        out = write_csv(args.output, index, traces, names, args.overwrite, fs.source_paths())
        say(args, f"{len(names)} ROI traces of {len(fs)} frames -> {out}")
        if args.plot:
            x = index["time_s"] if timed else index["frame"]
            plot = plot_traces(args.plot, x, "time, s" if timed else "frame", traces, names,
                               "ΔF/F" if args.dfof else "mean", args.overwrite,
                               tuple(args.figsize) if args.figsize else None, args.dpi)
            say(args, f"plot -> {plot}")
    return 0
