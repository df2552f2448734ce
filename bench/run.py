"""``make bench``: imfun against bare numpy on ``tifffile.memmap`` of the same TIFF file.

Run ``python -m bench.run --help``.  The data (a synthetic two-photon movie,
``--frames`` × ``--size`` × ``--size`` uint16) is written once to
``bench-output/`` and reused.  Each case and contender runs in a fresh
process: it opens its handle, then runs the method twice; the second (warm,
page cache filled) run is reported, and the peak anonymous memory
(``RssAnon``, sampled by this process every few ms over both runs, minus the
level after imports and opening) is taken as its memory.  ``--no-subprocess``
runs everything here instead (faster, no memory numbers).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import memory
from .cases import CASES, CASES_BY_KEY, IMPLS, Case, Data, close_handle, compare, digest, open_handle

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024**2
QUICK = (200, 256)


# -- the data ----------------------------------------------------------------------

def ensure_data(out: Path, frames: int, size: int, quiet: bool = False) -> Path:
    """The synthetic movie ``synth_<frames>x<size>x<size>.tif`` in ``out``, made if missing."""
    import tifffile

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"synth_{frames}x{size}x{size}.tif"
    if path.exists():
        try:
            with tifffile.TiffFile(path) as tf:
                if tf.series[0].shape == (frames, size, size) and tf.series[0].dtype == np.uint16:
                    return path
        except Exception:  # a broken file from an interrupted run: make it again
            pass
        path.unlink()
    from imfun.synthdata import two_photon_tiff

    if not quiet:
        print(f"writing {path} ({frames * size * size * 2 / MIB:.0f} MiB) ...", flush=True)
    tmp = path.with_suffix(".tmp.tif")
    sm = two_photon_tiff(tmp, frames, (size, size), progress_bar=not quiet)
    del sm
    os.replace(tmp, path)
    return path


def warm_page_cache(path: Path, *folders: Path) -> str:
    """Read the data twice: the second read's speed shows the page cache holds it (every
    contender reads from memory, not from the disk)."""
    names = [path, *(p for folder in folders for p in sorted(folder.iterdir()))]
    speed = 0.0
    for _ in range(2):
        t0, nbytes = time.perf_counter(), 0
        for name in names:
            with open(name, "rb", buffering=0) as fh:
                while chunk := fh.read(16 * MIB):
                    nbytes += len(chunk)
        speed = nbytes / max(time.perf_counter() - t0, 1e-9)
    verdict = "hot" if speed > 500 * MIB else "NOT hot: timings include disk reads"
    return f"{nbytes / MIB:.0f} MiB re-read at {speed / MIB:.0f} MiB/s ({verdict})"


# -- running one case with one contender ------------------------------------------------

@dataclass
class Outcome:
    times: list[float] = field(default_factory=list)
    peak: int | None = None          # bytes of anonymous memory above the baseline
    digest: dict | None = None
    error: str | None = None
    skipped: bool = False            # the contender declined (e.g. too large for memory)

    @property
    def extra(self) -> int | None:
        """Peak memory beyond the result's own size (what the method needed to get there)."""
        if self.peak is None or self.digest is None:
            return self.peak
        shape, dtype = tuple(int(x) for x in self.digest["shape"]), np.dtype(str(self.digest["dtype"]))
        return self.peak - int(np.prod(shape)) * dtype.itemsize

    pick: str = "last"  # "last" run, "min" of the warm runs (all but the first), or "median" (fresh mode)

    @property
    def time(self) -> float | None:
        if not self.times or self.error or self.skipped:
            return None
        if self.pick == "median":  # fresh mode: one cold-process run each
            return float(np.median(self.times))
        warm = self.times[1:] or self.times
        return min(warm) if self.pick == "min" else self.times[-1]


def _timed_runs(case: Case, impl: str, handle, data: Data, repeat: int):
    fn = case.impls[impl]
    times, result = [], None
    for _ in range(repeat):
        result = None  # free the previous run's result before the next
        t0 = time.perf_counter()
        result = fn(handle, data)
        times.append(time.perf_counter() - t0)
    return times, result


