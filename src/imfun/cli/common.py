"""Shared pieces of the ``imfun`` commands: argument types, opening inputs, choosing writers."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from typing import TYPE_CHECKING

import numpy as np

from ..errors import EmptySequenceError, InvalidArgumentError, UnknownArgumentError

if TYPE_CHECKING:
    from pathlib import Path

#: output endings and the writer method of FrameSequence that makes them
WRITERS = {".tif": "to_tiff", ".tiff": "to_tiff", ".btf": "to_tiff", ".h5": "to_hdf5", ".hdf5": "to_hdf5",
           ".zarr": "to_zarr", ".npy": "to_npy"}
MOVIE_ENDINGS = (".mp4", ".mov", ".mkv", ".avi", ".mpg", ".gif")


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
    add_reader_options(p)
    if dt:
        g.add_argument("--dt", type=positive_float, metavar="SECONDS",
                       help="frame interval, when the file does not state it (or to override it)")


_PLUGIN_OPTIONS = [True]  # whether reader options include the plug-ins' (see plugin_options)


@contextlib.contextmanager
def plugin_options(wanted: bool):
    """Parsers built inside take the reader options of the plug-ins too, or only the built-in
    formats' (looking the plug-ins up costs a fresh process ~40 ms: done only when needed)."""
    before = _PLUGIN_OPTIONS[0]
    _PLUGIN_OPTIONS[0] = wanted
    try:
        yield
    finally:
        _PLUGIN_OPTIONS[0] = before


def add_reader_options(p: argparse.ArgumentParser) -> None:
    """``--ch``, ``--z``, ``--series``, ``--dataset`` ...: every option some reader takes, made from
    the readers' own declarations (:mod:`imfun.readers.options`), with the formats that take it."""
    from ..readers import registry

    g = p.add_argument_group("reader options (each format takes some of them; `imfun info FILE` "
                             "shows what a file holds)")
    plugins = _PLUGIN_OPTIONS[0]
    for option in registry.all_options(plugins):
        takers = sorted({e.name for e in registry.formats(plugins) if option in e.options})
        g.add_argument(option.flag, dest=f"reader_{option.name}", type=_parser(option),
                       metavar=option.metavar, help=f"{option.help} [{', '.join(takers)}]")


def _parser(option):
    """An argparse type for an option: its parse function, with errors in argparse's words."""
    def parse(text: str):
        try:
            return option.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = option.name  # argparse names the type in its messages
    return parse


def reader_options(args) -> dict:
    """The reader options given on the command line, as keywords for ``open_seq``."""
    return {k[len("reader_"):]: v for k, v in vars(args).items() if k.startswith("reader_") and v is not None}


def add_display(p: argparse.ArgumentParser, figure: bool = True) -> None:
    """Options of drawn outputs: display range, colour map and (``figure``) figure size."""
    g = p.add_argument_group("display")
    g.add_argument("--vmin", type=float, help="value shown black (default: the 0.5th percentile)")
    g.add_argument("--vmax", type=float, help="value shown white (default: the 99.5th percentile)")
    g.add_argument("--percentiles", type=float, nargs=2, metavar=("LOW", "HIGH"),
                   help="percentiles of the data for the display range (default 0.5 99.5)")
    g.add_argument("--cmap", help="matplotlib colormap (default gray; RdBu_r centred on 0 for ΔF/F "
                                  "and other data with both signs)")
    if figure:
        g.add_argument("--figsize", type=positive_float, nargs=2, metavar=("W", "H"),
                       help="figure size in inches (default: fitted to the frame's shape)")
        g.add_argument("--dpi", type=positive_int, default=100, help="dots per inch (default 100)")


def open_input(path: str, options: dict | None = None, dt: float | None = None):
    """Open a sequence from a path (file, folder or glob) as :func:`imfun.fseq.open_seq` does, with
    reader options (``{'z': 0}``); an option the file's format does not take is an error that
    names the options it takes."""
    from ..fseq.opening import open_source
    from ..readers import registry

    options = dict(options or {})
    src = registry.resolve(path)
    entry = registry.find_format(src)
    unknown = [k for k in options if k not in entry.option_names()]
    if unknown:
        takes = ", ".join(o.flag for o in entry.options) or "none of the reader options"
        raise UnknownArgumentError(
            f"{', '.join('--' + k.replace('_', '-') for k in unknown)} does not apply to {entry.name} files "
            f"({path}); they take {takes}")
    fs = open_source(src, entry, **options)
    if dt is not None:
        fs.meta["axes"][0] = (dt, "s")
        fs.meta.pop("frame_times", None)
    return fs


