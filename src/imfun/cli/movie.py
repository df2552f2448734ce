"""``imfun movie PATH... -o out.mp4``: one or several sequences side by side in a movie."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .common import (
    Formatter,
    add_debug,
    add_display,
    add_input,
    indices_arg,
    open_selected,
    positive_float,
    positive_int,
    say,
)

EPILOG = """\
examples:
  imfun movie movie.tif -o movie.mp4                  # real time: 1/dt frames per second
  imfun movie movie.tif -o fast.mp4 --speed 4x        # four times faster (written in the title)
  imfun movie raw.tif registered.tif -o compare.mp4 --titles raw registered
  imfun movie movie.tif -o dfof.mp4 --dfof 10         # ΔF/F: RdBu_r centred on 0, with a colour bar
  imfun movie movie.tif -o stim.gif --marker 100:120,300:320   # a GIF; red dot on stimulation frames

Movies play in real time unless --fps or --speed say otherwise; above 60 fps (50 for a
GIF) every k-th frame is shown so that they still do, and 25 fps is used when the frame
interval is unknown (give it with --dt).  Titles and --marker use source frame numbers.
The display range of each input is its 0.5-99.5 percentiles unless --vmin/--vmax/
--percentiles say otherwise; two channels are drawn green/magenta, each scaled on its own.
Inputs must have the same number of frames (select them with --frames), or --pad shows
black after the shorter ones end.
"""


def register(sub) -> None:
    p = sub.add_parser("movie", help="make a movie or GIF (several inputs side by side)",
                       description="Encode one or several sequences into a movie (H.264 .mp4 by default) "
                                   "or a GIF; several inputs are laid side by side.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the movie (.mp4, .mov, .mkv, .avi, .gif)")
    timing = p.add_mutually_exclusive_group()
    timing.add_argument("--fps", type=positive_float, help="frames per second (default: real time)")
    timing.add_argument("--speed", type=speed_arg, metavar="FACTOR",
                        help="times real time, e.g. 2x or 0.5 (default 1x)")
    p.add_argument("--pad", action="store_true",
                   help="allow inputs of different lengths (black after the end)")
    p.add_argument("--marker", type=indices_arg, metavar="FRAMES",
                   help="source frames that get a red dot, e.g. 10,20,100:120")
    p.add_argument("--titles", nargs="+", metavar="TITLE", help="a title per input (default the file names "
                                                                  "when there are several)")
    p.add_argument("--ncols", type=positive_int, help="panels per row (default all in one row)")
    p.add_argument("--dfof", type=positive_float, metavar="SECONDS",
                   help="show ΔF/F with a running 10th-percentile baseline of this many seconds")
    p.add_argument("--colorbar", action="store_true", default=None,
                   help="a colour bar beside each panel (default: only for ΔF/F and signed data)")
    p.add_argument("--scalebar", action="store_true", help="a scale bar in µm in each panel")
    p.add_argument("--zoom", type=positive_int, help="integer enlargement of the frames (default: to "
                                                     "about 400 pixels)")
    p.add_argument("--quality", type=int, default=8, help="1..10, 10 is lossless (default 8)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_display(p, figure=False)
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def speed_arg(text: str) -> float:
    """``2x``, ``0.5`` -> the speed-up over real time."""
    from ..errors import InvalidArgumentError
    from ..export.movie import parse_speed

    try:
        return parse_speed(text)
    except InvalidArgumentError as exc:
        raise argparse.ArgumentTypeError(f"--speed {text}: write a factor such as 2x or 0.5") from exc


def marker_positions(fs, frames: list[int] | None) -> np.ndarray | None:
    """Positions of ``fs`` whose source frame numbers are in ``frames``."""
    from ..plotting import frame_numbers

    if frames is None:
        return None
    return np.flatnonzero(np.isin(frame_numbers(fs), frames))


def run(args) -> int:
    from ..export import to_movie
    from ..export.movie import _container_format, movie_path, movie_timing

    seqs = []
    try:
        for path in args.paths:
            fs = open_selected(args, path)
            seqs.append(fs.dfof(baseline_seconds=args.dfof) if args.dfof else fs)
        titles = args.titles
        if titles is None and len(args.paths) > 1:
            titles = [Path(p).name for p in args.paths]
        longest = max(seqs, key=len)
        out = to_movie(seqs, args.output, fps=args.fps, speed=args.speed, pad=args.pad, titles=titles,
                       ncols=args.ncols, cmap=args.cmap, vmin=args.vmin, vmax=args.vmax,
                       percentiles=args.percentiles, colorbar=args.colorbar, scalebar=args.scalebar,
                       zoom=args.zoom,
                       marker_idx=marker_positions(longest, args.marker), quality=args.quality,
                       overwrite=args.overwrite)
        timing = movie_timing(longest, args.fps, args.speed, _container_format(movie_path(out)))
    finally:
        for fs in seqs:
            fs.close()
    say(args, f"{-(-len(longest) // timing.step)} frames at {timing.describe()} -> {out}")
    return 0