def run_in_process(case: Case, impl: str, data: Data, repeat: int) -> Outcome:
    handle = None
    try:
        handle = open_handle(impl, case, data)
        times, result = _timed_runs(case, impl, handle, data, repeat)
        if result is None:
            return Outcome(times, skipped=True)
        return Outcome(times, digest=digest(result))
    except Exception as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}")
    finally:
        if handle is not None:
            close_handle(handle)


def run_fresh(case: Case, impls: list[str], data_args: dict, runs: int, res_dir: Path,
              timeout: float | None) -> dict[str, Outcome]:
    """Fresh-process mode: ``runs`` rounds of new interpreters, one per contender in turn (so
    that a slow spell of the machine hits every side alike), each timing ``open`` + the task
    once (imports excluded); the median is reported, as a user meets the library in a script."""
    outcomes: dict[str, list[Outcome]] = {impl: [] for impl in impls}
    for _ in range(runs):
        for impl in impls:
            if not any(o.error or o.skipped for o in outcomes[impl]):
                outcomes[impl].append(run_in_subprocess(case, impl, data_args, 1, res_dir, timeout,
                                                        fresh=True))
    return {impl: _median_outcome(runs) for impl, runs in outcomes.items()}


def _median_outcome(outcomes: list[Outcome]) -> Outcome:
    bad = next((o for o in outcomes if o.error or o.skipped), None)
    if bad is not None:
        return bad
    out = Outcome([o.times[0] for o in outcomes], digest=outcomes[-1].digest, pick="median")
    peaks = [o.peak for o in outcomes if o.peak is not None]
    out.peak = max(peaks) if peaks else None
    return out


def run_in_subprocess(case: Case, impl: str, data_args: dict, repeat: int, res_dir: Path,
                      timeout: float | None, fresh: bool = False) -> Outcome:
    """Run in a fresh interpreter and sample its anonymous memory from here."""
    res = res_dir / f"{case.key}_{impl}.npz"
    res.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "bench.run", "--child", f"{case.key}:{impl}",
           "--data-json", json.dumps(data_args), "--repeat", str(repeat), "--result", str(res)]
    if fresh:
        cmd.append("--fresh")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    lines: list[str] = []
    try:
        ready = proc.stdout.readline().strip()
        if ready != "READY":
            rest = proc.stdout.read()
            proc.wait(timeout=30)
            if ready.startswith("{"):
                return Outcome(error=json.loads(ready).get("error", ready))
            return Outcome(error=_child_error(ready + "\n" + rest))
        base = memory.rss_anon(proc.pid)
        peak = base
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        timing_done = threading.Event()

        def reader():
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("TIMED"):
                    timing_done.set()
            timing_done.set()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not timing_done.is_set():
            m = memory.rss_anon(proc.pid)
            if m is not None and peak is not None:
                peak = max(peak, m)
            if deadline is not None and time.monotonic() > deadline:
                proc.kill()
                return Outcome(error=f"timed out after {timeout:g} s")
            time.sleep(0.003)
        # one last look while the child still holds its result, then let it go on
        m = memory.rss_anon(proc.pid)
        if m is not None and peak is not None:
            peak = max(peak, m)
        with contextlib.suppress(OSError):
            proc.stdin.write("ACK\n")
            proc.stdin.flush()
        proc.wait()
        t.join()
    finally:
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = _child_error("".join(lines))
    info = next((json.loads(line) for line in reversed(lines) if line.startswith("{")), None)
    if info is None:
        return Outcome(error=result)
    if info.get("error"):
        return Outcome(error=info["error"])
    out = Outcome(info["times"], skipped=info.get("skipped", False))
    out.peak = None if base is None or peak is None else peak - base
    if res.exists():
        with np.load(res, allow_pickle=False) as z:
            out.digest = {k: z[k] for k in z.files}
        res.unlink()
    return out