def select(fs, args):
    """The frames and crop that ``--frames`` and ``--crop`` ask for, as a lazy sequence."""
    frames = getattr(args, "frames", None)
    crop = getattr(args, "crop", None)
    if frames is not None:
        if len(range(*frames.indices(len(fs)))) == 0:
            raise EmptySequenceError(
                f"--frames {slice_text(frames)} selects no frames: the input has {len(fs)} frames "
                f"(0 to {len(fs) - 1})")
        fs = fs[frames]
    if crop is not None:
        fs = fs.crop_frames(*crop)
    return fs


def slice_text(sl: slice) -> str:
    """A slice as the ``--frames`` text that makes it: ``10:20``, ``::2``, ``5``.

    >>> slice_text(slice(10, 20)), slice_text(slice(None, None, 2)), slice_text(slice(5, 6))
    ('10:20', '::2', '5')
    """
    if sl.step is None and sl.start is not None and sl.stop == sl.start + 1:
        return str(sl.start)
    parts = ["" if v is None else str(v) for v in (sl.start, sl.stop)]
    return ":".join(parts + ([str(sl.step)] if sl.step is not None else []))


#: library keyword arguments and the command-line options that set them
CLI_OPTIONS = {"z": "--z", "ch": "--ch", "series": "--series", "dataset": "--dataset", "axes": "--axes",
               "record": "--record", "level": "--level", "roi": "--roi", "budget": "--budget",
               "percentile": "--percentile", "method": "--method", "mode": "--mode", "fps": "--fps",
               "speed": "--speed", "pad": "--pad", "vmin": "--vmin", "vmax": "--vmax",
               "percentiles": "--percentiles", "rescale": "--scale", "scale": "--scale",
               "dtype": "--dtype", "overwrite": "--overwrite", "baseline_seconds": "--baseline-seconds",
               "baseline_frames": "--baseline-frames", "window_seconds": "--window-seconds",
               "window_frames": "--window-frames", "fslice": "--frames", "crop": "--crop"}
_PHRASES = [
    (re.compile(r"pass dtype='float32' to convert, ome=True for an OME-TIFF, or imagej=False"),
     "pass --dtype float32 to convert, or write an OME-TIFF (.ome.tif)"),
    (re.compile(r"(?:set )?fs\.meta\[['\"]axes['\"]\]\[0\]\s*=\s*\(dt, ['\"]s['\"]\)"), "give --dt SECONDS"),
    (re.compile(r"\bome=True\b"), "an .ome.tif output"),
    (re.compile(r"\b(baseline|window)_(seconds|frames)\b(?!=)"), r"--\1-\2"),
]
_KEYWORD = re.compile(r"(?<![\w.\[])([a-z][a-z_]*)=(np\.)?('[^']*'|\"[^\"]*\"|[^\s,;)]*)")


def cli_words(message: str) -> str:
    """A library message in the command line's words: ``overwrite=True`` -> ``--overwrite``,
    ``z=0`` -> ``--z 0``, ``dtype='float32'`` -> ``--dtype float32``, ``baseline_frames=`` ->
    ``--baseline-frames``, ``set fs.meta['axes'][0] = (dt, 's')`` -> ``give --dt SECONDS``.

    >>> cli_words("out.tif exists; pass overwrite=True to replace it")
    'out.tif exists; pass --overwrite to replace it'
    >>> cli_words("choose a plane with z=0, or give baseline_frames=")
    'choose a plane with --z 0, or give --baseline-frames'
    """
    for pattern, words in _PHRASES:
        message = pattern.sub(words, message)

    def option(m: re.Match) -> str:
        name, value = m.group(1), m.group(3).strip("'\"")
        if name not in CLI_OPTIONS:
            return m.group(0)
        return CLI_OPTIONS[name] if value in ("", "True") else f"{CLI_OPTIONS[name]} {value}"

    return _KEYWORD.sub(option, message)


