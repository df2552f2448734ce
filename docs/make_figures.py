"""Make the figures of docs/guide.md from a synthetic two-photon movie (imfun.synthdata).

    python docs/make_figures.py                 # projections and traces
    xvfb-run -a python docs/make_figures.py     # also the napari screenshot (needs a display)

The PNGs go to docs/img/ (or --out); they are committed, so the guide shows them as they are.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from imfun.analysis.baseline import dfof_traces
from imfun.synthdata import two_photon_movie

OUT = Path(__file__).resolve().parent / "img"
SEED, N_FRAMES, SHAPE, N_CELLS = 4, 600, (128, 128), 12
TITLES = {"mean": "mean_frame()", "max": "max_project()", "std": "std(axis=0)",
          "correlation": "correlation_image()"}


def movie(n_frames: int = N_FRAMES):
    """The guide's recording: 12 cells, 20 Hz, 0.8 µm pixels."""
    return two_photon_movie(n_frames=n_frames, shape=SHAPE, n_cells=N_CELLS, seed=SEED, spike_rate=0.3)


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)
    return path


def projections(sm, out: Path) -> Path:
    """Mean, max and std projections (and the correlation image when imfun has it)."""
    fs = sm.to_fseq()
    images = {"mean": fs.mean_frame(), "max": fs.max_project(), "std": fs.std(axis=0)}
    if hasattr(fs, "correlation_image"):
        images["correlation"] = fs.correlation_image()
    fig = Figure(figsize=(2.6 * len(images), 2.9), layout="constrained")
    dx = fs.meta["axes"][1].scale
    extent = [0, SHAPE[1] * dx, SHAPE[0] * dx, 0]
    for ax, (name, image) in zip(fig.subplots(1, len(images)), images.items(), strict=True):
        lo, hi = np.percentile(image, [1, 99.5])
        ax.imshow(image, cmap="gray", vmin=lo, vmax=hi, extent=extent)
        ax.set_title(f"fs.{TITLES[name]}", fontsize=9)
        ax.set_xlabel("µm", fontsize=8)
        ax.tick_params(labelsize=7)
    return _save(fig, out / "projections.png")


def traces(sm, out: Path) -> Path:
    """Mean and ΔF/F traces of the true cell footprints, in one pass over the movie."""
    fs = sm.to_fseq()
    f = fs.labels_reduce(sm.labels)
    dff = dfof_traces(f, dt=fs.meta["axes"][0].scale, baseline_seconds=10, percentile=10)
    t = fs.frame_idx()
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for k in range(min(6, len(f))):
        top.plot(t, f[k], lw=0.8)
        bottom.plot(t, dff[k] + 0.8 * k, lw=0.8)
    top.set_ylabel("fs.labels_reduce(labels)")
    bottom.set_ylabel("ΔF/F (offset)")
    bottom.set_xlabel("time (s)")
    return _save(fig, out / "traces.png")


def napari_screenshot(sm, out: Path) -> Path | None:
    """The viewer with the movie, two drawn ROIs and the ROI-traces dock (needs a display)."""
    if not os.environ.get("DISPLAY"):
        print("no display: skipping the napari screenshot (run under xvfb-run -a)")
        return None
    import napari

    from imfun.napari._reader import layer_data
    from imfun.napari._widgets import TracesWidget

    viewer = napari.Viewer(show=True, title="imfun in napari")
    try:
        data, kwargs, _ = layer_data(sm.to_fseq(), name="two-photon (synthetic)")
        viewer.add_image(data, **kwargs)
        widget = TracesWidget(viewer)
        viewer.window.add_dock_widget(widget, name="ROI traces (imfun)", area="right")
        shapes = widget.new_roi_layer()
        centres = _cell_centres(sm.labels)[:3]
        for (r, c), colour in zip(centres, ("yellow", "cyan", "magenta"), strict=False):
            shapes.add_ellipses(np.array([[r, c], [6.0, 6.0]]), edge_color=colour, edge_width=1.5,
                                face_color=[0, 0, 0, 0])
        viewer.window._qt_window.resize(1300, 700)
        _wait(widget)
        viewer.reset_view()
        image = viewer.screenshot(canvas_only=False, flash=False)
    finally:
        viewer.close()
    from PIL import Image

    path = out / "napari.png"
    Image.fromarray(image[..., :3]).save(path, optimize=True)
    return path


def _cell_centres(labels: np.ndarray) -> list[tuple[float, float]]:
    from scipy import ndimage

    values = np.unique(labels[labels > 0])
    return [tuple(map(float, c)) for c in ndimage.center_of_mass(labels > 0, labels, values)]


def _wait(widget, timeout: float = 60.0) -> None:
    """Run the Qt event loop until the traces are computed."""
    import time

    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + timeout
    while time.monotonic() < end and (widget.worker is not None or widget._dirty or widget.result is None):
        QApplication.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the PNGs (default docs/img)")
    parser.add_argument("--frames", type=int, default=N_FRAMES, help="frames of the synthetic movie")
    parser.add_argument("--no-napari", action="store_true", help="skip the viewer screenshot")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sm = movie(args.frames)
    made = [projections(sm, args.out), traces(sm, args.out)]
    if not args.no_napari:
        shot = napari_screenshot(sm, args.out)
        made += [shot] if shot else []
    for path in made:
        print(path)
    return made


if __name__ == "__main__":
    main()
