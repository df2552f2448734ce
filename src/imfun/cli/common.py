"""Shared pieces of the ``imfun`` commands: argument types, opening inputs, choosing writers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from ..errors import InvalidArgumentError

#: output endings and the writer method of FrameSequence that makes them
WRITERS = {".tif": "to_tiff", ".tiff": "to_tiff", ".btf": "to_tiff", ".h5": "to_hdf5", ".hdf5": "to_hdf5",
           ".zarr": "to_zarr", ".npy": "to_npy"}
MOVIE_ENDINGS = (".mp4", ".mov", ".mkv", ".avi", ".mpg")


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples in epilogs as written; show defaults."""


def frames_arg(text: str) -> slice:
    """``START:STOP[:STEP]`` (any part may be empty) or a single frame number ``N``."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            n = int(parts[0])
            return slice(n, n + 1 if n != -1 else None)
        if len(parts) > 3:
            raise ValueError
        vals = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a frame range; write START:STOP[:STEP], e.g. 0:100 or ::2") from None
    if len(vals) == 3 and vals[2] == 0:
        raise argparse.ArgumentTypeError("the step of a frame range cannot be 0")
    return slice(*vals)


def crop_arg(text: str) -> tuple[slice, slice]:
    """``Y0:Y1,X0:X1`` (rows, then columns; empty parts mean the edge)."""
    try:
        rows, cols = text.split(",")
        out = []
        for part in (rows, cols):
            bounds = part.split(":")
            if len(bounds) not in (2, 3):
                raise ValueError
            out.append(slice(*(int(b) if b.strip() else None for b in bounds)))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a crop; write Y0:Y1,X0:X1 (rows, columns), e.g. 10:200,0:256") from None
    return out[0], out[1]


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return value


def indices_arg(text: str) -> list[int]:
    """Frame numbers ``3,10,20:25`` (ranges are START:STOP, stop excluded)."""
    out: list[int] = []
    try:
        for part in text.split(","):
            if ":" in part:
                a, b = part.split(":")
                out.extend(range(int(a), int(b)))
            elif part.strip():
                out.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of frames such as 3,10,20:25") from None
    return out


def add_debug(p: argparse.ArgumentParser, top: bool = False) -> None:
    # on subcommands the default is suppressed, so `imfun --debug CMD` is not reset by CMD's parser
    p.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="show the full traceback on errors")


def add_input(p: argparse.ArgumentParser, crop: bool = True, dt: bool = True) -> None:
    """Options that choose what to read from an input."""
    g = p.add_argument_group("input selection")
    g.add_argument("--frames", type=frames_arg, metavar="START:STOP[:STEP]",
                   help="frames to use (Python slice, e.g. 100:500 or ::2); default all")
    if crop:
        g.add_argument("--crop", type=crop_arg, metavar="Y0:Y1,X0:X1",
                       help="part of each frame (rows, columns), e.g. 0:128,64:192")
    g.add_argument("--ch", type=int, metavar="N", help="colour channel of image/video files (0, 1, 2)")
    if dt:
        g.add_argument("--dt", type=positive_float, metavar="SECONDS",
                       help="frame interval, when the file does not state it (or to override it)")


def open_input(path: str, ch: int | None = None, dt: float | None = None):
    """Open a sequence from a path (file, folder or glob) as :func:`imfun.fseq.open_seq` does."""
    from ..fseq import open_seq

    kwargs = {} if ch is None else {"ch": ch}
    fs = open_seq(path, **kwargs)
    if dt is not None:
        fs.meta["axes"][0] = (dt, "s")
        fs.meta.pop("frame_times", None)
    return fs


def select(fs, args):
    """The frames and crop that ``--frames`` and ``--crop`` ask for, as a lazy sequence."""
    frames = getattr(args, "frames", None)
    crop = getattr(args, "crop", None)
    if frames is not None:
        fs = fs[frames]
    if crop is not None:
        fs = fs.crop_frames(*crop)
    return fs


def open_selected(args, path: str | None = None):
    return select(open_input(path or args.path, getattr(args, "ch", None), getattr(args, "dt", None)),
                  args)


def output_kind(path: str | os.PathLike) -> str:
    """The writer method for an output path (by its ending)."""
    name = str(path).lower().rstrip("/\\")
    for ending in (".ome.zarr", ".ome.tif", ".ome.tiff"):
        if name.endswith(ending):
            return "to_zarr" if ending.endswith("zarr") else "to_tiff"
    suffix = Path(name).suffix
    if suffix in WRITERS:
        return WRITERS[suffix]
    if suffix in MOVIE_ENDINGS:
        return "movie"
    raise InvalidArgumentError(
        f"cannot tell the output format of {str(path)!r}: end it with one of "
        f"{', '.join(sorted({*WRITERS, *MOVIE_ENDINGS}))}")


def write_sequence(fs, out: str, overwrite: bool = False, dtype=None, compression=None) -> Path:
    """Write a sequence with the writer its ending asks for; metadata (axes) go with it."""
    kind = output_kind(out)
    if kind == "movie":
        return fs.export_movie_anim(out, overwrite=overwrite)
    kwargs: dict = {"overwrite": overwrite, "dtype": dtype}
    if kind == "to_tiff":
        kwargs["ome"] = str(out).lower().endswith((".ome.tif", ".ome.tiff"))
        kwargs["imagej"] = not kwargs["ome"]
        kwargs["compression"] = compression
    elif kind == "to_hdf5":
        kwargs["compression"] = compression
    elif compression is not None:
        raise InvalidArgumentError(f"--compression applies to TIFF and HDF5 outputs, not {out!r}")
    return getattr(fs, kind)(out, **kwargs)


def say(args, text: str) -> None:
    """Print a line of the command's report (not with --quiet)."""
    if not getattr(args, "quiet", False):
        print(text)


def dtype_arg(text: str) -> np.dtype:
    try:
        return np.dtype(text)
    except TypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a numpy data type (e.g. uint16, float32)") from None
