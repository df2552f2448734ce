"""``imfun register PATH -o OUT``: motion correction (rigid or piecewise-rigid), out of core."""

from __future__ import annotations

import argparse

from .common import (
    Formatter,
    add_debug,
    add_input,
    frames_arg,
    open_selected,
    positive_float,
    positive_int,
    say,
    write_sequence,
)

EPILOG = """\
examples:
  imfun register movie.tif -o registered.tif
  imfun register movie.tif -o registered.tif --shifts shifts.csv --qc qc.png
  imfun register movie.tif -o registered.h5 --nonrigid --block-size 96 --bidi auto
  imfun register red.tif -o red_registered.tif --apply green_shifts.npz   # another channel

Shifts are estimated by sub-pixel FFT phase correlation against a template (the most
mutually correlated frames of a sample, refined), in one streaming pass; the registered
frames (float32) are computed while they are written.  --shifts writes the shifts (.csv or
.npz); --qc draws the mean image before/after, the shifts and the correlation with the template.
"""


def bidi_arg(text: str):
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or a number of pixels") from None


def fill_arg(text: str):
    if text in ("edge", "nan"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'edge', 'nan' or a number") from None


def register(sub) -> None:
    p = sub.add_parser("register", help="motion correction (rigid or piecewise-rigid registration)",
                       description="Register the frames to a template and write the registered movie.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("path", metavar="PATH", help="file, folder or glob (quote globs)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="registered movie (.tif, .ome.tif, .h5, .zarr, .npy, or a movie .mp4)")
    p.add_argument("--nonrigid", action="store_true", help="piecewise-rigid registration")
    p.add_argument("--block-size", type=positive_int, default=128, metavar="N",
                   help="block size in pixels for --nonrigid (default 128)")
    p.add_argument("--max-shift", type=positive_float, metavar="PX",
                   help="largest shift searched (default 10%% of the smaller side)")
    p.add_argument("--bidi", type=bidi_arg, metavar="auto|PX",
                   help="line-scan phase between odd and even rows: 'auto' or pixels (default off)")
    p.add_argument("--fill", type=fill_arg, default="edge", metavar="edge|nan|VALUE",
                   help="pixels shifted in from outside the frame (default edge)")
    p.add_argument("--template-frames", type=frames_arg, metavar="START:STOP",
                   help="average these frames as the template (default: estimated)")
    p.add_argument("--order", type=int, choices=(1, 3), default=3,
                   help="interpolation: 1 bilinear, 3 cubic (default 3)")
    p.add_argument("--apply", metavar="SHIFTS", help="apply saved shifts (.csv/.npz) instead of estimating")
    p.add_argument("--shifts", metavar="FILE", help="write the shifts here (.csv or .npz)")
    p.add_argument("--qc", metavar="FIGURE", help="write a quality-control figure here (.png, .pdf, .svg)")
    p.add_argument("--budget", help="memory budget, e.g. '512 MiB' (default 256 MiB)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_input(p)
    add_debug(p)
    p.set_defaults(func=run)


def _registered(fs, args, budget):
    if args.apply:
        from ..registration import load_shifts

        return fs.apply_shifts(load_shifts(args.apply), fill=args.fill, order=args.order, budget=budget)
    return fs.register(args.template_frames, nonrigid=args.nonrigid, block_size=args.block_size,
                       max_shift=args.max_shift, bidi=args.bidi, fill=args.fill, order=args.order,
                       budget=budget)


def run(args) -> int:
    from .. import config
    from ..export.atomic import check_target

    budget = config.parse_bytes(args.budget) if args.budget else None
    fs = open_selected(args)
    for extra in (args.shifts, args.qc):  # refuse before the long work, not after it
        if extra:
            check_target(extra, fs.source_paths(), args.overwrite)
    with fs, config.budget(budget if budget is not None else config.get_budget()):
        reg = _registered(fs, args, budget)
        out = write_sequence(reg, args.output, args.overwrite)
        if args.shifts:
            reg.save_shifts(args.shifts, overwrite=args.overwrite)
        if args.qc:
            from ..registration.qc import qc_figure

            qc_figure(reg, args.qc, overwrite=args.overwrite, budget=budget)
    kind = "piecewise-rigid" if reg.block_shifts is not None else "rigid"
    peak = float(abs(reg.shifts).max())
    say(args, f"registered ({kind}, largest shift {peak:.2f} px, bidi phase {reg.bidi_phase:g} px) "
              f"{len(reg)} frames of {reg.frame_shape} -> {out}")
    return 0