def open_selected(args, path: str | None = None):
    """The input of a command (``args.path`` or ``path``), opened with the reader options given
    and cut to ``--frames`` / ``--crop``."""
    return select(open_input(path or args.path, reader_options(args), getattr(args, "dt", None)), args)


def output_kind(path: str | os.PathLike) -> str:
    """The writer method for an output path (by its ending)."""
    name = str(path).lower().rstrip("/\\")
    for ending in (".ome.zarr", ".ome.tif", ".ome.tiff"):
        if name.endswith(ending):
            return "to_zarr" if ending.endswith("zarr") else "to_tiff"
    suffix = os.path.splitext(name)[1]
    if suffix in WRITERS:
        return WRITERS[suffix]
    if suffix in MOVIE_ENDINGS:
        return "movie"
    raise InvalidArgumentError(
        f"cannot tell the output format of {str(path)!r}: end it with one of "
        f"{', '.join(sorted({*WRITERS, *MOVIE_ENDINGS}))}")


def write_sequence(fs, out: str, overwrite: bool = False, dtype=None, compression=None,
                   scale=None) -> Path:
    """Write a sequence with the writer its ending asks for; metadata (axes) go with it.

    ``dtype`` converts by the rule of :mod:`imfun.dtypes` (a narrowing conversion
    is checked, never wrapped); ``scale`` (``--scale``: ``"auto"`` for the data's
    range, or ``(lo, hi)``) maps that range onto the range of ``dtype``.
    """
    from ..dtypes import NarrowingError
    from ..export import writers

    kind = output_kind(out)
    if kind == "movie":
        return fs.export_movie_anim(out, overwrite=overwrite)
    if scale is not None and dtype is None:
        raise InvalidArgumentError("--scale maps the data onto the range of --dtype: give it too, "
                                   "e.g. --dtype uint8 --scale")
    kwargs: dict = {"overwrite": overwrite, "dtype": dtype,
                    "rescale": True if isinstance(scale, str) else scale}
    if kind == "to_tiff":
        kwargs["ome"] = str(out).lower().endswith((".ome.tif", ".ome.tiff"))
        kwargs["imagej"] = not kwargs["ome"]
        kwargs["compression"] = compression
    elif kind == "to_hdf5":
        kwargs["compression"] = compression
    elif compression is not None:
        raise InvalidArgumentError(f"--compression applies to TIFF and HDF5 outputs, not {out!r}")
    try:
        return getattr(writers, kind)(fs, out, **kwargs)
    except NarrowingError as exc:
        raise InvalidArgumentError(exc.cli_message()) from exc


def say(args, text: str) -> None:
    """Print a line of the command's report (not with --quiet)."""
    if not getattr(args, "quiet", False):
        print(text)


def dtype_arg(text: str) -> np.dtype:
    """A numeric numpy type, e.g. ``uint16`` or ``float32``."""
    try:
        dtype = np.dtype(text)
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "buifc":
        raise argparse.ArgumentTypeError(f"{text!r} is not a numeric numpy data type (e.g. uint16, float32)")
    return dtype


def scale_arg(text: str) -> tuple[float, float] | str:
    """``LO,HI``: the range that ``--scale`` maps onto the range of ``--dtype`` (``'auto'``: the data's)."""
    if text == "auto":
        return text
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        lo = hi = float("nan")
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a range; write LO,HI with LO <= HI, e.g. --scale 0,4095 "
            "(or --scale alone for the data's range)")
    return lo, hi


def add_scale(p: argparse.ArgumentParser) -> None:
    """``--scale [LO,HI]``: map the data's range (or LO..HI) onto the range of ``--dtype``."""
    p.add_argument("--scale", nargs="?", const="auto", type=scale_arg, metavar="LO,HI",
                   help="map the data's range (exact; or LO..HI, values outside clipped) linearly "
                        "onto the range of --dtype (0..255 for uint8, 0..1 for floats); "
                        "without it a narrowing --dtype refuses data that do not fit")