def _child_error(text: str) -> str:
    text = text.strip().splitlines()
    return text[-1] if text else "the child process failed without a message"


#: what each contender imports before the clock starts in fresh mode (imports are excluded)
PRELOAD = {"ours": ("imfun.fseq", "tifffile", "PIL.PngImagePlugin"), "numpy": ("tifffile", "imageio.v3"),
           "pims": ("pims",),
           "dask": ("dask_image.imread", "dask.array")}


def child_main(spec: str, data_args: dict, repeat: int, result_path: str, fresh: bool = False) -> int:
    """The child side of :func:`run_in_subprocess` (also reports its own errors).  With ``fresh``
    the handle is opened after the start signal, inside the one timed run."""
    key, impl = spec.split(":")
    case = CASES_BY_KEY[key]
    handle = None
    try:
        data = Data.make(**data_args)
        if fresh:
            for module in PRELOAD.get(impl, ()):
                importlib.import_module(module)
        else:
            handle = open_handle(impl, case, data)
    except Exception as exc:
        print(json.dumps({"error": f"open: {type(exc).__name__}: {exc}"}), flush=True)
        return 0
    print("READY", flush=True)
    sys.stdin.readline()
    try:
        if fresh:
            t0 = time.perf_counter()
            handle = open_handle(impl, case, data)
            result = case.impls[impl](handle, data)
            times = [time.perf_counter() - t0]
        else:
            times, result = _timed_runs(case, impl, handle, data, repeat)
    except Exception as exc:
        print("TIMED", flush=True)
        sys.stdin.readline()
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 0
    print("TIMED", flush=True)
    sys.stdin.readline()  # the parent takes a last memory sample while the result is alive
    d = digest(result)
    if d is not None:
        np.savez(result_path, **d)
    close_handle(handle)
    print(json.dumps({"times": times, "skipped": d is None}), flush=True)
    return 0


# -- the table ---------------------------------------------------------------------

def _fmt_t(o: Outcome | None) -> str:
    if o is None:
        return ""
    if o.error:
        return "err"
    if o.skipped:
        return "skip"
    return f"{o.time:.3f}"


def _fmt_mib(o: Outcome | None) -> str:
    return "" if o is None or o.peak is None or o.error else f"{o.peak / MIB:.0f}"


def _ratio(a: Outcome | None, b: Outcome | None) -> float | None:
    return a.time / b.time if a and b and a.time and b.time else None


def build_rows(results: dict[str, dict[str, Outcome]], budget: int, fresh: bool = False) -> list[dict]:
    rows = []
    for case in CASES:
        if case.key not in results:
            continue
        r = results[case.key]
        ours, ref, pims = r.get("ours"), r.get("numpy"), r.get("pims")
        ratio, vs_pims = _ratio(ours, ref), _ratio(ours, pims)
        target = case.fresh_target if fresh else case.target
        target_text = f"<= {case.fresh_target:g}" if fresh else case.target_text
        check = compare(ref.digest, ours.digest, case.rtol) if ours and ref else "-"
        alt = r.get("alt")
        alt_check = compare(alt.digest, ours.digest, case.rtol) if ours and alt and alt.digest else "-"
        fails = []
        if ratio is None or (target is not None and ratio > target):
            fails.append("time")
        if fresh and vs_pims is not None and vs_pims > 1:
            fails.append("behind PIMS")
        if (case.exact and check != "exact") or check.startswith("DIFF"):
            fails.append("result")
        if case.exact and alt_check not in ("-", "exact"):
            fails.append("result")
        if ours and ours.extra is not None and ours.extra > budget + 100 * MIB:
            fails.append("memory")
        rows.append({
            "case": case.key, "what": case.title,
            "ours": ours.time if ours else None, "numpy": ref.time if ref else None,
            "ratio": ratio, "target": target_text, "vs_pims": vs_pims,
            "touch": r["touch"].time if "touch" in r else None,
            "ok": "ok" if not fails else "NO:" + ",".join(dict.fromkeys(fails)),
            "ours_mib": ours.peak / MIB if ours and ours.peak is not None else None,
            "ours_extra_mib": ours.extra / MIB if ours and ours.extra is not None else None,
            "numpy_mib": ref.peak / MIB if ref and ref.peak is not None else None,
            "check": check,
            "alt": alt.time if alt else None, "alt_text": case.alt_text, "alt_check": alt_check,
            "pims": r["pims"].time if "pims" in r else None,
            "dask": r["dask"].time if "dask" in r else None,
            "errors": {k: o.error for k, o in r.items() if o.error},
            "_cells": {
                "ours": _fmt_t(ours), "numpy": _fmt_t(ref), "alt": _fmt_t(alt),
                "pims": _fmt_t(r.get("pims")), "dask": _fmt_t(r.get("dask")),
                "touch": _fmt_t(r.get("touch")),
                "vs_pims": f"{vs_pims:.2f}" if vs_pims is not None else "",
                "ours_mib": _fmt_mib(ours), "numpy_mib": _fmt_mib(ref),
                "ours_extra": "" if not ours or ours.extra is None or ours.error
                else f"{max(ours.extra, 0) / MIB:.0f}"},
        })
    return rows


