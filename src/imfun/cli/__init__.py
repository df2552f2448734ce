"""The ``imfun`` command line: ``imfun info | project | convert | movie | frames | traces | dfof``.

Each command is a module of this package with ``register(subparsers)`` and
``run(args) -> int``.  :func:`main` returns the exit status: 0 on success, 1 on
a failure (one line ``imfun: error: ...`` on stderr; the traceback with
``--debug``), 2 on bad usage (argparse).  Errors and warnings (one line each,
``imfun: warning: ...``) use the command line's words (``--overwrite``, not
``overwrite=True``; see :func:`imfun.cli.common.cli_words`).  Progress bars
appear on a terminal only; ``-q``, before or after the command, silences the
report, the warnings and the bars.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
import warnings

from .common import Formatter, add_debug, cli_words

COMMANDS = ("info", "project", "convert", "movie", "frames", "traces", "dfof", "register", "cells")

EPILOG = """\
examples:
  imfun info movie.tif
  imfun project movie.tif --fn max -o max.png
  imfun traces movie.tif --rois labels.tif -o traces.csv --dfof --baseline-seconds 10
  imfun cells movie.tif -o cells/ --diameter 12 --neuropil
  imfun dfof movie.tif -o dfof.tif --baseline-seconds 10
  imfun convert movie.tif movie.ome.zarr
  imfun movie raw.tif dfof.tif -o side-by-side.mp4
  imfun register movie.tif -o registered.tif --shifts shifts.csv --qc qc.png

`imfun COMMAND --help` shows the options and examples of each command.
"""


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="imfun", formatter_class=Formatter, epilog=EPILOG,
        description="Time-lapse microscopy frame sequences from the command line: any format, "
                    "read lazily, with physical units, in bounded memory.")
    parser.add_argument("--version", action="version", version=f"imfun {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    add_debug(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    for command in sub.choices.values():  # -q also after the command (not reset by its parser)
        with contextlib.suppress(argparse.ArgumentError):  # a command that defines -q itself
            command.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                                 help="print nothing but errors (no warnings, no progress bars)")
    return parser


def report_error(exc: BaseException, where: str | None = None) -> None:
    """One clear line on stderr."""
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror and exc.filename:  # "[Errno 2] ..." reads badly
        msg = f"{exc.strerror}: {exc.filename}"
    prefix = f"{where}: " if where else ""
    print(f"imfun: error: {prefix}{cli_words(msg)}".replace("\n", " "), file=sys.stderr)


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line ``imfun: warning: ...`` in the command line's words (no source line)."""
    text = " ".join(cli_words(str(message)).split())
    print(f"imfun: warning: {text}", file=sys.stderr)


@contextlib.contextmanager
def warnings_and_bars(quiet: bool):
    """Warnings as one line each (none with ``-q``); with ``-q`` no progress bars either."""
    from .. import config

    before = getattr(config, "progress", "auto")
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
            config.progress = False
        else:  # the library's warnings once per place, whatever the interpreter's filters
            warnings.filterwarnings("default", category=UserWarning)
            warnings.showwarning = show_warning
        try:
            yield
        finally:
            config.progress = before


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failure, 2 bad usage).

    Examples
    --------
    >>> main(["info", "--help"])  # doctest: +SKIP
    """
    from ..errors import ImfunError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    try:
        with warnings_and_bars(bool(getattr(args, "quiet", False))):
            return int(args.func(args) or 0)
    except (ImfunError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        report_error(exc)
        return 1
    except KeyboardInterrupt:
        print("imfun: interrupted", file=sys.stderr)
        return 130


__all__ = ["main"]
