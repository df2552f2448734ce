"""The plugin in a real napari viewer (Qt, OpenGL under xvfb): reader, sample, widgets."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from napari_gui_probe import gui_missing

_missing = gui_missing()
if _missing:
    pytest.skip(_missing, allow_module_level=True)

import tifffile  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from qtpy.QtCore import QTimer  # noqa: E402

from imfun.analysis.baseline import dfof_traces  # noqa: E402
from imfun.analysis.rois import load_rois  # noqa: E402
from imfun.fseq import FSeq_arr  # noqa: E402
from imfun.napari._reader import layer_data  # noqa: E402
from imfun.napari._widgets import SummaryWidget, TracesWidget  # noqa: E402
from imfun.synthdata import two_photon_movie  # noqa: E402

WAIT = 30_000  # ms


@pytest.fixture(scope="module")
def movie():
    return two_photon_movie(n_frames=120, shape=(48, 56), n_cells=4, seed=3, spike_rate=1.0)


def _add(viewer, fs, name="movie"):
    data, kwargs, _ = layer_data(fs, name=name)
    return viewer.add_image(data, **kwargs)


def _idle(widget) -> bool:
    return widget.worker is None and not widget._dirty


def test_viewer_opens_files_lazily_and_loads_sample_and_widgets(make_napari_viewer, tmp_path):
    frames = np.random.default_rng(0).integers(0, 999, (30, 20, 24), dtype=np.uint16)
    path = tmp_path / "rec.tif"
    tifffile.imwrite(path, frames, imagej=True, resolution=(2.0, 2.0),
                     metadata={"unit": "um", "finterval": 0.1, "axes": "TYX"})
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="imfun")
    assert type(layer.data).__module__.startswith("dask")
    np.testing.assert_allclose(layer.scale, [0.1, 0.5, 0.5])
    assert [str(u) for u in layer.units] == ["second", "micrometer", "micrometer"]
    assert layer.metadata["imfun"]["format"] == "tiff"
    viewer.dims.set_current_step(0, 17)
    np.testing.assert_array_equal(np.asarray(layer._slice.image.view), frames[17])

    # two-channel frames: one layer per channel, each with the frames' scale
    np.save(tmp_path / "two.npy", np.stack([frames, frames // 2], axis=-1))
    channels = viewer.open(str(tmp_path / "two.npy"), plugin="imfun")
    assert [c.name for c in channels] == ["two.npy [0]", "two.npy [1]"]
    np.testing.assert_array_equal(np.asarray(channels[1].data), frames // 2)

    # the sample data and the widgets, as napari's menus make them
    viewer.open_sample("imfun", "two_photon")
    assert [layer.name for layer in viewer.layers][3:] == ["two-photon (synthetic)", "cells (ground truth)"]
    _, widget = viewer.window.add_plugin_dock_widget("imfun", "ROI traces")
    assert isinstance(widget, TracesWidget)
    _, widget = viewer.window.add_plugin_dock_widget("imfun", "Summary images")
    assert isinstance(widget, SummaryWidget)
    for name in ("Register", "Detect cells"):
        _, widget = viewer.window.add_plugin_dock_widget("imfun", name)
        assert widget.image.currentText() == "rec.tif"


def test_summary_widget_adds_the_library_projections_off_the_gui_thread(make_napari_viewer, qtbot, movie):
    viewer = make_napari_viewer()
    fs = movie.to_fseq()
    _add(viewer, fs)
    widget = SummaryWidget(viewer)
    has_correlation = hasattr(fs, "correlation_image")  # from the cells issue, when it has landed
    widget.checks["correlation"].setChecked(has_correlation)
    worker = widget.compute()
    with qtbot.waitSignal(worker.finished, timeout=WAIT):
        pass
    assert "MainThread" not in widget.worker_threads
    if has_correlation:
        np.testing.assert_allclose(viewer.layers["correlation of movie"].data, fs.correlation_image())
    np.testing.assert_allclose(viewer.layers["mean of movie"].data, fs.mean_frame())
    np.testing.assert_array_equal(viewer.layers["max of movie"].data, fs.max_project())
    np.testing.assert_allclose(viewer.layers["std of movie"].data, movie.movie.std(axis=0), rtol=1e-9)
    np.testing.assert_allclose(viewer.layers["mean of movie"].scale, [ax.scale for ax in fs.meta["axes"]][1:])

    # long work: the frames are read in the worker while the event loop goes on
    readers: set[str] = set()

    def slow(frame):  # a pipeline step that takes time and notes the thread that ran it
        readers.add(threading.current_thread().name)
        time.sleep(0.02)
        return frame

    fs = FSeq_arr(np.random.default_rng(1).random((40, 16, 16)), fns=[slow])
    _add(viewer, fs, "slow")
    readers.clear()
    widget.image.setCurrentText("slow")
    widget.checks["correlation"].setChecked(False)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    worker = widget.compute()
    with qtbot.waitSignal(worker.finished, timeout=WAIT):
        pass
    timer.stop()
    assert readers and "MainThread" not in readers
    assert len(ticks) > 20  # the event loop kept running while the frames were read


def _traces_widget(viewer, qtbot, fs):
    image = _add(viewer, fs)
    widget = TracesWidget(viewer)
    viewer.window.add_dock_widget(widget, name="ROI traces")
    qtbot.waitUntil(lambda: _idle(widget), timeout=WAIT)
    return image, widget


def _wait_result(qtbot, widget, n_rois):
    qtbot.waitUntil(lambda: _idle(widget) and widget.result is not None and len(widget.result[1]) == n_rois,
                    timeout=WAIT)
    return widget.result


def test_shape_rois_give_mask_reduce_traces_follow_moves_and_export(make_napari_viewer, qtbot, movie,
                                                                    tmp_path):
    viewer = make_napari_viewer()
    fs = movie.to_fseq()
    _, widget = _traces_widget(viewer, qtbot, fs)
    shapes = widget.new_roi_layer()
    shapes.add_rectangles(np.array([[5.0, 6.0], [15.0, 20.0]]), edge_color="magenta")
    times, traces, names, colours = _wait_result(qtbot, widget, 1)
    mask = shapes.to_masks(fs.frame_shape)[0]
    assert mask.sum() > 50
    np.testing.assert_allclose(traces[0], fs.mask_reduce(mask))
    np.testing.assert_allclose(traces[0], movie.movie[:, mask].mean(axis=1))
    np.testing.assert_allclose(times, fs.frame_idx())
    (line,) = widget.axes.get_lines()
    np.testing.assert_allclose(line.get_ydata(), traces[0])
    np.testing.assert_allclose(to_rgb(line.get_color()), (1, 0, 1))
    np.testing.assert_allclose(colours[0][:3], (1, 0, 1))

    old = traces[0].copy()
    shapes.data = [shapes.data[0] + [20.0, 25.0]]  # move the ROI
    qtbot.waitUntil(lambda: _idle(widget) and not np.allclose(widget.result[1][0], old), timeout=WAIT)
    moved = shapes.to_masks(fs.frame_shape)[0]
    np.testing.assert_allclose(widget.result[1][0], fs.mask_reduce(moved))
    np.testing.assert_allclose(widget.axes.get_lines()[0].get_ydata(), fs.mask_reduce(moved))

    # a second ROI, ΔF/F, and the exports
    shapes.add_ellipses(np.array([[30.0, 30.0], [10.0, 14.0]]))
    _wait_result(qtbot, widget, 2)
    masks = shapes.to_masks(fs.frame_shape)
    widget.baseline.setValue(2.0)
    widget.mode.setCurrentText("ΔF/F")
    qtbot.waitUntil(lambda: _idle(widget) and widget.result[1].min() < -1e-6, timeout=WAIT)
    expected = dfof_traces(fs.multi_mask_reduce(list(masks)), dt=0.05, baseline_seconds=2.0, percentile=10)
    np.testing.assert_allclose(widget.result[1], expected)

    widget.mode.setCurrentText("mean")
    qtbot.waitUntil(lambda: _idle(widget) and widget.result[1].min() > 1, timeout=WAIT)
    csv_path = widget.export_csv(tmp_path / "traces.csv")
    table = np.genfromtxt(csv_path, delimiter=",", names=True)
    assert table.dtype.names == ("time_s", "ROI_1", "ROI_2")
    library = fs.multi_mask_reduce(list(masks))
    np.testing.assert_allclose(table["ROI_1"], library[0], rtol=1e-6)
    np.testing.assert_allclose(table["ROI_2"], library[1], rtol=1e-6)
    np.testing.assert_allclose(table["time_s"], fs.frame_idx())
    zip_path = widget.export_roiset(tmp_path / "RoiSet.zip")
    loaded, names = load_rois(zip_path, fs.frame_shape)
    assert names == ["ROI 1", "ROI 2"]
    np.testing.assert_array_equal(loaded, masks)


def test_labels_rois_and_a_screenshot_that_is_not_blank(make_napari_viewer, qtbot, movie):
    viewer = make_napari_viewer(show=True)  # the canvas draws only when shown (on xvfb's screen)
    fs = movie.to_fseq()
    image, widget = _traces_widget(viewer, qtbot, fs)
    labels = viewer.add_labels(movie.labels, scale=image.scale[1:])
    widget.rois.setCurrentText(labels.name)
    _wait_result(qtbot, widget, len(np.unique(movie.labels)) - 1)
    np.testing.assert_allclose(widget.result[1], fs.labels_reduce(movie.labels))
    lab = movie.labels.copy()
    lab[lab == lab.max()] = 0  # paint one cell away
    labels.data = lab
    _wait_result(qtbot, widget, len(np.unique(lab)) - 1)
    np.testing.assert_allclose(widget.result[1], fs.labels_reduce(lab))
    colour = labels.get_color(int(np.unique(lab)[1]))
    np.testing.assert_allclose(to_rgb(widget.axes.get_lines()[0].get_color()), colour[:3])

    canvas = viewer.screenshot(canvas_only=True, flash=False)
    assert canvas.ndim == 3 and canvas[..., :3].std() > 5
    window = viewer.screenshot(canvas_only=False, flash=False)
    assert window.shape[0] > canvas.shape[0] // 2 and window[..., :3].std() > 5


def test_register_and_detect_cells_widgets_add_the_library_results(make_napari_viewer, qtbot):
    from imfun.napari._widgets import DetectCellsWidget, RegisterWidget
    from imfun.synthdata import moving_two_photon_movie

    sm, _, _ = moving_two_photon_movie(60, (48, 48), n_cells=3, max_shift=3, seed=1, spike_rate=1.0)
    fs = sm.to_fseq()
    if not (hasattr(fs, "register") and hasattr(fs, "detect_cells")):
        pytest.skip("this imfun has no register() or detect_cells() yet")
    viewer = make_napari_viewer()
    _add(viewer, fs)
    register = RegisterWidget(viewer)
    with qtbot.waitSignal(register.run().finished, timeout=WAIT):
        pass
    assert "MainThread" not in register.worker_threads
    reg = viewer.layers["registered movie"]
    np.testing.assert_allclose(np.asarray(reg.data), np.asarray(fs.register()), atol=1e-4)
    np.testing.assert_allclose(reg.scale, [ax.scale for ax in fs.meta["axes"]])

    cells = DetectCellsWidget(viewer)
    cells.image.setCurrentText("movie")
    with qtbot.waitSignal(cells.run().finished, timeout=WAIT):
        pass
    np.testing.assert_array_equal(viewer.layers["cells of movie"].data, fs.detect_cells(diameter=8.0).labels)
    assert viewer.layers["cells of movie"].data.max() > 0 and "cell(s) in movie" in cells.status.text()
