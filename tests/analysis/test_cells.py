"""Cell detection: F1 on synthetic movies, the seed pass against numpy, Cells and its files."""

import numpy as np
import pytest
import tifffile

from imfun.analysis.cells import (
    Cells,
    SeedCorrelation,
    _boxes,
    cells_from_labels,
    demo_cells,
    detect_cells,
    match_centers,
)
from imfun.analysis.rois import load_rois
from imfun.errors import InvalidArgumentError, ShapeMismatchError
from imfun.fseq import FSeq_arr
from imfun.synthdata import two_photon_movie


def movie(n_cells, snr, shape=(128, 128), n_frames=300, seed=0, **kw):
    """A synthetic movie whose peak single-spike ΔF over the shot noise of a cell pixel is ``snr``.

    Cell pixels have background ``b`` plus resting brightness ``b`` (cell_brightness 1), so the
    noise SD is ``sqrt(2 b)`` and one spike adds ``0.8 b``: ``snr = 0.8 b / sqrt(2 b)``.
    """
    return two_photon_movie(n_frames=n_frames, shape=shape, n_cells=n_cells, seed=seed,
                            baseline=2 * (snr / 0.8) ** 2, **kw)


@pytest.mark.parametrize(("n_cells", "snr", "kw"), [
    (20, 2, {}),
    (40, 2, {"seed": 3}),
    (40, 5, {"shape": (128, 128)}),
    (30, 2, {"donut": True, "seed": 1}),
])
def test_f1_on_synthetic_movies(n_cells, snr, kw):
    sm = movie(n_cells, snr, **kw)
    out = demo_cells(sm, sm.to_fseq())
    assert out["f1"] >= 0.9, out
    assert out["precision"] >= 0.9 and out["n_true"] == n_cells
    cells = out["cells"]
    # the footprints cover the cells: the median overlap with the true cell is large
    ious = []
    for k in range(cells.n):
        mine = cells.labels == k + 1
        truth = sm.labels[mine]
        best = np.bincount(truth[truth > 0]).argmax() if (truth > 0).any() else -1
        ious.append((mine & (sm.labels == best)).sum() / (mine | (sm.labels == best)).sum())
    assert np.median(ious) > 0.6


def test_cells_object_is_consistent():
    sm = movie(12, 4, shape=(96, 96), seed=5)
    fs = sm.to_fseq()
    cells = fs.detect_cells(diameter=10)
    assert isinstance(cells, Cells) and cells.n >= 10
    assert cells.labels.dtype == np.int32 and cells.labels.shape == fs.frame_shape
    assert set(np.unique(cells.labels)) == set(range(cells.n + 1))
    assert cells.centers.shape == (cells.n, 2)
    w = cells.weights
    assert w.shape == (cells.n, 96, 96) and w.min() >= 0 and w.max() <= 1
    masks = cells.masks
    assert masks.sum(axis=0).max() == 1 and (w[masks] > 0).all()  # labels lie inside the footprints
    # centres are the weighted centroids inside the labels
    k = 0
    yy, xx = np.nonzero(masks[k])
    ww = w[k][masks[k]]
    np.testing.assert_allclose(cells.centers[k], [(ww * yy).sum() / ww.sum(), (ww * xx).sum() / ww.sum()],
                               rtol=1e-6)  # float32 weights, summed in another order
    assert cells.names[:2] == ["1", "2"] and repr(cells).startswith("<Cells: ")
    # the same in pixels
    px = fs.detect_cells(diameter_px=10 / sm.dx)
    np.testing.assert_array_equal(px.labels, cells.labels)
    # max_cells keeps the strongest
    top = fs.detect_cells(diameter=10, max_cells=4)
    assert top.n <= 4 and np.all(np.diff(cells.scores) <= 0)
    # a frame range: the same as detecting in that sub-sequence
    part = fs.detect_cells(diameter=10, fslice=(50, 250))
    np.testing.assert_array_equal(part.labels, fs[50:250].detect_cells(diameter=10).labels)
    # no seeds near the edge with border=: the cells found are the others
    inner = fs.detect_cells(diameter=10, border=20)
    assert 0 < inner.n < cells.n
    assert np.all(inner.centers >= 20 - 10 / sm.dx) and np.all(inner.centers < 96 - 20 + 10 / sm.dx)


@pytest.mark.parametrize(("n_cells", "snr", "kw"), [(40, 2, {"seed": 3}),
                                                    (30, 3, {"donut": True, "seed": 1})],
                         ids=["40-snr2", "30-snr3-donut"])
def test_f1_with_time_bins(n_cells, snr, kw):
    sm = movie(n_cells, snr, n_frames=500, **kw)
    out = demo_cells(sm, sm.to_fseq(), time_bin=5)
    assert out["f1"] >= 0.9, out
    with pytest.raises(InvalidArgumentError, match="time_bin"):
        detect_cells(sm.to_fseq(), diameter_px=10, time_bin=0)


