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

from .common import Formatter, add_debug, cli_words, plugin_options

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


class _TrialError(Exception):
    """A trial parse failed: parse again, with the plug-ins' reader options, for the real message."""


class _TrialParser(argparse.ArgumentParser):
    def error(self, message):
        raise _TrialError(message)


def build_parser(command: str | None = None, plugins: bool = True,
                 parser_class: type = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The parser of the command line: of every command, or of ``command`` only (the others'
    modules are not imported); the reader options of the plug-ins too, unless ``plugins=False``."""
    import importlib

    from .. import __version__

    parser = parser_class(
        prog="imfun", formatter_class=Formatter, epilog=EPILOG,
        description="Time-lapse microscopy frame sequences from the command line: any format, "
                    "read lazily, with physical units, in bounded memory.")
    parser.add_argument("--version", action="version", version=f"imfun {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    add_debug(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    with plugin_options(plugins):
        for name in COMMANDS if command not in COMMANDS else (command,):
            importlib.import_module(f".{name}", __name__).register(sub)
    for command_parser in sub.choices.values():  # -q also after the command (not reset by its parser)
        with contextlib.suppress(argparse.ArgumentError):  # a command that defines -q itself
            command_parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
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


def _command(argv: list[str]) -> str | None:
    """The command that ``argv`` names: its first word that is not an option (the options
    before the command take no values)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def parse(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed by the parser of its command alone, built from the built-in formats'
    reader options; only when that fails (an option it does not know, which a plug-in may
    take, or a usage error) or help is asked for, again with the plug-ins' options too: the
    messages and the help come from that full parser."""
    command = _command(argv)
    if not {"-h", "--help"} & set(argv):
        try:
            args, unknown = build_parser(command, False, _TrialParser).parse_known_args(argv)
        except _TrialError:
            unknown = True
        if not unknown:
            return args
    return build_parser(command).parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failure, 2 bad usage).

    Examples
    --------
    >>> main(["info", "--help"])  # doctest: +SKIP
    """
    from ..errors import ImfunError

    try:
        with warnings.catch_warnings():  # a broken plug-in, looked up for the options, says so here
            warnings.showwarning = show_warning
            args = parse(list(sys.argv[1:] if argv is None else argv))
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
