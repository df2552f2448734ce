"""``imfun dfof PATH -o out.tif --baseline-seconds S``: a ΔF/F movie, out of core."""

from __future__ import annotations

import numpy as np

from .common import (
    Formatter,
    add_debug,
    add_input,
    add_scale,
    dtype_arg,
    open_selected,
    positive_float,
    positive_int,
    say,
    write_sequence,
)

EPILOG = """\
examples:
  imfun dfof movie.tif -o dfof.tif --baseline-seconds 10
  imfun dfof movie.tif -o dfof.h5 --baseline-seconds 30 --percentile 20 --bin 2
  imfun dfof 'frames/*.png' --dt 0.1 -o dfof.ome.zarr --baseline-frames 101 --method mean
  imfun dfof movie.tif -o dfof.mp4 --baseline-seconds 10        # straight into a movie

F0 of frame t is the PERCENTILE-th value (or the mean) of the frames in a window of S
seconds centred on t (--method); the first and last frames use the first and last full
window (--mode inside), so no frame is its own baseline.
ΔF/F = (F - F0) / F0, 0 where F0 = 0.  The movie is computed block by block, with half a
window of overlap, so the result equals the whole-movie computation at any memory budget.
"""


def register(sub) -> None:
    p = sub.add_parser("dfof", help="ΔF/F movie with a running-percentile baseline",
                       description="Write the ΔF/F of every pixel, (F - F0) / F0, with a running "
                                   "baseline F0.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="PATH", help="file, folder or glob (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output (.tif, .ome.tif, .h5, .zarr, .npy, or a movie .mp4)")
    p.add_argument("--baseline-seconds", type=positive_float, metavar="S", help="baseline window in seconds")
    p.add_argument("--baseline-frames", type=positive_int, metavar="N", help="baseline window in frames")
    p.add_argument("--percentile", type=float, default=10.0, help="baseline percentile (default 10)")
    p.add_argument("--method", choices=("fast", "exact", "percentile", "maximin", "mean"), default="fast",
                   help="running baseline: fast (percentile every quarter window, interpolated; "
                        "default), exact (= percentile), maximin (suite2p) or mean")
    p.add_argument("--mode", choices=("inside", "nearest", "reflect", "mirror"), default="inside",
                   help="edges: the first/last full window (inside, default) or padding as scipy")
    p.add_argument("--bin", type=positive_int, metavar="N", help="bin N x N pixels first")
    p.add_argument("--dtype", type=dtype_arg, default=np.dtype(np.float32),
                   help="of the output (default float32); an integer type takes values that fit "
                        "(rounded), or --scale")
    add_scale(p)
    p.add_argument("--budget", help="memory budget, e.g. '512 MiB' (default 256 MiB)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from .. import config

    budget = config.parse_bytes(args.budget) if args.budget else None
    fs = open_selected(args)
    with fs:
        src = fs.bin(args.bin, budget=budget) if args.bin and args.bin > 1 else fs
        d = src.dfof(baseline_seconds=args.baseline_seconds, percentile=args.percentile, method=args.method,
                     baseline_frames=args.baseline_frames, mode=args.mode, dtype=_work_dtype(args.dtype),
                     budget=budget)
        # computed in floats; the writer converts to --dtype, checked (never wrapped) or --scale'd
        if budget is not None:
            with config.budget(budget):
                out = write_sequence(d, args.output, args.overwrite, args.dtype, scale=args.scale)
        else:
            out = write_sequence(d, args.output, args.overwrite, args.dtype, scale=args.scale)
    say(args, f"ΔF/F ({d.reader.source.split(' of ')[0]}) of {len(d)} frames of {d.frame_shape} -> {out}")
    return 0


def _work_dtype(dtype: np.dtype) -> np.dtype:
    """ΔF/F is computed in ``dtype`` when it is a float type, else in float32."""
    return dtype if dtype.kind == "f" else np.dtype(np.float32)
