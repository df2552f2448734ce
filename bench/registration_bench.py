"""Motion-correction benchmark: imfun's registration against the hand-written baseline and peers.

Run ``python -m bench.registration_bench --help``.  The data is a synthetic
two-photon movie (``--frames`` x ``--size`` x ``--size`` uint16) moved by a known
sub-pixel rigid walk (within 8 px, with jumps) — and, for the non-rigid cases,
a smooth ±2 px warp — written once to ``bench-output/`` with its ground truth.
Each contender runs in a fresh process that reads the TIFF, estimates the
shifts and applies them to every frame (registration alone: nothing is
written); this process samples the child's anonymous memory (``RssAnon``).

Contenders (columns are skipped when a package is not importable in the
interpreter that runs them; ``--peer-python`` runs the peers in another
virtual environment, e.g. one with torch or jax):

- ``imfun``: ``open_seq(path).register(...)``, then every registered frame read;
- ``skimage``: per frame ``skimage.registration.phase_cross_correlation`` (upsample 20,
  defaults, and ``normalization=None``) against the mean of 20 spread frames, then
  ``scipy.ndimage.shift``: the hand-written baseline;
- ``suite2p``: ``suite2p.registration.register.compute_reference_and_register_frames``;
- ``jnormcorre``: its motion correction on the movie in memory.

RMSE of rigid shifts is taken after removing the median difference from the
truth (the template's own offset); for blocks, each block's median difference
(jnormcorre's patch shifts are taken at its patches' centres).

``--memory-gb 4`` measures instead what registering a file larger than the
budget costs: it writes a ~4 GiB moving movie (8000 x 512 x 512 uint16, 100
frames at a time) and registers it rigidly and piecewise into a TIFF through
``reg.to_tiff`` (uint16), sampling imfun's anonymous memory against the budget
+ 100 MiB; the movie and the outputs are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024**2


# -- the data --------------------------------------------------------------------------------------

def _data_paths(out: Path, stem: str) -> tuple[Path, Path]:
    """The movie and its ground truth in ``out`` (made if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    return out / f"{stem}.tif", out / f"{stem}.npz"


def _say_writing(tif: Path, nbytes: int, quiet: bool) -> None:
    if not quiet:
        print(f"writing {tif} ({nbytes / 2**30:.2f} GiB, with motion) ...", flush=True)


def ensure_data(out: Path, frames: int, size: int, warp: bool, quiet: bool = False) -> tuple[Path, Path]:
    """``(movie.tif, truth.npz)`` in ``out``, made when missing."""
    import tifffile

    from imfun.synthdata import Motion, move_movie, rigid_walk, smooth_warp, two_photon_movie

    tif, truth = _data_paths(out, f"moving_{'warp_' if warp else ''}{frames}x{size}x{size}")
    if tif.exists() and truth.exists():
        return tif, truth
    _say_writing(tif, frames * size * size * 2, quiet)
    n_cells = max(3, size * size // 1000)
    shifts = rigid_walk(frames, 8.0, seed=1)
    motion = Motion(shifts)
    if warp:
        motion = smooth_warp(frames, 2.0, wavelength=2.0 * size, seed=1, shifts=shifts)
    clean = two_photon_movie(frames, (size, size), n_cells=n_cells, seed=1, noise=False).movie
    tmp = tif.with_suffix(".tmp.tif")
    mm = tifffile.memmap(tmp, shape=(frames, size, size), dtype=np.uint16, imagej=True)
    still_mean = np.zeros((size, size))
    block = 100
    for a in range(0, frames, block):
        b = min(a + block, frames)
        sub = Motion(motion.shifts[a:b], None if motion.warp is None else motion.warp[a:b],
                     motion.wavelength, motion.phases)
        mm[a:b] = move_movie(clean[a:b], sub, noise_seed=1000 + a)
        # the motion-free movie with its own shot noise, for the crispness it would have
        still_mean += np.random.default_rng([1, a]).poisson(clean[a:b].astype(float)).sum(axis=0)
    mm.flush()
    del mm
    os.replace(tmp, tif)
    np.savez(truth, shifts=motion.shifts, warp=np.zeros((0, 2)) if motion.warp is None else motion.warp,
             wavelength=motion.wavelength, phases=np.asarray(motion.phases), still_mean=still_mean / frames)
    return tif, truth


def ensure_big_data(out: Path, gib: float, size: int, quiet: bool = False) -> tuple[Path, Path]:
    """``(movie.tif, truth.npz)``: about ``gib`` GiB of uint16 frames (whole thousands, or hundreds
    below 1000) moved by a sub-pixel rigid walk, written 100 frames at a time (a 500-frame
    motion-free movie repeated in time: the whole movie is never in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    import tifffile

    from imfun.synthdata import Motion, move_movie, rigid_walk, two_photon_movie

    frames = int(gib * 2**30 / (2 * size * size))
    frames = frames // 1000 * 1000 if frames >= 1000 else max(100, frames // 100 * 100)
    tif, truth = _data_paths(out, f"moving_big_{frames}x{size}x{size}")
    if tif.exists() and truth.exists():
        return tif, truth
    _say_writing(tif, frames * size * size * 2, quiet)
    period = 500
    clean = two_photon_movie(period, (size, size), n_cells=max(3, size * size // 1000), seed=2,
                             noise=False).movie
    shifts = rigid_walk(frames, 8.0, seed=2)
    tmp = tif.with_suffix(".tmp.tif")
    mm = tifffile.memmap(tmp, shape=(frames, size, size), dtype=np.uint16, imagej=True)

    def chunk(target: np.ndarray, a: int) -> None:  # scipy's splines release the GIL: two at once
        b = min(a + 100, frames)
        target[a:b] = move_movie(clean[np.arange(a, b) % period], Motion(shifts[a:b]), noise_seed=2000 + a)

    starts = range(0, frames, 100)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(chunk, [mm] * len(starts), starts))
    mm.flush()
    del mm
    os.replace(tmp, tif)
    np.savez(truth, shifts=shifts, warp=np.zeros((0, 2)), wavelength=256.0, phases=np.zeros(2),
             still_mean=np.zeros((size, size)))
    return tif, truth


def load_truth(path: Path):
    from imfun.synthdata import Motion

    z = np.load(path)
    warp = z["warp"] if len(z["warp"]) else None
    return Motion(z["shifts"], warp, float(z["wavelength"]), tuple(z["phases"])), z["still_mean"]


# -- contenders, run in a child process ---------------------------------------------------------------

def run_imfun(path: str, nonrigid: bool, block: int, budget: str | None, order: int) -> dict:
    from imfun.fseq import open_seq

    fs = open_seq(path)
    reg = fs.register(nonrigid=nonrigid, block_size=block, max_shift=12, order=order, budget=budget)
    t_est = time.perf_counter()
    total = np.zeros(fs.frame_shape, np.float64)
    for _, blk in reg.iter_blocks(budget=budget):  # every registered frame, computed
        total += blk.sum(axis=0)
    return {"t_estimated": t_est, "shifts": reg.shifts, "block_shifts": reg.block_shifts,
            "block_centers": reg.block_centers, "mean": total / len(reg)}


def run_imfun_tiff(path: str, nonrigid: bool, block: int, budget: str | None, order: int, out: Path) -> dict:
    """Register into a TIFF through the library's writer (uint16: the registered values, rounded)."""
    from imfun.fseq import open_seq

    fs = open_seq(path)
    reg = fs.register(nonrigid=nonrigid, block_size=block, max_shift=12, order=order, budget=budget)
    t_est = time.perf_counter()
    reg.to_tiff(out, dtype=np.uint16, rescale=(0, 65535), budget=budget, overwrite=True)
    return {"t_estimated": t_est, "shifts": reg.shifts, "block_shifts": reg.block_shifts,
            "block_centers": reg.block_centers}


def _spread_template(movie: np.ndarray, k: int = 20) -> np.ndarray:
    idx = np.unique(np.linspace(0, len(movie) - 1, k).astype(int))
    return movie[idx].astype(np.float32).mean(axis=0)


def run_skimage(path: str, normalization: str | None) -> dict:
    import tifffile
    from scipy import ndimage
    from skimage.registration import phase_cross_correlation

    movie = tifffile.imread(path)
    template = _spread_template(movie)
    shifts = np.empty((len(movie), 2))
    total = np.zeros(template.shape)
    kw = {} if normalization == "phase" else {"normalization": None}
    for k, frame in enumerate(movie):
        # the shift that registers the frame is minus its content's displacement
        s, _, _ = phase_cross_correlation(template, frame.astype(np.float32), upsample_factor=20, **kw)
        shifts[k] = -s
        total += ndimage.shift(frame.astype(np.float32), s, order=3, mode="nearest")
    return {"shifts": shifts, "mean": total / len(movie)}


def run_suite2p(path: str, nonrigid: bool, block: int) -> dict:
    """suite2p 1.x: ``registration_wrapper`` on the movie in memory (int16), on the CPU."""
    import tifffile
    import torch
    from suite2p.parameters import default_settings
    from suite2p.registration.nonrigid import make_blocks
    from suite2p.registration.register import registration_wrapper

    movie = tifffile.imread(path).astype(np.int16)
    settings = default_settings()["registration"]
    settings.update(nonrigid=nonrigid, block_size=[block, block], do_bidiphase=False, reg_tif=False)
    out = registration_wrapper(movie, settings=settings, device=torch.device("cpu"))
    # suite2p's offsets are the content's displacement (as ours), the block ones on top of the rigid
    res = {"shifts": np.column_stack([out["yoff"], out["xoff"]]).astype(float),
           "mean": np.asarray(out["meanImg"], float)}
    if nonrigid and out.get("yoff1") is not None:
        yblock, xblock, nblocks = make_blocks(movie.shape[1], movie.shape[2], (block, block))[:3]
        centres = np.array([[np.mean(y) - 0.5, np.mean(x) - 0.5]
                            for y, x in zip(yblock, xblock, strict=True)])
        n = len(movie)
        blocks = res["shifts"][:, None, :] + np.stack([out["yoff1"], out["xoff1"]], axis=-1)
        res["block_shifts"] = blocks.reshape(n, *nblocks, 2)
        res["block_centers"] = centres.reshape(*nblocks, 2)
    return res


def _jnormcorre_centres(shape: tuple[int, int], strides: tuple[int, int], overlaps: tuple[int, int]):
    """Centres ``(nby, nbx, 2)`` of jnormcorre's patches (``get_indices``: starts every stride, and
    one flush with the far edge)."""
    axes = []
    for n, st, ov in zip(shape, strides, overlaps, strict=True):
        starts = np.append(np.arange(0, n - ov - st, st), n - ov - st)
        axes.append(starts + (st + ov - 1) / 2)
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).astype(float)


def run_jnormcorre(path: str, nonrigid: bool, block: int) -> dict:
    """jnormcorre (NoRMCorre on JAX): template and shifts by ``motion_correct``, then every frame
    registered by its frame corrector, in batches (with each frame's rigid or patch shifts)."""
    import jnormcorre.motion_correction as mc
    import tifffile

    movie = tifffile.imread(path).astype(np.float32)
    # a patch is strides + overlaps pixels: blocks of `block` with a quarter of overlap
    strides, overlaps = (3 * block // 4, 3 * block // 4), (block // 4, block // 4)
    corrector = mc.MotionCorrect(movie, max_shifts=(12, 12), pw_rigid=nonrigid, strides=strides,
                                 overlaps=overlaps)
    fc, _ = corrector.motion_correct()
    total = np.zeros(movie.shape[1:])
    shifts = []
    for a in range(0, len(movie), 100):
        batch = movie[a:a + 100]
        if nonrigid:  # what register_frames(pw_rigid=True) runs, with the patch shifts it returns
            frames, s = fc.pw_registration_method(batch, fc.template, *fc.strides, *fc.overlaps,
                                                  fc.max_shifts, fc.upsample_factor_fft,
                                                  fc.max_deviation_rigid, fc.add_to_movie)
        else:  # the rigid function also gives each frame's shift: the move that registers it (-ours)
            frames, s = fc.rigid_registration_method(batch, fc.template, fc.max_shifts, fc.add_to_movie)
        total += np.asarray(frames).sum(axis=0)
        # both are minus the content's displacement (the patch field samples img(y + d, x + d'))
        shifts.append(-np.asarray(s, float).reshape(len(batch), -1, 2))
    res = {"mean": total / len(movie)}
    s = np.concatenate(shifts)
    if nonrigid:
        centres = _jnormcorre_centres(movie.shape[1:], strides, overlaps)
        res["block_shifts"] = s.reshape(len(movie), *centres.shape)
        res["block_centers"] = centres
    else:
        res["shifts"] = s[:, 0]
    return res


CONTENDERS = {
    "imfun": lambda a: run_imfun(a.data, False, a.block, a.budget, a.order),
    "imfun_nonrigid": lambda a: run_imfun(a.data, True, a.block, a.budget, a.order),
    "skimage": lambda a: run_skimage(a.data, "phase"),
    "skimage_nonorm": lambda a: run_skimage(a.data, None),
    "suite2p": lambda a: run_suite2p(a.data, False, a.block),
    "suite2p_nonrigid": lambda a: run_suite2p(a.data, True, a.block),
    "jnormcorre": lambda a: run_jnormcorre(a.data, False, a.block),
    "jnormcorre_nonrigid": lambda a: run_jnormcorre(a.data, True, a.block),
}
# the memory mode (--memory-gb): register a large file into a TIFF
WRITERS = {
    "imfun_tiff": lambda a: run_imfun_tiff(a.data, False, a.block, a.budget, a.order, _tiff_of(a.result)),
    "imfun_nonrigid_tiff": lambda a: run_imfun_tiff(a.data, True, a.block, a.budget, a.order,
                                                    _tiff_of(a.result)),
}
NEEDS = {"imfun": "imfun", "skimage": "skimage", "suite2p": "suite2p", "jnormcorre": "jnormcorre"}


def _tiff_of(result: str | Path) -> Path:
    """Where a writing contender puts its registered movie (beside its result)."""
    return Path(result).with_suffix(".tif")


def child(args) -> None:
    """Import, say READY, wait for GO, run, save the result, print the timing as JSON."""
    import importlib.util

    module = NEEDS[args.child.split("_")[0]]
    if importlib.util.find_spec(module) is None:
        print(json.dumps({"skipped": f"{module} is not importable"}), flush=True)
        return
    print("READY", flush=True)
    sys.stdin.readline()
    import resource

    def cpu():
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime

    t0, c0 = time.perf_counter(), cpu()
    res = {**CONTENDERS, **WRITERS}[args.child](args)
    t1, c1 = time.perf_counter(), cpu()
    t_est = res.pop("t_estimated", None)
    np.savez(args.result, **{k: v for k, v in res.items() if v is not None})
    # CPU seconds (all threads): what the run costs whatever else the machine is doing
    print(json.dumps({"seconds": t1 - t0, "cpu_seconds": c1 - c0,
                      "estimate_seconds": None if t_est is None else t_est - t0}), flush=True)


# -- the parent: run each contender in a fresh process and sample its memory ---------------------------

def run_child(name: str, data: Path, args, res_dir: Path) -> dict:
    if str(ROOT) not in sys.path:  # run as a script, the bench package is beside this file
        sys.path.insert(0, str(ROOT))
    from bench.memory import run_sampled

    res = res_dir / f"reg_{name}.npz"
    res.unlink(missing_ok=True)
    python = args.peer_python if (args.peer_python and not name.startswith("imfun")) else sys.executable
    cmd = [python, str(Path(__file__).resolve()), "--child", name, "--data", str(data), "--result", str(res),
           "--block", str(args.block), "--order", str(args.order)] + \
        (["--budget", args.budget] if args.budget else [])
    info = run_sampled(cmd)
    if "error" not in info:
        with np.load(res) as z:
            info.update({k: z[k] for k in z.files})
    return info


def block_rmse(info: dict, motion) -> float | None:
    from imfun.registration.metrics import shift_rmse

    if "block_shifts" not in info or "block_centers" not in info:
        return None
    c = info["block_centers"]
    frames = np.arange(len(info["block_shifts"]))
    return shift_rmse(info["block_shifts"], motion.displacement(frames, c[..., 0], c[..., 1]))


def measure(names, data: Path, truth: Path, args, res_dir: Path) -> dict:
    from imfun.registration.metrics import crispness, shift_rmse

    motion, still_mean = load_truth(truth)
    border = 10
    rows = {}
    for name in names:
        info = run_child(name, data, args, res_dir)
        if "seconds" in info:
            n = len(motion.shifts)
            info["fps"] = n / info["seconds"]
            info["cpu_ms"] = 1e3 * info["cpu_seconds"] / n
            info["rmse"] = shift_rmse(info["shifts"], motion.shifts) if "shifts" in info else float("nan")
            info["block_rmse"] = block_rmse(info, motion)
            info["crispness_ratio"] = crispness(info["mean"], border) / crispness(still_mean, border)
        rows[name] = info
        if not args.quiet:
            print(f"  {name}: {summary(info)}", flush=True)
    return rows


def measure_memory(args) -> dict:
    """Register a ~``--memory-gb`` GiB file into a TIFF, rigidly and piecewise; the data and the
    outputs are deleted afterwards (unless ``--keep-data``)."""
    from imfun import config
    from imfun.registration.metrics import shift_rmse

    data, truth = ensure_big_data(args.out, args.memory_gb, args.size, args.quiet)
    motion, _ = load_truth(truth)
    n = len(motion.shifts)
    limit = config.resolve_budget(args.budget) / MIB + 100
    case = f"register into a TIFF, {n}x{args.size}x{args.size} ({data.stat().st_size / 2**30:.2f} GiB)"
    if not args.quiet:
        print(case, flush=True)
    rows = {}
    try:
        for name in [c for c in WRITERS if not args.no_nonrigid or "nonrigid" not in c]:
            info = run_child(name, data, args, args.out)
            written = _tiff_of(args.out / f"reg_{name}.npz")
            if "seconds" in info:
                info.update(fps=n / info["seconds"], cpu_ms=1e3 * info["cpu_seconds"] / n,
                            rmse=shift_rmse(info["shifts"], motion.shifts), block_rmse=None,
                            crispness_ratio=float("nan"), written_gib=written.stat().st_size / 2**30)
            written.unlink(missing_ok=True)
            rows[name] = info
            if not args.quiet and "seconds" in info:
                verdict = "within" if info["peak_mib"] <= limit else "ABOVE"
                print(f"  {name}: {info['fps']:.1f} fps ({info['seconds']:.1f} s, "
                      f"{info['estimate_seconds']:.1f} s estimating), RMSE {info['rmse']:.3f} px, wrote "
                      f"{info['written_gib']:.2f} GiB, peak anonymous memory {info['peak_mib']:.0f} MiB "
                      f"({verdict} budget + 100 MiB = {limit:.0f} MiB)", flush=True)
            elif not args.quiet:
                print(f"  {name}: {summary(info)}", flush=True)
    finally:
        if not args.keep_data:
            data.unlink(missing_ok=True)
            truth.unlink(missing_ok=True)
    return {case: rows}


def summary(info: dict) -> str:
    if "skipped" in info:
        return f"skipped ({info['skipped']})"
    if "error" in info:
        return f"error: {info['error']}"
    blk = "" if info.get("block_rmse") is None else f", block RMSE {info['block_rmse']:.3f} px"
    est = "" if info.get("estimate_seconds") is None else f", {info['estimate_seconds']:.2f} s estimating"
    return (f"{info['fps']:.1f} fps ({info['seconds']:.2f} s{est}, {info['cpu_ms']:.1f} CPU-ms/frame), "
            f"RMSE {info['rmse']:.3f} px{blk}, "
            f"crispness {info['crispness_ratio']:.3f} of motion-free, peak {info['peak_mib']:.0f} MiB")


def table(results: dict) -> str:
    lines = ["| case | contender | fps | CPU-ms/frame | RMSE (px) | block RMSE (px) "
             "| crispness / motion-free | peak MiB |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for case, rows in results.items():
        for name, info in rows.items():
            if "fps" not in info:
                lines.append(f"| {case} | {name} | {summary(info)} | | | | | |")
                continue
            blk = "" if info.get("block_rmse") is None else f"{info['block_rmse']:.3f}"
            lines.append(f"| {case} | {name} | {info['fps']:.1f} | {info['cpu_ms']:.1f} | {info['rmse']:.3f} "
                         f"| {blk} | "
                         f"{info['crispness_ratio']:.3f} | {info['peak_mib']:.0f} |")
    return "\n".join(lines)


def ratios(rows: dict, ours: str) -> list[str]:
    out = []
    if "fps" not in rows.get(ours, {}):
        return out
    for name, info in rows.items():
        if name != ours and "fps" in info:
            out.append(f"{ours} / {name}: {rows[ours]['fps'] / info['fps']:.2f}x fps, "
                       f"{info['peak_mib'] / max(rows[ours]['peak_mib'], 1):.1f}x less memory")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.registration_bench", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=500, help="frames of the movie (default 500)")
    p.add_argument("--frames2", type=int, help="a second, longer run: marginal fps per extra frame")
    p.add_argument("--size", type=int, default=512, help="rows = columns (default 512)")
    p.add_argument("--block", type=int, default=128, help="block size of the non-rigid cases (default 128)")
    p.add_argument("--budget", help="imfun's memory budget (default 256 MiB)")
    p.add_argument("--order", type=int, choices=(1, 3), default=3, help="imfun's interpolation (default 3)")
    p.add_argument("--only", nargs="+", choices=sorted(CONTENDERS), help="run only these contenders")
    p.add_argument("--no-nonrigid", action="store_true", help="skip the piecewise-rigid cases")
    p.add_argument("--peer-python", help="interpreter for skimage/suite2p/jnormcorre (another venv)")
    p.add_argument("--out", type=Path, default=ROOT / "bench-output", help="data and results folder")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    p.add_argument("--quick", action="store_true", help="a small run: 120 frames of 128 x 128")
    p.add_argument("--memory-gb", type=float,
                   help="instead: write a moving movie of about this many GiB (e.g. 4) and register it "
                        "into a TIFF (rigid and piecewise), sampling imfun's anonymous memory")
    p.add_argument("--keep-data", action="store_true", help="keep the --memory-gb movie afterwards")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.quick:
        args.frames, args.size, args.block = 120, 128, 64
    results = measure_memory(args) if args.memory_gb else measure_all(args)
    print(table(results))
    if args.json:
        plain = {c: {n: {k: v for k, v in i.items() if not isinstance(v, np.ndarray)} for n, i in r.items()}
                 for c, r in results.items()}
        args.json.write_text(json.dumps(plain, indent=1, default=float))
    return 0


def measure_all(args) -> dict:
    """Every contender on the rigid and the non-rigid movie, of ``--frames`` (and ``--frames2``)."""
    results = {}
    for n in [args.frames] + ([args.frames2] if args.frames2 else []):
        for warp in [False] + ([] if args.no_nonrigid else [True]):
            names = [c for c in CONTENDERS if c.endswith("nonrigid") == warp]
            if not warp:
                names = [c for c in names if "nonrigid" not in c]
            if args.only:
                names = [c for c in names if c in args.only]
            if not names:
                continue
            data, truth = ensure_data(args.out, n, args.size, warp, args.quiet)
            case = f"{'non-rigid' if warp else 'rigid'} {n}x{args.size}x{args.size}"
            if not args.quiet:
                print(case, flush=True)
            results[case] = measure(names, data, truth, args, args.out)
            for line in ratios(results[case], "imfun_nonrigid" if warp else "imfun"):
                print("   ", line)
    if args.frames2:
        print(marginal(results, args))
    return results


def marginal(results: dict, args) -> str:
    """Frames per second per extra frame, from the short and the long run."""
    out = []
    for kind in ("rigid", "non-rigid"):
        a = results.get(f"{kind} {args.frames}x{args.size}x{args.size}", {})
        b = results.get(f"{kind} {args.frames2}x{args.size}x{args.size}", {})
        for name in a:
            if "seconds" in a[name] and "seconds" in b.get(name, {}):
                extra = args.frames2 - args.frames
                dt = b[name]["seconds"] - a[name]["seconds"]
                rate = extra / dt if dt > 0 else float("inf")
                # CPU time (all threads) per extra frame: what a frame costs, whatever the machine's load
                cpu = 1e3 * (b[name]["cpu_seconds"] - a[name]["cpu_seconds"]) / extra
                out.append(f"{kind} {name}: {rate:.1f} fps per extra frame ({cpu:.1f} CPU-ms each)")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
