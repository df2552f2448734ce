"""ROI traces with neuropil annuli, the Traces object and its outputs, against numpy."""

import numpy as np
import pytest
import tifffile
from scipy import ndimage

from imfun.analysis.cells import cells_from_labels
from imfun.analysis.traces import Traces, annuli, read_csv
from imfun.errors import InvalidArgumentError, ShapeMismatchError
from imfun.fseq import FSeq_arr

SHAPE = (40, 50)


def labels():
    lab = np.zeros(SHAPE, np.int32)
    yy, xx = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    lab[np.hypot(yy - 12, xx - 14) <= 4] = 1
    lab[np.hypot(yy - 14, xx - 24) <= 3.5] = 2  # close to ROI 1
    lab[0:4, 44:50] = 3  # in a corner
    return lab


def data(n=30, seed=0):
    return np.random.default_rng(seed).random((n, *SHAPE)) * 100


def reference_annulus(masks, k, gap, min_pixels):
    """Brute force: free pixels sorted by distance to ROI k, up to the min_pixels-th distance."""
    free = ndimage.distance_transform_edt(~masks.any(0)) > gap
    dist = ndimage.distance_transform_edt(~masks[k])
    radius = np.sort(dist[free])[min_pixels - 1]
    return free & (dist <= radius)


def test_annuli_exclude_rois_stay_in_frame_and_grow_to_size():
    lab = labels()
    masks = lab[None] == np.arange(1, 4)[:, None, None]
    for gap, need in ((2, 100), (0, 30), (3, 350)):
        rings = annuli(masks, gap, need)
        assert rings.shape == masks.shape
        near = ndimage.distance_transform_edt(~masks.any(0)) <= gap
        for k in range(3):
            assert rings[k].sum() >= need
            assert not (rings[k] & near).any()  # clear of every ROI and of the gap around them
            np.testing.assert_array_equal(rings[k], reference_annulus(masks, k, gap, need))
    # more pixels than the frame has: the whole free frame
    rings = annuli(masks, 1, 10**6)
    free = ndimage.distance_transform_edt(~masks.any(0)) > 1
    np.testing.assert_array_equal(rings[0], free)
    with pytest.raises(InvalidArgumentError, match="no pixel left"):
        annuli(np.ones((1, 5, 5), bool))


def test_traces_with_neuropil_equal_numpy():
    x = data()
    lab = labels()
    fs = FSeq_arr(x, meta={"axes": [(0.25, "s"), (1.0, "µm"), (1.0, "µm")]})
    t = fs.roi_traces(lab, neuropil="annulus", neuropil_coef=0.6, inner_gap=2, min_neuropil_pixels=80)
    masks = lab[None] == np.arange(1, 4)[:, None, None]
    ref_f = np.array([x[:, m].mean(1) for m in masks])
    ref_neu = np.array([x[:, reference_annulus(masks, k, 2, 80)].mean(1) for k in range(3)])
    np.testing.assert_allclose(t.F, ref_f)
    np.testing.assert_allclose(t.Fneu, ref_neu)
    np.testing.assert_allclose(t.corrected, ref_f - 0.6 * ref_neu)
    assert t.names == ["1", "2", "3"] and t.neuropil_masks.shape == (3, *SHAPE)
    np.testing.assert_allclose(t.times, np.arange(30) * 0.25)
    assert t.dt == 0.25 and len(t) == 3 and "neuropil x 0.6" in repr(t)
    # without neuropil: corrected is F
    plain = fs.roi_traces(lab, fslice=(5, 20))
    assert plain.Fneu is None and plain.corrected is plain.F
    np.testing.assert_allclose(plain.F, ref_f[:, 5:20])
    np.testing.assert_allclose(plain.times, np.arange(5, 20) * 0.25)


def test_one_pass_over_the_frames():
    x = data(n=12)
    seen = []

    def count(frame):
        seen.append(1)
        return frame

    fs = FSeq_arr(x, fns=[count])
    assert fs.frame_shape == SHAPE  # probing the pipeline reads one frame
    seen.clear()
    fs.roi_traces(labels(), neuropil="annulus", min_neuropil_pixels=60, budget=3 * 40 * 50 * 8)
    assert len(seen) == 12


