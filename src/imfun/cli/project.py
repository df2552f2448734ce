"""``imfun project PATH --fn mean|max|min|std|median|pNN -o out.(png|tif|npy)``."""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError
from .common import Formatter, add_debug, add_input, open_selected, say

EPILOG = """\
examples:
  imfun project movie.tif --fn mean -o mean.png
  imfun project movie.tif --fn max --frames 100:400 --crop 0:256,128:384 -o max.tif
  imfun project movie.tif --fn p10 -o baseline.npy       # 10th percentile of each pixel
  imfun project 'frames/*.png' --fn std --ch 1 -o std.png
"""

SIMPLE = ("mean", "max", "min", "std", "median")


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
                   help="the image: .png (drawn with --cmap in --vmin..--vmax), .tif (float32) or .npy")
    p.add_argument("--cmap", default="gray", help="colormap of a .png (default gray)")
    p.add_argument("--vmin", type=float, help="low end of a .png's range (default the image's minimum)")
    p.add_argument("--vmax", type=float, help="high end of a .png's range (default the image's maximum)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
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


def save_image(img: np.ndarray, out: str, axes=None, cmap="gray", vmin=None, vmax=None,
               overwrite=False, sources=()) -> Path:
    """Save a projection as .png, .tif or .npy, atomically."""
    from ..export.atomic import atomic_target

    suffix = Path(out).suffix.lower()
    if suffix not in (".png", ".tif", ".tiff", ".npy"):
        raise InvalidArgumentError(f"cannot save an image as {out!r}: end it with .png, .tif or .npy")
    with atomic_target(out, overwrite=overwrite, sources=sources) as tmp:
        if suffix == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, img)
        elif suffix == ".png":
            from matplotlib.image import imsave

            if img.ndim == 3:  # colour: scale all channels together to 0..1
                lo = img.min() if vmin is None else vmin
                hi = img.max() if vmax is None else vmax
                img = np.clip((img - lo) / ((hi - lo) or 1.0), 0, 1)
                imsave(tmp, img, format="png")
            else:
                imsave(tmp, img, cmap=cmap, vmin=vmin, vmax=vmax, format="png")
        else:
            import tifffile

            kwargs = {}
            if axes is not None and axes[1].unit == "µm" and axes[2].unit == "µm":
                kwargs = {"resolution": (1 / axes[2].scale, 1 / axes[1].scale), "metadata": {"unit": "um"}}
            tifffile.imwrite(tmp, img.astype(np.float32), imagej=True, **kwargs)
    return Path(out)


def run(args) -> int:
    fs = open_selected(args)
    with fs:
        img = project(fs, args.fn)
        out = save_image(img, args.output, fs.meta["axes"], args.cmap, args.vmin, args.vmax,
                         args.overwrite, fs.source_paths())
    say(args, f"{args.fn} projection of {len(fs)} frames ({img.shape[0]}x{img.shape[1]}) -> {out}")
    return 0
