"""``make demo``: a tour of imfun on a synthetic two-photon movie.

It makes a movie with known cells and spike times, writes it to an ImageJ
TIFF, opens it with :func:`imfun.fseq.open_seq`, prints a summary, computes
projections and one trace per cell (one pass over the data), finds the spikes
of each cell from its ΔF/F and scores them against the true spike times, and saves
two figures.  Run ``python -m imfun.demo --help``.

This is a program, not the library: it prints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import synthdata
from .engine.progress import progress
from .lib import DFoF

TOLERANCE_FRAMES = 3  # a detected event matches a spike within this many frames


def detect_events(dff: np.ndarray, dt: float, tau: float, threshold: float = 5.0,
                  min_height: float = 0.05) -> list[np.ndarray]:
    """Spike times (s) estimated from each row of a ΔF/F array.

    A transient decays as ``exp(-t / tau)``, so ``x[t] - exp(-dt / tau) x[t-1]``
    (the innovation) is flat except where a spike adds calcium; summed over
    two frames (the rise) it has one peak per spike even when transients
    overlap, which peaks of the ΔF/F itself do not.  Peaks
    (:func:`scipy.signal.find_peaks`) must exceed ``threshold`` robust noise
    SDs (and ``min_height``).

    Examples
    --------
    >>> t = np.arange(100) * 0.05
    >>> x = np.where(t >= 2.02, np.exp(-np.clip(t - 2.02, 0, None) / 0.5), 0.0)  # a spike at 2.02 s
    >>> found = detect_events(x[None], dt=0.05, tau=0.5)[0]
    >>> len(found), bool(abs(found[0] - 2.02) <= 0.05)
    (1, True)
    """
    from scipy.signal import find_peaks

    g = np.exp(-dt / tau)
    events = []
    for trace in np.atleast_2d(dff):
        innov = np.r_[0.0, trace[1:] - g * trace[:-1]]
        innov[1:] += innov[:-1].copy()  # the sum over two frames
        sd = 1.4826 * np.median(np.abs(innov - np.median(innov)))
        # a 0 at the end lets a spike in the last frame count as a peak
        peaks, _ = find_peaks(np.r_[innov, 0.0], height=max(threshold * sd, min_height), distance=3)
        events.append((peaks - 1) * dt)  # the spike came in the frame before the jump
    return events


def match_events(true: np.ndarray, found: np.ndarray, tol: float) -> tuple[int, int, int]:
    """Greedy one-to-one matching in time: ``(hits, misses, false positives)``.

    Examples
    --------
    >>> match_events(np.array([1.0, 2.0]), np.array([1.05, 5.0]), tol=0.15)
    (1, 1, 1)
    """
    true, found = np.sort(true), np.sort(found)
    used = np.zeros(len(found), bool)
    hits = 0
    for t in true:
        if len(found) == 0:
            break
        dist = np.where(used, np.inf, np.abs(found - t))
        j = int(np.argmin(dist))
        if dist[j] <= tol:
            used[j] = True
            hits += 1
    return hits, len(true) - hits, int((~used).sum())


def _open(path: Path, sm: synthdata.SyntheticMovie):
    """``open_seq`` (the TIFF reader); a memory map of the file if no reader claims TIFF yet."""
    from .errors import UnsupportedFormatError
    from .fseq import FSeq_arr, open_seq

    try:
        return open_seq(path), "open_seq"
    except UnsupportedFormatError:
        import tifffile

        return FSeq_arr(tifffile.memmap(path, mode="r"), meta=dict(sm.meta)), "FSeq_arr(tifffile.memmap)"


def _figures(out: Path, sm, mean, mx, sd, times, dff, events) -> tuple[Path, Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    extent = [0, mean.shape[1] * sm.dx, mean.shape[0] * sm.dx, 0]
    fig = Figure(figsize=(13, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    for ax, img, title in zip(axes, (mean, mx, sd), ("mean", "max", "std"), strict=True):
        lo, hi = np.percentile(img, [0.5, 99.5])
        im = ax.imshow(img, cmap="gray", vmin=lo, vmax=hi, extent=extent)
        # pixel centres in µm, so the outlines sit on the cells of the image
        ax.contour((np.arange(img.shape[1]) + 0.5) * sm.dx, (np.arange(img.shape[0]) + 0.5) * sm.dx,
                   sm.labels > 0, levels=[0.5], colors="tab:orange", linewidths=0.6)
        ax.set_title(f"{title} projection")
        ax.set_xlabel("x, µm")
        fig.colorbar(im, ax=ax, shrink=0.8)
    axes[0].set_ylabel("y, µm")
    for k, m in enumerate(sm.cell_masks):
        rows, cols = np.nonzero(m)
        axes[0].text(cols.mean() * sm.dx, rows.mean() * sm.dx, str(k + 1), color="yellow",
                     fontsize=7, ha="center", va="center")
    projections = out / "projections.png"
    fig.savefig(projections, dpi=110)

    n = len(dff)
    step = max(0.5, float(np.percentile(dff.max(1), 75)))
    fig = Figure(figsize=(12, 1.0 + 0.55 * n), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for k in range(n):
        y0 = (n - 1 - k) * step
        ax.plot(times, dff[k] + y0, lw=0.8, color="black")
        spikes = sm.spike_times[k]
        ax.plot(spikes, np.full(len(spikes), y0 - 0.12 * step), "|", color="tab:red", ms=7,
                label="true spikes" if k == 0 else None)
        ev = events[k]
        ax.plot(ev, np.full(len(ev), y0 - 0.3 * step), "^", color="tab:blue", ms=4,
                label="detected spikes" if k == 0 else None)
    ax.set_yticks([(n - 1 - k) * step for k in range(n)], [f"cell {k + 1}" for k in range(n)])
    ax.set_xlabel("time, s")
    ax.set_title("ΔF/F per cell (running 10th-percentile baseline)")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_xlim(times[0], times[-1])
    # an amplitude scale bar in ΔF/F units (the rows are offset, so the y axis names the cells)
    from .plotting import nice_length

    bar = nice_length(step)
    x_bar = times[-1] + 0.01 * (times[-1] - times[0])
    ax.plot([x_bar, x_bar], [0, bar], color="black", lw=2, clip_on=False)
    ax.text(x_bar, bar / 2, f" {bar:g} ΔF/F", va="center", ha="left", fontsize=8, clip_on=False)
    traces = out / "traces.png"
    fig.savefig(traces, dpi=110)
    return projections, traces


def _cli_tour(path: Path, out: Path, labels: np.ndarray) -> list[Path]:
    """The same movie through the command line, if the CLI's tour is installed."""
    try:
        from .cli.demo import run_cli_tour
    except ImportError:
        return []
    print("\nthe same from the command line (the true cells as ROIs):")
    return run_cli_tour(path, out, labels=labels)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m imfun.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="demo-output", help="folder for the outputs (default demo-output)")
    p.add_argument("--frames", type=int, default=300, help="frames in the movie (default 300)")
    p.add_argument("--size", type=int, default=256, help="rows and columns of a frame (default 256)")
    p.add_argument("--cells", type=int, default=20, help="number of cells (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-cli", action="store_true",
                   help="skip the tour of the command line (imfun info/project/traces/dfof/movie/convert)")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    """Run the demo; return its numbers and output paths (for tests)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    bar = progress(6, "demo", unit="step")

    # 1. a movie with ground truth, written to an ImageJ TIFF
    sm = synthdata.two_photon_movie(n_frames=args.frames, shape=(args.size, args.size),
                                    n_cells=args.cells, seed=args.seed, drift=0.05, baseline=20.0)
    path = out / "synthetic_2p.tif"
    synthdata.write_tiff(path, sm.movie, sm.dt, sm.dx)
    bar.update()

    # 2. open it as a frame sequence
    fs, how = _open(path, sm)
    with fs:
        scale_t, unit_t = fs.meta["axes"][0]
        print(f"wrote {path} and opened it with {how}:")
        print(f"  frames: {len(fs)}, frame shape: {fs.frame_shape}, dtype: {fs.dtype}")
        print(f"  axes: {fs.meta['axes'].describe()}  (duration {len(fs) * scale_t:g} {unit_t})")
        print(f"  {sm.n_cells} cells, {sum(len(s) for s in sm.spike_times)} true spikes")
        bar.update()

        # 3. projections: each one pass over the data, in blocks
        mean, mx, sd = fs.mean_frame(), fs.max_project(), fs.std(axis=0)
        bar.update()

        # 4. one trace per cell, all in one pass
        traces = fs.multi_mask_reduce(list(sm.cell_masks))
        bar.update()
        times = fs.frame_idx()

        # 4b. the cells found without the ground truth, scored against it
        from .analysis.cells import demo_cells

        found = demo_cells(sm, fs)

    # 5. ΔF/F on a running baseline (robust to the slow drift), peaks, scores
    from scipy.ndimage import percentile_filter

    window = max(3, round(10.0 / sm.dt) | 1)  # about 10 s
    f0 = percentile_filter(traces, 10, size=(1, window), mode="reflect")
    dff = DFoF(traces, baseline=f0, axis=1)
    events = detect_events(dff, sm.dt, tau=0.5)  # the decay of two_photon_movie's transients
    tol = TOLERANCE_FRAMES * sm.dt
    scores = np.array([match_events(s, e, tol) for s, e in zip(sm.spike_times, events, strict=True)])
    hits, misses, false_pos = (int(x) for x in scores.sum(0))
    recall = hits / max(hits + misses, 1)
    precision = hits / max(hits + false_pos, 1)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(dff, sm.true_traces, strict=True) if b.std() > 0]
    bar.update()

    # 6. figures
    projections, traces_png = _figures(out, sm, mean, mx, sd, times, dff, events)
    bar.update()
    bar.close()

    print(f"\nspike detection (peaks of the deconvolved ΔF/F vs true spikes, "
          f"within ±{TOLERANCE_FRAMES} frames = {tol:g} s):")
    print(f"  hits {hits}, misses {misses}, false positives {false_pos}")
    print(f"  precision {precision:.2f}, recall {recall:.2f}")
    print(f"  median correlation of measured and true ΔF/F: {np.median(corr):.3f}")
    print("\ncell detection (fs.detect_cells, centroids within half a diameter of a true cell):")
    print(f"  found {found['n_found']} of {found['n_true']} cells: precision {found['precision']:.2f}, "
          f"recall {found['recall']:.2f}, F1 {found['f1']:.2f} ({found['seconds']:.1f} s)")
    from .registration.demo import demo_registration

    moved = demo_registration(out)  # a moving movie, registered: before/after
    print("\nmotion correction (fs.register on a synthetic movie moving up to 6 px, line phase 1.5 px):")
    print(f"  crispness of the mean image: moving {moved['crispness_before']:.0f}, registered "
          f"{moved['crispness_after']:.0f}, motion-free {moved['crispness_still']:.0f}; shift error "
          f"{moved['shift_rmse']:.3f} px RMS; line phase found {moved['bidi_phase']:.2f} px")
    print(f"  trace at a cell border: {100 * moved['border_error_before']:.1f} % off before, "
          f"{100 * moved['border_error_after']:.1f} % after")
    cli_outputs = [] if args.no_cli else _cli_tour(path, out / "cli", sm.labels)
    print(f"\noutputs in {out.resolve()}:")
    for p in (path, projections, traces_png, Path(moved["figure"]), *cli_outputs):
        print(f"  {p.relative_to(out)}")
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return {"tiff": path, "projections": projections, "traces": traces_png, "cli": cli_outputs,
            "hits": hits,
            "misses": misses, "false_positives": false_pos, "precision": precision, "recall": recall,
            "opened_with": how, "axes": list(fs.meta["axes"]), "correlation": float(np.median(corr)),
            "cells_f1": found["f1"], "cells_precision": found["precision"], "cells_recall": found["recall"],
            "registration": moved}


if __name__ == "__main__":
    main()