def format_table(rows: list[dict]) -> str:
    head = ["case", "what", "ours s", "numpy s", "ratio", "target", "ok", "ours MiB", "-result",
            "numpy MiB", "vs numpy", "alt numpy s (what, vs ours)", "pims s", "ours/pims", "dask s",
            "touch s"]
    body = []
    for row in rows:
        c = row["_cells"]
        alt = f"{c['alt']} ({row['alt_text']}, {row['alt_check']})" if c["alt"] else ""
        body.append([row["case"], row["what"], c["ours"], c["numpy"],
                     f"{row['ratio']:.2f}" if row["ratio"] is not None else "-", row["target"],
                     row["ok"], c["ours_mib"], c["ours_extra"], c["numpy_mib"], row["check"], alt,
                     c["pims"], c["vs_pims"], c["dask"], c["touch"]])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    right = {2, 3, 4, 7, 8, 9, 12, 13, 14, 15}

    def line(cells):
        return "  ".join(str(x).rjust(w) if i in right else str(x).ljust(w)
                         for i, (x, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(b) for b in body]
    return "\n".join(out)


NOTES = """\
Times are seconds of the second (warm) run of two in the same process: the page cache holds the file.
ratio = ours / numpy.  numpy works on tifffile.memmap of the same file.  "vs numpy": our result
compared with numpy's (exact = bit-equal; close = within float rounding).  MiB: peak anonymous
memory (RssAnon, file-backed memmap pages excluded) above the level after imports and opening,
sampled every ~3 ms from outside the process; "-result" is that peak minus the size of the result
itself, which must stay within the budget + 100 MiB.
T4: numpy = two passes over chunks of 100 frames; alt = mm.std(axis=0) (float64 copies of all data).
T7: numpy = exact percentiles from np.bincount over chunks of 100 frames; alt = np.percentile(mm);
    dask = da.percentile (approximate).
T8: the 200 indices are sorted.
T6: numpy = a loop over each ROI's bounding box; alt = mm[:, mask].mean(1) per ROI.
T9: both sides compute in float32 (numpy on the whole array, ours in time-contiguous tiles); T9c on
    a 256x256 crop.  touch = writing a fresh float32 array of the result's size: the first-touch
    page faults every side pays for its result (they vary from run to run on a VM).
T10/T10b: the mean frame of a glob of single-frame files; numpy = tifffile.imread / imageio imread
    file by file, the glob listed in the open.
PIMS: pims.open(tif or glob), frames read one by one.  dask-image: imread(tif, nframes=100), dask
reductions.  ours/pims > 1 in fresh mode is a failure ("behind PIMS")."""


# -- T10 (image globs) and T11 (writers), each in its own module ---------------------------

def run_extra(name: str, fn, **kwargs):
    """Run T10 or T11; a failure is reported and does not cost the other results."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"{name} failed: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})")
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- main --------------------------------------------------------------------------

def _picked(args) -> str:
    return "the fastest warm run (all but the first)" if args.report == "min" else "the last (warm) run"


def _load() -> str:
    """The machine's load: other work on it slows the timings."""
    try:
        return f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    except OSError:
        return f"{os.cpu_count()} CPUs"


def _case(key: str) -> Case:
    """The case called ``key``, in any case of letters ('t9c' is T9c)."""
    by_upper = {k.upper(): c for k, c in CASES_BY_KEY.items()}
    if key.upper() not in by_upper:
        raise SystemExit(f"no bench case {key!r}; the cases are {', '.join(CASES_BY_KEY)}")
    return by_upper[key.upper()]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=2000, help="frames in the data (default 2000)")
    p.add_argument("--size", type=int, default=512, help="rows and columns of a frame (default 512)")
    p.add_argument("--quick", action="store_true",
                   help=f"a smoke run on {QUICK[0]}x{QUICK[1]}x{QUICK[1]} (unless --frames/--size are given)")
    p.add_argument("--out", default="bench-output", help="folder for the data and results")
    p.add_argument("--cases", default="", help="comma-separated cases to run, e.g. T2,T7 (default all)")
    p.add_argument("--impls", default=",".join(IMPLS), help=f"contenders (default {','.join(IMPLS)})")
    p.add_argument("--repeat", type=int, default=2, help="runs per case; the last is reported (default 2)")
    p.add_argument("--report", choices=("last", "min"), default="last",
                   help="report the last run (default) or the fastest warm run (all but the first; "
                        "steadier on a busy machine, with --repeat 3 or more)")
    p.add_argument("--budget", default=None, help="imfun memory budget, e.g. '256 MiB' (default: config)")
    p.add_argument("--no-subprocess", action="store_true",
                   help="run everything in this process (faster; no memory numbers)")
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per case and contender")
    p.add_argument("--skip-extra", action="store_true",
                   help="do not run T10, T11 and T12 (glob_bench, export_bench, scanimage_bench)")
    p.add_argument("--fresh", action="store_true",
                   help="fresh-process mode: each case and contender timed as open + task in a new "
                        "interpreter (imports excluded), median of --repeat runs (default 3)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--data-json", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        given = set(a.split("=")[0] for a in (argv or []))
        if "--frames" not in given:
            args.frames = QUICK[0]
        if "--size" not in given:
            args.size = QUICK[1]
    return args


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.child:
        return child_main(args.child, json.loads(args.data_json), args.repeat, args.result, args.fresh)
    if args.fresh and "--repeat" not in " ".join(argv):
        args.repeat = 5

    import tifffile

    from imfun import config

    if args.budget:
        config.set_budget(args.budget)
    budget = config.get_budget()
    out = Path(args.out)
    path = ensure_data(out, args.frames, args.size)
    with tifffile.TiffFile(path) as tf:
        shape, dtype = tf.series[0].shape, tf.series[0].dtype
    from .glob_bench import make_pngs, make_tiffs

    n_files = min(300, args.frames)
    data_args = {"path": str(path.resolve()), "shape": list(shape), "dtype": str(dtype), "budget": budget,
                 "tif_glob": make_tiffs(out.resolve(), str(path), n_files),
                 "png_glob": make_pngs(out.resolve(), n_files, args.size)}
    data = Data.make(**data_args)
    compileall.compile_dir(ROOT / "src" / "imfun", quiet=1)  # as installed: children import bytecode
    cache = warm_page_cache(path, Path(data.tif_glob).parent, Path(data.png_glob).parent)
    cases = [_case(k.strip()) for k in args.cases.split(",") if k.strip()] or CASES
    wanted = [i.strip() for i in args.impls.split(",") if i.strip()]
    have = {"pims": importlib.util.find_spec("pims") is not None,
            "dask": importlib.util.find_spec("dask_image") is not None}
    subproc = not args.no_subprocess and memory.available()

    fs = open_handle("ours", CASES[0], data)
    opened_as = f"{type(fs).__name__} ({fs.reader.source})"
    close_handle(fs)
    print(f"data: {path} — {shape[0]} frames of {shape[1]}x{shape[2]} {dtype} "
          f"({data.nbytes / MIB:.0f} MiB); ours opened as {opened_as}; budget {budget / MIB:.0f} MiB; "
          f"T10/T10b: {n_files} single-frame TIFF / PNG files; page cache: {cache}")
    if args.fresh:
        print(f"mode: fresh processes — open + task timed once in each of {args.repeat} new interpreters "
              f"per case and contender (imports excluded), the median reported; {_load()}", flush=True)
    else:
        print(f"mode: {'a fresh process per case and contender' if subproc else 'in this process'}; "
              f"{args.repeat} runs each, {_picked(args)} reported; {_load()}", flush=True)

    res_dir = out / "results-tmp"
    res_dir.mkdir(exist_ok=True)
    results: dict[str, dict[str, Outcome]] = {}
    for case in cases:
        impls = [i for i in IMPLS if i in case.impls and (i in wanted or i == "touch") and have.get(i, True)]
        if args.fresh:
            t0 = time.perf_counter()
            results[case.key] = run_fresh(case, impls, data_args, args.repeat, res_dir, args.timeout)
            print(f"  {case.key} {case.title:<24} " + "  ".join(
                f"{impl} {o.error or _fmt_t(o)}" for impl, o in results[case.key].items()) +
                f" ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
            continue
        results[case.key] = {}
        for impl in impls:
            print(f"  {case.key} {case.title:<24} {impl:<6}", end=" ", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            if subproc:
                o = run_in_subprocess(case, impl, data_args, args.repeat, res_dir, args.timeout)
            else:
                o = run_in_process(case, impl, data, args.repeat)
            o.pick = args.report
            results[case.key][impl] = o
            print(f"{o.error or _fmt_t(o)} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        res_dir.rmdir()

    rows = build_rows(results, budget, args.fresh)
    print(f"\n{_load()} at the end")
    print(format_table(rows))
    print()
    if args.fresh:
        from . import startup

        report_startup = startup.measure(str(path), args.repeat, pims=have["pims"])
        print(startup.report(report_startup) + "\n")
        print(NOTES.replace("seconds of the second (warm) run of two in the same process",
                            f"the median of {args.repeat} fresh processes, each timing open + task once "
                            "(imports excluded)"))
    else:
        print(NOTES if args.report == "last" else NOTES.replace(
            "the second (warm) run of two", f"the fastest of runs 2-{args.repeat}"))
    for row in rows:
        for impl, err in row["errors"].items():
            print(f"error {row['case']} {impl}: {err}")
    report = {"data": str(path), "shape": list(shape), "dtype": str(dtype), "budget": budget,
              "opened_as": opened_as, "subprocess": subproc, "load_end": _load(),
              "repeat": args.repeat, "report": args.report,
              "rows": [{k: v for k, v in r.items() if k != "_cells"} for r in rows],
              **({"startup_ms": report_startup} if args.fresh else {})}
    (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    if not args.skip_extra:
        from .export_bench import t11
        from .glob_bench import t10

        print()
        report["T10"] = run_extra("T10", t10, out=out, n_files=30 if args.quick else 300,
                                  size=128 if args.quick else 512, repeats=1 if args.quick else 3)
        print("\nT11 (export: our writers against the libraries writing the array directly):")
        report["T11"] = run_extra("T11", t11, frames=args.frames, size=args.size, out=out,
                                  **({"repeats": 1} if args.quick else {}))
        from .scanimage_bench import t12

        print()
        report["T12"] = run_extra("T12", t12, out=out, pages=200 if args.quick else 20000,
                                  size=64 if args.quick else 512)
        (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"\nresults: {out / 'results.json'}")
    return report


if __name__ == "__main__":
    r = main()
    sys.exit(0 if isinstance(r, dict) or not r else int(r))
