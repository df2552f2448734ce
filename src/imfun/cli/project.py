"""``imfun project PATH --fn mean|max|min|std|median|pNN -o out.(png|tif|npy)``."""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError
from .common import Formatter, add_debug, add_display, add_input, open_selected, say

EPILOG = """\
examples:
  imfun project movie.tif --fn mean -o mean.png
  imfun project movie.tif --fn max --frames 100:400 --crop 0:256,128:384 -o max.tif
  imfun project movie.tif --fn p10 -o baseline.npy       # 10th percentile of each pixel
  imfun project 'frames/*.png' --fn std --ch 1 -o std.png --figsize 6 5 --dpi 150

A .png/.svg/.pdf is a figure: the image in its 0.5-99.5 percentiles (or --vmin/--vmax/
--percentiles), a colour bar, a scale bar in µm when the pixel size is known, and a title
with the source frames projected; two channels are drawn green/magenta, each scaled on its own.
"""

SIMPLE = ("mean", "max", "min", "std", "median")
FIGURES = (".png", ".svg", ".pdf")


def fn_arg(text: str) -> str:
    t = text.lower()
    if t in SIMPLE or re.fullmatch(r"p(100|[0-9]{1,2}(\.[0-9]+)?)", t):
        return t
    raise argparse.ArgumentTypeError(f"{text!r} is not a projection; use one of {', '.join(SIMPLE)} or "
                                     f"pNN (a percentile, e.g. p10 or p99.5)")


def register(sub) -> None:
    p = sub.add_parser("project", help="project frames to one image (mean, max, min, std, median, pNN)",
                       description="Project frames along time, pixel by pixel, into one image.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="PATH", help="file, folder or glob (quote globs)")
    p.add_argument("--fn", type=fn_arg, default="mean", metavar="FN",
                   help="mean (default), max, min, std, median, or pNN for a percentile (p10, p99.5)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the image: .png/.svg/.pdf (a figure with a colour bar and, for pixels in µm, "
                        "a scale bar), .tif (float32) or .npy")
    p.add_argument("--no-title", action="store_true", help="no title over a drawn image")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    add_display(p)
    add_input(p, dt=False)
    add_debug(p)
    p.set_defaults(func=run)


def project(fs, fn: str) -> np.ndarray:
    """The projection image (the engine does the work, in blocks)."""
    if fn == "mean":
        return fs.mean_frame()
    if fn == "max":
        return fs.max_project()
    if fn == "min":
        return fs.min_project()
    if fn == "std":
        return fs.std(axis=0)
    q = 50.0 if fn == "median" else float(fn[1:])
    return fs.time_project(fn=functools.partial(np.percentile, q=q))


def fitted_figsize(shape, width: float = 5.0) -> tuple[float, float]:
    """A figure size in inches for an image of ``shape`` (rows, cols) with a title and a colour bar.

    >>> fitted_figsize((100, 100)), fitted_figsize((50, 200))
    ((5.0, 4.8), (5.0, 1.65))
    """
    return width, round(max(1.5, 4.2 * shape[0] / shape[1] + 0.6), 2)


def draw_image(img: np.ndarray, fmt: str, target, axes, title: str = "", vmin=None, vmax=None,
               percentiles=None, cmap=None, figsize=None, dpi=100) -> None:
    """Draw an image as a figure: robust display range, colour bar (one channel), µm scale bar;
    ``figsize`` None fits the figure to the image's shape."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..fseq import FSeq_arr
    from ..plotting import add_colour_bar, add_scale_bar, display_for, micron_scale

    display = display_for(FSeq_arr(img[None]), vmin, vmax, percentiles, cmap)
    fig = Figure(figsize=figsize or fitted_figsize(img.shape), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.imshow(display.rgb(img[None])[0], interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    if display.has_colour_bar:
        add_colour_bar(fig, ax, display)
    um = micron_scale(axes) if axes is not None else None
    if um is not None:
        add_scale_bar(ax, um, img.shape[1])
    fig.savefig(target, format=fmt, dpi=dpi)


def save_image(img: np.ndarray, out: str, axes=None, overwrite=False, sources=(), **figure) -> Path:
    """Save a projection as a figure (.png, .svg, .pdf; see :func:`draw_image`), .tif or .npy,
    atomically."""
    from ..export.atomic import atomic_target

    suffix = Path(out).suffix.lower()
    if suffix not in (*FIGURES, ".tif", ".tiff", ".npy"):
        raise InvalidArgumentError(
            f"cannot save an image as {out!r}: end it with {', '.join(FIGURES)}, .tif or .npy")
    with atomic_target(out, overwrite=overwrite, sources=sources) as tmp:
        if suffix == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, img)
        elif suffix in FIGURES:
            with open(tmp, "wb") as f:
                draw_image(img, suffix[1:], f, axes, **figure)
        else:
            import tifffile

            kwargs = {}
            if axes is not None and axes[1].unit == "µm" and axes[2].unit == "µm":
                kwargs = {"resolution": (1 / axes[2].scale, 1 / axes[1].scale), "metadata": {"unit": "um"}}
            tifffile.imwrite(tmp, img.astype(np.float32), imagej=True, **kwargs)
    return Path(out)


def frames_title(fs, fn: str) -> str:
    """``'max of frames 10-19 (1-1.9 s)'``: what was projected, in source frames and seconds."""
    from ..plotting import frame_numbers, time_unit

    numbers = frame_numbers(fs)
    text = f"{fn} of frames {numbers[0]}-{numbers[-1]}" if len(fs) > 1 else f"{fn} of frame {numbers[0]}"
    unit = time_unit(fs)
    if unit:
        times = fs.frame_idx()
        text += f" ({times[0]:.4g}-{times[-1]:.4g} {unit})"
    return text


def run(args) -> int:
    fs = open_selected(args)
    with fs:
        img = project(fs, args.fn)
        out = save_image(img, args.output, fs.meta["axes"], args.overwrite, fs.source_paths(),
                         title="" if args.no_title else frames_title(fs, args.fn), vmin=args.vmin,
                         vmax=args.vmax, percentiles=args.percentiles, cmap=args.cmap,
                         figsize=tuple(args.figsize) if args.figsize else None, dpi=args.dpi)
    say(args, f"{args.fn} projection of {len(fs)} frames ({img.shape[0]}x{img.shape[1]}) -> {out}")
    return 0
