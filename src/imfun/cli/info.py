"""``imfun info PATH...``: what a file holds, without reading its frames."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .common import Formatter, add_debug, open_input

EPILOG = """\
examples:
  imfun info movie.tif
  imfun info 'frames/*.png' recording.h5 --json
  imfun info data/*.tif --json > summary.json
"""


def register(sub) -> None:
    p = sub.add_parser("info", help="describe sequences: format, frames, shape, dtype, axes, size, time",
                       description="Describe frame sequences without reading their frames.",
                       epilog=EPILOG, formatter_class=Formatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs (quote globs)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per PATH")
    p.add_argument("--ch", type=int, metavar="N", help="colour channel of image/video files")
    add_debug(p)
    p.set_defaults(func=run)


def disk_size(paths: list[Path]) -> int:
    """Bytes on disk of the files (and folders, e.g. Zarr stores) a sequence reads."""
    total = 0
    for p in paths:
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.exists():
            total += p.stat().st_size
    return total


def human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def format_name(fs) -> str:
    from ..readers import registry

    for entry in registry.formats():
        if entry.seq_class is type(fs):
            return entry.name
    return type(fs).__name__


def describe(path: str, ch: int | None = None) -> dict:
    """The facts ``imfun info`` prints about one input (a JSON-able dict)."""
    fs = open_input(path, ch)
    with fs:
        paths = fs.source_paths()
        if not paths and os.path.exists(path):
            paths = [Path(path)]
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
    return "\n".join(lines)


def run(args) -> int:
    from .. import errors

    results, failed = [], False
    for path in args.paths:
        try:
            results.append(describe(path, args.ch))
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
