"""Dock widgets: *Summary images* (projections as new layers), *ROI traces* (live traces
of Shapes or Labels ROIs drawn on an image), *Register* (motion correction) and *Detect
cells* (a labels layer of cells).

All compute through imfun's block engine in a worker thread
(``napari.qt.threading``), so the viewer stays responsive; layers and plots are
updated in the GUI thread when a result arrives.  Any image layer works: the frames are
read through ``layer.data`` (lazy for layers that imfun's reader opened), with the
axes of :func:`imfun.napari._writer.layer_axes`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import create_worker
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import InvalidArgumentError
from ._writer import as_sequence

# projections of the summary widget: label -> method of FrameSequence (and its arguments);
# those of later issues show only when the sequence has the method
PROJECTIONS: dict[str, tuple[str, dict]] = {
    "mean": ("mean_frame", {}),
    "max": ("max_project", {}),
    "std": ("std", {"axis": 0}),
    "correlation": ("correlation_image", {}),
}


def layer_sequence(layer: Image):
    """A lazy :class:`~imfun.fseq.FSeq_arr` over an image layer's data (level 0 of a
    multiscale layer), with its physical axes."""
    data = layer.data[0] if layer.multiscale else layer.data
    meta = {"metadata": layer.metadata, "scale": list(layer.scale), "rgb": layer.rgb,
            "units": [str(u) for u in layer.units]}
    return as_sequence(data, meta)


def _layers_of(viewer, kinds: tuple[type, ...]) -> list:
    return [layer for layer in viewer.layers if isinstance(layer, kinds)]


class _LayerChoice(QComboBox):
    """A combo box of the viewer's layers of some kinds, kept in step with the layer list."""

    def __init__(self, viewer, kinds: tuple[type, ...]):
        super().__init__()
        self._viewer, self._kinds = viewer, kinds
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        current = self.currentText()
        self.blockSignals(True)
        self.clear()
        self.addItems([layer.name for layer in _layers_of(self._viewer, self._kinds)])
        if current:
            self.setCurrentText(current)
        self.blockSignals(False)
        self.currentTextChanged.emit(self.currentText())

    def layer(self):
        """The chosen layer, or None."""
        name = self.currentText()
        return next((layer for layer in self._viewer.layers if layer.name == name), None)


