"""``imfun info PATH...``: what a file holds, without reading its frames."""

from __future__ import annotations

import json
import os

from .common import Formatter, add_debug, add_reader_options, cli_words, open_input, reader_options

EPILOG = """\
examples:
  imfun info movie.tif
  imfun info 'frames/*.png' recording.h5 --json
  imfun info data/*.tif --json > summary.json
  imfun info cells.nd2               # lists its series, planes and channels, then use --z 0 ...
  imfun info cells.nd2 --z max --ch 1
"""


def register(sub) -> None:
    p = sub.add_parser("info", help="describe sequences: format, frames, shape, dtype, axes, size, time",
                       description="Describe frame sequences without reading their frames.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs (quote globs)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per PATH")
    add_reader_options(p)
    add_debug(p)
    p.set_defaults(func=run)


def disk_size(paths: list[str | os.PathLike]) -> int:
    """Bytes on disk of the files (and folders, e.g. Zarr stores) a sequence reads."""
    total = 0
    for p in paths:
        if os.path.isdir(p):
            total += sum(os.path.getsize(os.path.join(folder, f))
                         for folder, _, files in os.walk(p) for f in files)
        elif os.path.exists(p):
            total += os.path.getsize(p)
    return total


def human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def format_name(fs) -> str:
    from ..readers import registry

    for entry in registry.formats(plugins=False):  # a plug-in that opened fs is loaded already
        if entry.seq_class is type(fs):
            return entry.name
    return type(fs).__name__


def contents_text(listing: list[dict]) -> list[str]:
    """Lines describing what a file holds, one per series or data set."""
    lines = ["  holds:"]
    for item in listing:
        what = " ".join(f"{k}={v}" for k, v in item.get("sizes", {}).items()) or \
            f"{item.get('axes', '')} {' x '.join(map(str, item.get('shape', [])))}".strip()
        names = f", channels {', '.join(item['channel_names'])}" if item.get("channel_names") else ""
        flag = "--" + item["option"].replace("=", " ", 1)
        lines.append(f"    {flag}: {what} {item.get('dtype', '')}{names}".rstrip())
    return lines


def contents(path: str) -> list[dict] | None:
    """What a file holds (series, data sets, planes, channels), when its format can list it."""
    from ..readers import registry

    source = registry.resolve(path)
    entry = registry.find_format(source)
    if entry.contents is None:
        return None
    return entry.list_contents(source.names[0])


def describe(path: str, options: dict | None = None) -> dict:
    """The facts ``imfun info`` prints about one input (a JSON-able dict).

    When the file holds several series, data sets or planes, ``'contents'`` lists them; when it
    cannot be opened without a choice (which plane, which data set ...), ``'needs'`` says what
    to choose and the rest describes the file without opening its frames.
    """
    from .. import errors

    listing = contents(path)
    try:
        fs = open_input(path, options)
    except (errors.InvalidArgumentError, errors.DatasetError, errors.ChannelError) as exc:
        if not listing:
            raise
        return {"path": str(path), "format": _format_of(path), "contents": listing,
                "needs": cli_words(str(exc))}
    info = _describe_open(path, fs)
    if listing and (len(listing) > 1 or _has_planes(listing)):
        info["contents"] = listing
    return info


def _format_of(path: str) -> str:
    from ..readers import registry

    return registry.find_format(registry.resolve(path)).name


def _has_planes(listing: list[dict]) -> bool:
    return any(item.get("sizes", {}).get("Z", 1) > 1 or "Z" in str(item.get("axes", "")).upper()
               for item in listing)


def _describe_open(path: str, fs) -> dict:
    with fs:
        paths = list(getattr(fs.reader, "paths", ()))  # strings: no pathlib for a TIFF's info
        if not paths and os.path.exists(path):
            paths = [path]
        axes = fs.meta["axes"]
        info = {
            "path": str(path),
            "format": format_name(fs),
            "class": type(fs).__name__,
            "frames": len(fs),
            "frame_shape": list(fs.frame_shape),
            "dtype": str(fs.dtype),
            "axes": {name: {"scale": ax.scale, "unit": ax.unit}
                     for name, ax in zip("tyx", axes, strict=True)},
            "files": len(paths),
            "size_bytes": disk_size(paths),
            "data_bytes": len(fs) * int(fs.dtype.itemsize) * int(_prod(fs.frame_shape)),
        }
        unit = axes[0].unit
        if unit or "frame_times" in fs.meta:
            times = fs.frame_idx()
            info["time"] = {"unit": unit or "s", "first": float(times[0]), "last": float(times[-1]),
                            "duration": float(times[-1] - times[0] + (axes[0].scale if len(times) else 0))}
    return info


def _prod(shape) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


def text(info: dict) -> str:
    if "needs" in info:  # described without opening: what it holds and what to choose
        return "\n".join([f"{info['path']}", f"  format:      {info['format']}",
                          *contents_text(info["contents"]), f"  to open it: {info['needs']}"])
    ax = info["axes"]
    axes = ", ".join(f"{k}: {v['scale']:g} {v['unit']}".rstrip() for k, v in ax.items())
    lines = [
        f"{info['path']}",
        f"  format:      {info['format']} ({info['class']})",
        f"  frames:      {info['frames']}",
        f"  frame shape: {' x '.join(map(str, info['frame_shape']))}",
        f"  dtype:       {info['dtype']}",
        f"  axes:        {axes}",
        f"  on disk:     {human_size(info['size_bytes'])} in {info['files']} file(s)"
        f" ({human_size(info['data_bytes'])} of pixels)",
    ]
    t = info.get("time")
    if t:
        lines.append(f"  time:        {t['first']:g} .. {t['last']:g} {t['unit']} "
                     f"(duration {t['duration']:g} {t['unit']})")
    else:
        lines.append("  time:        frame interval not stated (set it with --dt in other commands)")
    if info.get("contents"):
        lines += contents_text(info["contents"])
    return "\n".join(lines)


def run(args) -> int:
    from .. import errors

    results, failed = [], False
    for path in args.paths:
        try:
            results.append(describe(path, reader_options(args)))
        except (errors.ImfunError, OSError) as exc:
            if getattr(args, "debug", False):
                raise
            failed = True
            from . import report_error

            report_error(exc, path)
    if not results:  # every input failed: the errors are on stderr, nothing goes to stdout
        return 1
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        print("\n".join(text(r) for r in results))
    return 1 if failed else 0
