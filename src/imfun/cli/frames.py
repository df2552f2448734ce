"""``imfun frames PATH -o DIR``: every frame as an image file (drawn with matplotlib)."""

from __future__ import annotations

from .common import Formatter, add_debug, add_input, open_selected, say

EPILOG = """\
examples:
  imfun frames movie.tif -o frames/
  imfun frames movie.tif -o frames/ --frames 0:50 --format tif --cmap viridis
  imfun frames movie.tif -o frames/ --vmin 100 --vmax 2000 --base cell-
"""


def register(sub) -> None:
    p = sub.add_parser("frames", help="export frames as images (png, tif, svg, pdf ...)",
                       description="Draw each frame into an image file named <base><frame number>.<format>.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="PATH", help="file, folder or glob (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the images (created)")
    p.add_argument("--format", default="png", help="png (default), tif, svg, eps, pdf, bmp")
    p.add_argument("--base", default="frame-", help="file name prefix (default frame-)")
    p.add_argument("--vmin", type=float, help="low end of the display range (default the global minimum)")
    p.add_argument("--vmax", type=float, help="high end of the display range (default the global maximum)")
    p.add_argument("--cmap", default="gray", help="matplotlib colormap (default gray)")
    p.add_argument("--no-title", action="store_true", help="do not draw the frame number and time")
    p.add_argument("--overwrite", action="store_true", help="replace existing images")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def run(args) -> int:
    fs = open_selected(args)
    with fs:
        names = fs.export_img(args.output, base=args.base, format=args.format, vmin=args.vmin,
                              vmax=args.vmax, show_title=not args.no_title, cmap=args.cmap,
                              overwrite=args.overwrite)
    say(args, f"{len(names)} images -> {args.output}")
    return 0