def test_roi_forms_and_cells_weights(tmp_path):
    x = data()
    lab = labels()
    fs = FSeq_arr(x)
    ref = fs.roi_traces(lab).F
    tifffile.imwrite(tmp_path / "l.tif", lab.astype(np.uint16))
    np.testing.assert_allclose(fs.roi_traces(tmp_path / "l.tif").F, ref)
    masks = lab[None] == np.arange(1, 4)[:, None, None]
    np.testing.assert_allclose(fs.roi_traces(masks).F, ref)
    cells = cells_from_labels(lab)
    from_cells = fs.roi_traces(cells)
    np.testing.assert_allclose(from_cells.F, ref)
    assert from_cells.names == cells.names
    np.testing.assert_array_equal(from_cells.times, np.arange(30))
    assert from_cells.time_unit == "" and from_cells.dt is None
    index, values, _ = read_csv(fs.roi_traces(cells, fslice=(10, 20)).to_csv(tmp_path / "frames.csv"))
    assert list(index) == ["frame"] and index["frame"].tolist() == list(range(10, 20))
    np.testing.assert_allclose(values, ref[:, 10:20], rtol=1e-8)
    # soft footprints: weighted means
    w = np.clip(ndimage.gaussian_filter(masks.astype(float), (0, 1.5, 1.5)) * 1.5, 0, 1)
    import scipy.sparse

    cells.footprints = scipy.sparse.csr_matrix(w.reshape(3, -1).astype(np.float32))
    soft = fs.roi_traces(cells, weights=True, neuropil="annulus", min_neuropil_pixels=50)
    w32 = w.astype(np.float32).astype(float)
    want = np.einsum("krc,trc->kt", w32, x) / w32.sum(axis=(1, 2))[:, None]
    np.testing.assert_allclose(soft.F, want)
    assert not (soft.neuropil_masks & (w.sum(0) > 0)).any()  # annuli clear of the soft footprints


def test_dask_equals_local():
    pytest.importorskip("dask")
    fs = FSeq_arr(data())
    a = fs.roi_traces(labels(), neuropil="annulus", min_neuropil_pixels=60)
    b = fs.roi_traces(labels(), neuropil="annulus", min_neuropil_pixels=60, engine="dask",
                      budget=5 * 40 * 50 * 8)
    np.testing.assert_allclose(b.F, a.F)
    np.testing.assert_allclose(b.Fneu, a.Fneu)


def test_csv_dataframe_plot_and_dfof(tmp_path):
    fs = FSeq_arr(data(), meta={"axes": [(0.1, "s"), (1.0, "µm"), (1.0, "µm")]})
    t = fs.roi_traces(labels(), neuropil="annulus", min_neuropil_pixels=60)
    for which in ("corrected", "F", "Fneu"):
        index, values, names = read_csv(t.to_csv(tmp_path / f"{which}.csv", which=which))
        np.testing.assert_allclose(index["time_s"], t.times)
        np.testing.assert_array_equal(index["frame"], np.arange(30))
        np.testing.assert_allclose(values, getattr(t, which), rtol=1e-8)
        assert names == t.names
    with pytest.raises(FileExistsError):
        t.to_csv(tmp_path / "F.csv", which="F")
    df = t.to_dataframe("F")
    assert list(df.columns) == t.names and df.index.name == "time_s"
    np.testing.assert_allclose(df.to_numpy().T, t.F)
    ax = t.plot()
    assert len(ax.lines) == 3 and ax.get_xlabel() == "time, s"
    from imfun.analysis.baseline import dfof_traces

    np.testing.assert_allclose(t.dfof(baseline_seconds=1.0),
                               dfof_traces(t.corrected, 0.1, 1.0, 10.0, "fast"))
    d = t.dfof(baseline_frames=5, method="exact")
    _, values, _ = read_csv(t.to_csv(tmp_path / "dfof.csv", values=d))
    np.testing.assert_allclose(values, d, rtol=1e-8, atol=1e-12)
    with pytest.raises(InvalidArgumentError, match="which"):
        t.to_csv(tmp_path / "x.csv", which="G")
    with pytest.raises(InvalidArgumentError, match="no neuropil"):
        fs.roi_traces(labels()).to_csv(tmp_path / "y.csv", which="Fneu")


def test_bad_input_is_a_clear_error():
    fs = FSeq_arr(data(n=5))
    with pytest.raises(ShapeMismatchError, match="label image"):
        fs.roi_traces(np.ones((10, 10), int))
    with pytest.raises(ShapeMismatchError, match="cells were found"):
        fs.roi_traces(cells_from_labels(np.ones((10, 10), int)))
    with pytest.raises(InvalidArgumentError, match="neuropil"):
        fs.roi_traces(labels(), neuropil="ring")
    with pytest.raises(InvalidArgumentError, match="inner_gap"):
        fs.roi_traces(labels(), neuropil="annulus", inner_gap=-1)
    with pytest.raises(InvalidArgumentError, match="min_neuropil_pixels"):
        fs.roi_traces(labels(), neuropil="annulus", min_neuropil_pixels=0)
    with pytest.raises(InvalidArgumentError, match="selects no pixels"):
        fs.roi_traces(np.zeros((2, *SHAPE), bool))
    with pytest.raises(ShapeMismatchError, match="values must be"):
        Traces(np.ones((1, 3)), None, ["a"], np.arange(3.0)).to_csv("unused.csv", values=np.ones(3))