def test_streaming_and_dask_equal_one_block():
    sm = movie(8, 4, shape=(64, 64), n_frames=200, seed=2)
    fs = sm.to_fseq()
    ref = fs.detect_cells(diameter=10)
    tiny = fs.detect_cells(diameter=10, budget=7 * 64 * 64 * 2)
    np.testing.assert_array_equal(tiny.labels, ref.labels)
    np.testing.assert_allclose(tiny.centers, ref.centers, atol=1e-6)
    pytest.importorskip("dask")
    on_dask = fs.detect_cells(diameter=10, engine="dask", budget=50 * 64 * 64 * 2)
    np.testing.assert_array_equal(on_dask.labels, ref.labels)


def test_noise_only_finds_nothing_much():
    x = np.random.default_rng(0).poisson(50, (200, 64, 64)).astype(np.uint16)
    cells = FSeq_arr(x).detect_cells(diameter_px=10)
    assert cells.n <= 1


@pytest.mark.parametrize("half", [3, 12])  # 12: the box is larger than the frame
def test_seed_pass_equals_numpy_correlations(half):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 20, 24)) + 30
    x[:, 5:9, 5:9] += rng.standard_normal((60, 1, 1)) * 2
    seeds = np.array([[7, 7], [0, 23], [15, 3]])
    index, valid = _boxes(seeds, half, x.shape[1:])
    off = np.arange(-half, half + 1)
    disk = (np.hypot(off[:, None], off[None, :]) <= 1.5).ravel()
    red = SeedCorrelation(seeds, half, x.shape[1:], disk)
    rho, rtt = FSeq_arr(x)._reduce(red, None, None, 11 * 20 * 24 * 8, "")
    flat = x.reshape(len(x), -1)
    traces = []
    for s in range(len(seeds)):
        idx = index[s][valid[s] & disk]
        traces.append(flat[:, idx].mean(axis=1))
        for p in np.flatnonzero(valid[s]):
            want = np.corrcoef(traces[-1], flat[:, index[s, p]])[0, 1]
            assert abs(rho[s, p] - want) < 1e-5
        assert (rho[s][~valid[s]] == 0).all()
    np.testing.assert_allclose(rtt, np.corrcoef(np.array(traces)), atol=1e-5)


def test_files_round_trip(tmp_path):
    lab = np.zeros((30, 40), np.int32)
    yy, xx = np.mgrid[0:30, 0:40]
    lab[np.hypot(yy - 10, xx - 12) <= 5] = 1
    lab[np.hypot(yy - 20, xx - 30) <= 6.5] = 2
    lab[25:29, 2:9] = 3
    cells = cells_from_labels(lab)
    np.testing.assert_array_equal(tifffile.imread(cells.to_labels(tmp_path / "cells.tif")), lab)
    masks, names = load_rois(cells.to_imagej(tmp_path / "RoiSet.zip"), lab.shape)
    assert names == ["1", "2", "3"]
    np.testing.assert_array_equal(masks, cells.masks)
    with pytest.raises(FileExistsError):
        cells.to_labels(tmp_path / "cells.tif")
    cells.to_labels(tmp_path / "cells.tif", overwrite=True)
    # a Cells from detection goes through the same files
    sm = movie(6, 4, shape=(64, 64), n_frames=200, seed=4)
    found = sm.to_fseq().detect_cells(diameter=10)
    masks, _ = load_rois(found.to_imagej(tmp_path / "found.zip"), (64, 64))
    np.testing.assert_array_equal(masks, found.masks)


def test_match_centers_is_one_to_one():
    true = np.array([[10.0, 10], [10, 14], [79, 80]])
    found = np.array([[10.0, 12], [11, 10], [80, 80], [10, 15]])
    out = match_centers(true, found, 3)
    assert out["matched"] == 3 and out["precision"] == 0.75 and out["recall"] == 1.0
    assert match_centers(true, np.zeros((0, 2)), 3)["f1"] == 0.0


def test_bad_input_is_a_clear_error():
    sm = movie(2, 4, shape=(32, 32), n_frames=20)
    fs = sm.to_fseq()
    with pytest.raises(InvalidArgumentError, match="one of the two"):
        fs.detect_cells()
    with pytest.raises(InvalidArgumentError, match="one of the two"):
        fs.detect_cells(10, diameter_px=5)
    with pytest.raises(InvalidArgumentError, match="positive"):
        fs.detect_cells(diameter_px=0)
    with pytest.raises(InvalidArgumentError, match="does not fit"):
        fs.detect_cells(diameter=100)
    with pytest.raises(InvalidArgumentError, match="method"):
        fs.detect_cells(diameter=8, method="nmf")
    with pytest.raises(InvalidArgumentError, match="max_cells"):
        fs.detect_cells(diameter=8, max_cells=0)
    with pytest.raises(InvalidArgumentError, match="border"):
        fs.detect_cells(diameter=8, border=16)
    with pytest.raises(InvalidArgumentError, match="µm"):
        FSeq_arr(np.zeros((5, 16, 16))).detect_cells(diameter=5)
    with pytest.raises(ShapeMismatchError, match="grey"):
        FSeq_arr(np.zeros((5, 16, 16, 3))).detect_cells(diameter_px=5)
    with pytest.raises(InvalidArgumentError, match="2-D integer"):
        cells_from_labels(np.zeros((3, 3)))
