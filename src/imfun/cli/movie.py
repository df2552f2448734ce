"""``imfun movie PATH... -o out.mp4``: one or several sequences side by side in a movie."""

from __future__ import annotations

from pathlib import Path

from .common import (
    Formatter,
    add_debug,
    add_input,
    indices_arg,
    open_selected,
    positive_float,
    positive_int,
    say,
)

EPILOG = """\
examples:
  imfun movie movie.tif -o movie.mp4 --fps 20
  imfun movie raw.tif registered.tif -o compare.mp4 --titles raw registered
  imfun movie movie.tif -o dfof.mp4 --dfof 10 --cmap magma --vmin 0 --vmax 1
  imfun movie movie.tif -o stim.mp4 --marker 100:120,300:320   # red dot on stimulation frames
"""


def register(sub) -> None:
    p = sub.add_parser("movie", help="make a movie (several inputs side by side)",
                       description="Encode one or several sequences into a movie (H.264 .mp4 by default); "
                                   "several inputs are laid side by side.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the movie (.mp4, .mov, .mkv, .avi)")
    p.add_argument("--fps", type=positive_float, default=25.0, help="frames per second (default 25)")
    p.add_argument("--vmin", type=float, help="low end of the display range (default each input's minimum)")
    p.add_argument("--vmax", type=float, help="high end of the display range (default each input's maximum)")
    p.add_argument("--cmap", default="gray", help="matplotlib colormap (default gray)")
    p.add_argument("--marker", type=indices_arg, metavar="FRAMES",
                   help="frames that get a red dot, e.g. 10,20,100:120")
    p.add_argument("--titles", nargs="+", metavar="TITLE", help="a title per input (default the file names "
                                                                  "when there are several)")
    p.add_argument("--ncols", type=positive_int, help="panels per row (default all in one row)")
    p.add_argument("--dfof", type=positive_float, metavar="SECONDS",
                   help="show ΔF/F with a running 10th-percentile baseline of this many seconds")
    p.add_argument("--quality", type=int, default=8, help="1..10, 10 is lossless (default 8)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..export import to_movie

    seqs = []
    try:
        for path in args.paths:
            fs = open_selected(args, path)
            seqs.append(fs.dfof(baseline_seconds=args.dfof) if args.dfof else fs)
        titles = args.titles
        if titles is None and len(args.paths) > 1:
            titles = [Path(p).name for p in args.paths]
        out = to_movie(seqs, args.output, fps=args.fps, titles=titles, ncols=args.ncols, cmap=args.cmap,
                       vmin=args.vmin, vmax=args.vmax, marker_idx=args.marker, quality=args.quality,
                       overwrite=args.overwrite)
    finally:
        for fs in seqs:
            fs.close()
    say(args, f"{max(len(fs) for fs in seqs)} frames at {args.fps:g} fps -> {out}")
    return 0