class SummaryWidget(QWidget):
    """Mean, max and std images of an image layer (and the correlation image when the
    sequence has ``correlation_image``), added as new layers with the image's scale."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.image = _LayerChoice(napari_viewer, (Image,))
        self.checks = {name: QCheckBox(name) for name in PROJECTIONS}
        self.run_button = QPushButton("Compute")
        self.bar = QProgressBar()
        self.status = QLabel("")
        self.worker = None
        self.worker_threads: list[str] = []  # names of the threads that computed (for tests)
        form = QFormLayout()
        form.addRow("image", self.image)
        boxes = QHBoxLayout()
        for name, box in self.checks.items():
            box.setChecked(name != "correlation")
            boxes.addWidget(box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(boxes)
        layout.addWidget(self.run_button)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        self.run_button.clicked.connect(self.compute)

    def chosen(self, fs) -> list[str]:
        """The ticked projections that this sequence has."""
        return [name for name, box in self.checks.items()
                if box.isChecked() and hasattr(fs, PROJECTIONS[name][0])]

    def compute(self):
        """Start computing the chosen projections of the chosen image in a worker thread;
        returns the worker (its ``finished`` signal fires when all layers are added)."""
        layer = self.image.layer()
        if layer is None:
            self.status.setText("add an image layer first")
            return None
        fs = layer_sequence(layer)
        names = self.chosen(fs)
        self.bar.setRange(0, len(names))
        self.bar.setValue(0)
        self.run_button.setEnabled(False)
        self.status.setText(f"computing {', '.join(names)} of {layer.name} ...")
        self.worker = create_worker(self._projections, fs, names, _progress={"total": len(names)})
        self.worker.yielded.connect(lambda item: self._add(layer, *item))
        self.worker.finished.connect(lambda: self.run_button.setEnabled(True))
        self.worker.start()
        return self.worker

    def _projections(self, fs, names: list[str]):
        """Yield ``(name, image)``, or ``(name, exception)`` for a projection that failed."""
        for name in names:
            method, kwargs = PROJECTIONS[name]
            self.worker_threads.append(threading.current_thread().name)
            try:
                yield name, np.asarray(getattr(fs, method)(**kwargs))
            except Exception as exc:  # shown in the dock: the viewer goes on
                yield name, exc

    def _add(self, layer, name: str, image) -> None:
        self.bar.setValue(self.bar.value() + 1)
        if isinstance(image, Exception):
            self.status.setText(f"{name} of {layer.name} failed: {image}")
            return
        self.viewer.add_image(image, name=f"{name} of {layer.name}", scale=layer.scale[-2:],
                              translate=layer.translate[-2:], units=layer.units[-2:],
                              metadata={"imfun_projection": name})
        self.status.setText(f"added {name} of {layer.name}")


# -- Register and Detect cells (their methods come with the registration and cells issues) ----


class _TaskWidget(QWidget):
    """An image chooser, a form of options and a button that runs ``method`` of the image's
    sequence in a worker thread, then hands the result to :meth:`add` in the GUI thread."""

    method = ""
    button_text = ""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.image = _LayerChoice(napari_viewer, (Image,))
        self.run_button = QPushButton(self.button_text)
        self.status = QLabel("")
        self.worker = None
        self.worker_threads: list[str] = []
        self.form = QFormLayout()
        self.form.addRow("image", self.image)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.status)
        self.run_button.clicked.connect(self.run)

    def options(self) -> dict:
        """Keyword arguments of the method, from the form."""
        return {}

    def run(self):
        """Start the work on the chosen image; returns the worker (or None, with a note)."""
        layer = self.image.layer()
        if layer is None:
            self.status.setText("add an image layer first")
            return None
        fs = layer_sequence(layer)
        if not hasattr(fs, self.method):
            self.status.setText(f"this imfun has no {self.method}(); update imfun")
            return None
        self.run_button.setEnabled(False)
        self.status.setText(f"{self.method} on {layer.name} ...")
        self.worker = create_worker(self._work, fs, self.options())
        self.worker.returned.connect(lambda out: self._done(layer, out))
        self.worker.finished.connect(lambda: self.run_button.setEnabled(True))
        self.worker.start()
        return self.worker

    def _work(self, fs, options: dict):
        self.worker_threads.append(threading.current_thread().name)
        try:
            return getattr(fs, self.method)(**options)
        except Exception as exc:  # shown in the dock: the viewer goes on
            return exc

    def _done(self, layer, out) -> None:
        if isinstance(out, Exception):
            self.status.setText(f"{self.method} failed: {out}")
            return
        self.status.setText(self.add(layer, out))

    def add(self, layer, result) -> str:
        """Add the result to the viewer; return a line for the status."""
        raise NotImplementedError


class RegisterWidget(_TaskWidget):
    """Motion correction (``fs.register``): the registered movie as a new, lazy image layer."""

    method = "register"
    button_text = "Register"

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.nonrigid = QCheckBox("piecewise rigid")
        self.form.addRow("", self.nonrigid)

    def options(self) -> dict:
        return {"nonrigid": self.nonrigid.isChecked()}

    def add(self, layer, reg) -> str:
        from ._reader import layer_data

        data, kwargs, _ = layer_data(reg, name=f"registered {layer.name}")
        self.viewer.add_image(data, **kwargs)
        shifts = np.abs(np.asarray(reg.shifts))
        return f"registered {layer.name}: largest shift {shifts.max():.1f} px"


class DetectCellsWidget(_TaskWidget):
    """Cell detection (``fs.detect_cells``): the cells as a new labels layer, ready for the
    ROI traces widget."""

    method = "detect_cells"
    button_text = "Detect cells"

    def __init__(self, napari_viewer):
        super().__init__(napari_viewer)
        self.diameter = QDoubleSpinBox(minimum=0.1, maximum=1000.0, value=8.0, suffix=" µm")
        self.form.addRow("cell diameter", self.diameter)

    def options(self) -> dict:
        return {"diameter": self.diameter.value()}

    def add(self, layer, cells) -> str:
        self.viewer.add_labels(np.asarray(cells.labels), name=f"cells of {layer.name}",
                               scale=layer.scale[-2:], translate=layer.translate[-2:],
                               units=layer.units[-2:], opacity=0.5)
        return f"{cells.n} cell(s) in {layer.name}"


# -- ROI traces -----------------------------------------------------------------------------


def shape_masks(shapes: Shapes, image: Image, frame_shape: tuple[int, int]) -> np.ndarray:
    """``(n_shapes, rows, cols)`` masks of a Shapes layer's shapes on an image's pixels
    (in the plane: the last two coordinates; world coordinates mapped through both
    layers' scale and translation)."""
    s_scale, s_shift = np.asarray(shapes.scale[-2:]), np.asarray(shapes.translate[-2:])
    i_scale, i_shift = np.asarray(image.scale[-2:]), np.asarray(image.translate[-2:])
    pixels = [(np.asarray(v)[:, -2:] * s_scale + s_shift - i_shift) / i_scale for v in shapes.data]
    if not pixels:
        return np.zeros((0, *frame_shape), bool)
    flat = Shapes(pixels, shape_type=list(shapes.shape_type))
    return np.asarray(flat.to_masks(mask_shape=frame_shape), bool)


def roi_masks(rois, image: Image, frame_shape: tuple[int, int]):
    """Masks, names and RGBA colours of the ROIs of a Shapes or Labels layer; ROIs that
    cover no pixel of the image are left out."""
    if isinstance(rois, Shapes):
        masks = shape_masks(rois, image, frame_shape)
        colours = [tuple(c) for c in np.asarray(rois.edge_color)]
        names = [f"ROI {i + 1}" for i in range(len(masks))]
    else:
        lab = np.asarray(rois.data)
        if lab.shape[-2:] != tuple(frame_shape):
            raise InvalidArgumentError(
                f"the labels layer is {lab.shape[-2:]} but the frames are {tuple(frame_shape)}; "
                "draw labels on a layer of the image's size (button 'new labels layer')")
        lab = lab.reshape(-1, *frame_shape)[0]
        values = np.unique(lab[lab > 0])
        masks = lab[None] == values[:, None, None]
        colours = [tuple(rois.get_color(int(v))) for v in values]
        names = [str(v) for v in values]
    keep = [i for i in range(len(masks)) if masks[i].any()]
    return masks[keep], [names[i] for i in keep], [colours[i] for i in keep]


def compute_traces(fs, masks: np.ndarray, mode: str, baseline_seconds: float,
                   percentile: float) -> np.ndarray:
    """``(n_rois, n_frames)``: the mean in each mask per frame (one pass), or its ΔF/F on a
    running baseline of ``baseline_seconds`` (:func:`imfun.analysis.baseline.dfof_traces`)."""
    if len(masks) == 0:
        return np.zeros((0, len(fs)))
    traces = fs.multi_mask_reduce(list(masks))
    if mode == "mean":
        return traces
    from ..analysis.baseline import dfof_traces

    dt, unit = fs.meta["axes"][0]
    if unit != "s":
        raise InvalidArgumentError("ΔF/F with a baseline in seconds needs the frame interval: open a "
                                   "file that states it, or give the image layer a time scale in s")
    return dfof_traces(traces, dt=dt, baseline_seconds=baseline_seconds, percentile=percentile)


class TracesWidget(QWidget):
    """Live traces of ROIs (a Shapes or Labels layer) on an image layer, one line per ROI
    in its colour: the mean, or ΔF/F on a running-percentile baseline in seconds.

    The traces are recomputed in a worker thread whenever an ROI is added, moved,
    reshaped, painted or removed; :meth:`export_csv` and :meth:`export_roiset` save them.
    """

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.image = _LayerChoice(napari_viewer, (Image,))
        self.rois = _LayerChoice(napari_viewer, (Shapes, Labels))
        self.mode = QComboBox()
        self.mode.addItems(["mean", "ΔF/F"])
        self.baseline = QDoubleSpinBox(minimum=0.01, maximum=1e5, value=10.0, suffix=" s")
        self.percentile = QDoubleSpinBox(minimum=0.0, maximum=100.0, value=10.0)
        self.figure = Figure(figsize=(5, 3), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(240)
        self.axes = self.figure.add_subplot()
        self.status = QLabel("draw ROIs on a Shapes or Labels layer")
        self.result: tuple[np.ndarray, np.ndarray, list[str], list] | None = None
        self.masks = np.zeros((0, 0, 0), bool)
        self.worker = None
        self.worker_threads: list[str] = []
        self._dirty = False
        self._watched = None
        self._time_unit = ""
        self._build()
        self.rois.currentTextChanged.connect(self._watch)
        self.image.currentTextChanged.connect(self.update_traces)
        for w in (self.mode.currentTextChanged, self.baseline.valueChanged, self.percentile.valueChanged):
            w.connect(self.update_traces)
        self._watch()

    def _build(self) -> None:
        form = QFormLayout()
        form.addRow("image", self.image)
        form.addRow("ROIs", self.rois)
        form.addRow("trace", self.mode)
        form.addRow("baseline", self.baseline)
        form.addRow("percentile", self.percentile)
        buttons = QHBoxLayout()
        for text, slot in (("new ROI layer", self.new_roi_layer), ("export CSV…", self._ask_csv),
                           ("export RoiSet…", self._ask_roiset)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.canvas, stretch=1)
        layout.addWidget(self.status)

    # -- ROIs ----------------------------------------------------------------------------
    def new_roi_layer(self) -> Shapes | None:
        """Add an empty 2-D Shapes layer with the image's pixel size, to draw ROIs on."""
        image = self.image.layer()
        if image is None:
            self.status.setText("add an image layer first")
            return None
        layer = self.viewer.add_shapes(ndim=2, name=f"ROIs on {image.name}", scale=image.scale[-2:],
                                       translate=image.translate[-2:], units=image.units[-2:],
                                       edge_width=1, face_color=[0, 0, 0, 0], edge_color="yellow")
        layer.mode = "add_rectangle"
        self.rois.setCurrentText(layer.name)
        return layer

    def _watch(self, *_) -> None:
        layer = self.rois.layer()
        if layer is self._watched:
            return
        self._unwatch()
        if layer is not None:
            events = [layer.events.data] + ([layer.events.paint] if isinstance(layer, Labels) else [])
            events += [layer.events.edge_color] if isinstance(layer, Shapes) else []
            for event in events:
                event.connect(self.update_traces)
            self._watched = layer
        self.update_traces()

    def _unwatch(self) -> None:
        if self._watched is not None:
            for name in ("data", "paint", "edge_color"):
                if hasattr(self._watched.events, name):
                    getattr(self._watched.events, name).disconnect(self.update_traces)
            self._watched = None

    # -- computing -----------------------------------------------------------------------
    def update_traces(self, *_):
        """Recompute the traces in a worker thread (once more after the running one, if
        something changed meanwhile); returns the worker or None."""
        if self.worker is not None:
            self._dirty = True
            return None
        image, rois = self.image.layer(), self.rois.layer()
        if image is None or rois is None:
            self._plot(None)
            return None
        try:
            fs = layer_sequence(image)
            masks, names, colours = roi_masks(rois, image, fs.frame_shape[:2])
        except Exception as exc:  # a message in the dock, never a traceback in the viewer
            self.status.setText(f"cannot compute traces: {exc}")
            return None
        mode, baseline, pct = self.mode.currentText(), self.baseline.value(), self.percentile.value()
        self.status.setText(f"computing {len(names)} trace(s) ...")
        self.worker = create_worker(self._compute, fs, masks, mode, baseline, pct)
        self.worker.returned.connect(lambda out: self._done(fs, masks, names, colours, out))
        self.worker.finished.connect(self._finished)
        self.worker.start()
        return self.worker

    def _compute(self, fs, masks, mode, baseline, pct) -> np.ndarray | Exception:
        """The traces, or the exception that stopped them (shown in the dock)."""
        self.worker_threads.append(threading.current_thread().name)
        try:
            return compute_traces(fs, masks, "mean" if mode == "mean" else "dfof", baseline, pct)
        except Exception as exc:
            return exc

    def _done(self, fs, masks, names, colours, traces) -> None:
        if isinstance(traces, Exception):
            self.status.setText(f"cannot compute traces: {traces}")
            return
        self.masks = masks
        self.result = (np.asarray(fs.frame_idx(), float), traces, names, colours)
        self._time_unit = fs.meta["axes"][0].unit
        self._plot(self.result)
        self.status.setText(f"{len(names)} ROI(s)")

    def _finished(self) -> None:
        self.worker = None
        if self._dirty:
            self._dirty = False
            self.update_traces()

    def _plot(self, result) -> None:
        ax = self.axes
        ax.clear()
        if result is not None:
            times, traces, names, colours = result
            for trace, name, colour in zip(traces, names, colours, strict=True):
                ax.plot(times, trace, color=colour[:3], lw=1, label=name)
            ax.set_xlabel(f"time ({self._time_unit})" if self._time_unit else "frame")
            ax.set_ylabel("ΔF/F" if self.mode.currentText() != "mean" else "mean")
            if 0 < len(names) <= 10:
                ax.legend(fontsize=7, loc="upper right")
        self.canvas.draw_idle()

    # -- export ----------------------------------------------------------------------------
    def export_csv(self, path: str | Path) -> Path:
        """The current traces as a CSV: a time (or frame) column, then one column per ROI."""
        from ..cli.traces import write_csv

        if self.result is None:
            raise InvalidArgumentError("no traces yet: draw ROIs on an image first")
        times, traces, names, _ = self.result
        index = {"time_s": times} if self._time_unit == "s" else {"frame": np.arange(len(times))}
        return write_csv(path, index, traces, names, overwrite=True)

    def export_roiset(self, path: str | Path) -> Path:
        """The current ROIs as an ImageJ RoiSet.zip (same pixels as the traces use)."""
        import roifile

        from ..export.atomic import atomic_target
        from ._writer import _imagej_roi

        if self.result is None or not len(self.masks):
            raise InvalidArgumentError("no ROIs yet: draw ROIs on an image first")
        rois = [_imagej_roi(mask, name) for mask, name in zip(self.masks, self.result[2], strict=True)]
        with atomic_target(path, overwrite=True) as tmp:
            roifile.roiwrite(tmp, rois, mode="w")
        return Path(path)

    def _ask(self, title: str, pattern: str, save: Callable[[str], Path]) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, "", pattern)
        if path:
            try:
                self.status.setText(f"saved {save(path)}")
            except Exception as exc:
                self.status.setText(f"not saved: {exc}")

    def _ask_csv(self) -> None:
        self._ask("Save traces", "CSV (*.csv)", self.export_csv)

    def _ask_roiset(self) -> None:
        self._ask("Save ROIs", "ImageJ ROI set (*.zip)", self.export_roiset)
