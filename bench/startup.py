"""What a fresh process pays before its first task: imports and the first open.

Each figure is timed once in a new interpreter, the contenders taking turns for
``rounds`` rounds, and the median is reported:

* ``import numpy``, ``import imfun.fseq`` (numpy included), ``import tifffile``
  and ``import pims`` — the whole import, from an interpreter that has imported
  nothing of them;
* the first open of the benchmark TIFF in a process that has imported
  everything already: ``imfun.fseq.open_seq`` against ``tifffile.memmap``.

``python -m bench.startup [--rounds N] [file.tif]``; ``make bench`` prints it with
the fresh-process table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

#: name -> (what is imported before the clock starts, the timed statement)
IMPORTS = {
    "numpy": ("", "import numpy"),
    "imfun.fseq": ("", "import imfun.fseq"),
    "tifffile": ("import numpy", "import tifffile"),
    "pims": ("import numpy", "import pims"),
}
OPENS = {
    "open_seq": ("import numpy, tifffile, imfun.fseq", "imfun.fseq.open_seq(PATH)"),
    "tifffile.memmap": ("import numpy, tifffile, imfun.fseq", "tifffile.memmap(PATH, mode='r')"),
}
IMPORT_TARGET_MS = 80.0


def _timed(setup: str, statement: str, path: str = "") -> float | None:
    """Seconds that ``statement`` takes in a new interpreter after ``setup`` (None if it fails)."""
    code = (f"PATH = {path!r}\n{setup}\nimport time\nt0 = time.perf_counter()\n{statement}\n"
            "print(time.perf_counter() - t0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return float(done.stdout.split()[-1]) if done.returncode == 0 and done.stdout.strip() else None


def measure(path: str, rounds: int = 7, pims: bool = True) -> dict[str, float | None]:
    """Median milliseconds of each import and first open, contenders taking turns."""
    cases = {**{f"import {k}": v for k, v in IMPORTS.items() if pims or k != "pims"},
             **({f"first {k}": v for k, v in OPENS.items()} if path else {})}
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (setup, statement) in cases.items():
            t = _timed(setup, statement, path)
            if t is not None:
                runs[name].append(1e3 * t)
    return {name: statistics.median(v) if v else None for name, v in runs.items()}


def report(ms: dict[str, float | None]) -> str:
    """The lines that :func:`measure`'s medians print as."""
    def fmt(name):
        v = ms.get(name)
        return "n/a" if v is None else f"{v:.1f} ms"

    lines = [f"imports (fresh interpreters, median): numpy {fmt('import numpy')}, imfun.fseq "
             f"{fmt('import imfun.fseq')} (numpy included; target <= {IMPORT_TARGET_MS:g} ms), "
             f"tifffile {fmt('import tifffile')}, pims {fmt('import pims')}"]
    ours, numpy = ms.get("import imfun.fseq"), ms.get("import numpy")
    if ours is not None and numpy is not None:
        lines.append(f"  imfun adds {ours - numpy:.1f} ms to numpy's own import")
    if "first open_seq" in ms:
        lines.append(f"first open of the TIFF (everything imported): open_seq {fmt('first open_seq')}, "
                     f"tifffile.memmap {fmt('first tifffile.memmap')}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    p.add_argument("path", nargs="?", default="", help="a TIFF to open (default: imports only)")
    p.add_argument("--rounds", type=int, default=7, help="fresh interpreters per figure (default 7)")
    args = p.parse_args(argv)
    import importlib.util

    ms = measure(args.path, args.rounds, pims=importlib.util.find_spec("pims") is not None)
    print(report(ms))
    print(json.dumps(ms))
    return ms


if __name__ == "__main__":
    main()
