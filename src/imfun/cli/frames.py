"""``imfun frames PATH -o DIR``: every frame as an image file (drawn with matplotlib)."""

from __future__ import annotations

from .common import Formatter, add_debug, add_display, add_input, open_selected, say

EPILOG = """\
examples:
  imfun frames movie.tif -o frames/
  imfun frames movie.tif -o frames/ --frames 0:50 --format tif --cmap viridis
  imfun frames movie.tif -o frames/ --vmin 100 --vmax 2000 --base cell-
  imfun frames dfof.tif -o frames/ --frames 5::10 --colorbar    # frame-005.png, frame-015.png ...

Files are named and titled by the source frame number (after --frames 5::10 the second
image is frame-015.png, titled "frame 15, <its time> s").  The display range is the
0.5-99.5 percentiles of the exported frames unless --vmin/--vmax/--percentiles say
otherwise; data with both signs (ΔF/F) get the RdBu_r colormap centred on 0 and a colour
bar; two channels are drawn green/magenta, three as RGB, each channel scaled on its own.
"""


def register(sub) -> None:
    p = sub.add_parser("frames", help="export frames as images (png, tif, svg, pdf ...)",
                       description="Draw each frame into an image file named <base><frame number>.<format>.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="PATH", help="file, folder or glob (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the images (created)")
    p.add_argument("--format", default="png", help="png (default), tif, svg, eps, pdf, bmp")
    p.add_argument("--base", default="frame-", help="file name prefix (default frame-)")
    p.add_argument("--no-title", action="store_true", help="do not draw the frame number and time")
    p.add_argument("--colorbar", action="store_true", default=None,
                   help="draw a colour bar (default: only for data with both signs, e.g. ΔF/F)")
    p.add_argument("--no-scalebar", action="store_true",
                   help="no scale bar (default: one when pixels are in µm)")
    p.add_argument("--overwrite", action="store_true", help="replace existing images")
    add_display(p)
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def figsize(fs, title: bool) -> tuple[float, float]:
    """4 inches wide, as high as the frame's shape asks (plus a title band)."""
    rows, cols = fs.frame_shape[:2]
    return 4.0, round(max(1.0, 4 * rows / cols + (0.5 if title else 0)), 2)


def run(args) -> int:
    fs = open_selected(args)
    with fs:
        names = fs.export_img(args.output, base=args.base, format=args.format, vmin=args.vmin,
                              vmax=args.vmax, percentiles=args.percentiles, show_title=not args.no_title,
                              cmap=args.cmap, figsize=tuple(args.figsize or figsize(fs, not args.no_title)),
                              dpi=args.dpi,
                              colorbar=args.colorbar, scalebar=False if args.no_scalebar else None,
                              overwrite=args.overwrite)
    say(args, f"{len(names)} image{'s' if len(names) != 1 else ''} -> {args.output}")
    return 0
