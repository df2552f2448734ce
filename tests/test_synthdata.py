"""Synthetic two-photon movies: shapes, reproducibility and ground truth."""

import numpy as np
import pytest
import tifffile

from imfun.errors import InvalidArgumentError, UnknownArgumentError
from imfun.synthdata import SyntheticMovie, two_photon_movie, two_photon_tiff, write_tiff

SMALL = dict(n_frames=40, shape=(32, 48), n_cells=3, cell_radius=4.0, spike_rate=2.0)


def test_shapes_and_types():
    sm = two_photon_movie(**SMALL)
    assert isinstance(sm, SyntheticMovie)
    assert sm.movie.shape == (40, 32, 48) and sm.movie.dtype == np.uint16
    assert sm.cell_masks.shape == (3, 32, 48) and sm.cell_masks.dtype == bool
    assert sm.labels.shape == (32, 48) and np.issubdtype(sm.labels.dtype, np.integer)
    assert sm.true_traces.shape == (3, 40)
    assert len(sm.spike_times) == 3
    assert sm.meta["axes"] == [(0.05, "s"), (0.8, "µm"), (0.8, "µm")]
    # masks are disjoint and agree with the label image
    assert sm.cell_masks.sum(0).max() == 1
    for k, m in enumerate(sm.cell_masks):
        assert m.any()
        np.testing.assert_array_equal(m, sm.labels == k + 1)


def test_reproducible_by_seed():
    a, b = two_photon_movie(**SMALL, seed=3), two_photon_movie(**SMALL, seed=3)
    np.testing.assert_array_equal(a.movie, b.movie)
    np.testing.assert_array_equal(a.labels, b.labels)
    for s, t in zip(a.spike_times, b.spike_times, strict=True):
        np.testing.assert_array_equal(s, t)
    c = two_photon_movie(**SMALL, seed=4)
    assert not np.array_equal(a.movie, c.movie)


def test_traces_follow_masks_without_noise():
    sm = two_photon_movie(**SMALL, noise=False, dtype=np.float32, seed=2)
    assert sum(len(s) for s in sm.spike_times) > 0
    for mask, truth in zip(sm.cell_masks, sm.true_traces, strict=True):
        if truth.std() == 0:
            continue
        measured = sm.movie[:, mask].mean(1)
        assert np.corrcoef(measured, truth)[0, 1] > 0.9


def test_traces_with_noise_and_drift_still_correlate():
    sm = two_photon_movie(n_frames=200, shape=(64, 64), n_cells=4, spike_rate=1.0, drift=0.05, seed=5)
    r = [np.corrcoef(sm.movie[:, m].mean(1), t)[0, 1]
         for m, t in zip(sm.cell_masks, sm.true_traces, strict=True) if t.std() > 0]
    assert np.median(r) > 0.8


def test_spike_times_within_duration_and_traces_nonnegative():
    sm = two_photon_movie(**SMALL, seed=7)
    for s in sm.spike_times:
        assert np.all((s >= 0) & (s < sm.duration))
        assert np.all(np.diff(s) >= 0)
    assert np.all(sm.true_traces >= 0)


def test_transient_shape_rises_and_decays():
    sm = two_photon_movie(n_frames=100, shape=(32, 32), n_cells=1, spike_rate=0.0, noise=False)
    assert np.all(sm.true_traces == 0)
    # one spike: check the kernel through a private helper of the model
    from imfun.synthdata import _transients

    t = np.arange(100) * 0.05
    tr = _transients(t, np.array([1.0]), np.array([0.5]), tau=0.5, rise=0.05)
    assert tr[t <= 1.0].max() == 0
    assert 0.45 < tr.max() <= 0.5 + 1e-9
    peak = t[tr.argmax()]
    assert 1.0 < peak < 1.3 and tr[-1] < 0.01


def test_donut_and_float_dtype():
    sm = two_photon_movie(**dict(SMALL, spike_rate=0.0), donut=True, dtype=np.float32, noise=False)
    assert sm.movie.dtype == np.float32
    # a donut cell is dimmer at its centre than on its ring
    mean = sm.movie.mean(0)
    m = sm.cell_masks[0]
    cy, cx = np.rint(np.mean(np.nonzero(m), axis=1)).astype(int)
    assert mean[cy, cx] < mean[m].max()


def test_to_fseq_has_axes():
    sm = two_photon_movie(**SMALL)
    fs = sm.to_fseq()
    assert len(fs) == 40 and fs.frame_shape == (32, 48)
    assert fs.meta["axes"][0] == (0.05, "s") and fs.meta["axes"][1].unit == "µm"
    np.testing.assert_array_equal(np.asarray(fs), sm.movie)


def test_write_tiff_imagej_metadata(tmp_path):
    sm = two_photon_movie(**SMALL)
    path = write_tiff(tmp_path / "m.tif", sm.movie, sm.dt, sm.dx)
    with tifffile.TiffFile(path) as tf:
        np.testing.assert_array_equal(tf.asarray(), sm.movie)
        assert tf.imagej_metadata["finterval"] == pytest.approx(0.05)
        num, den = tf.pages[0].tags["XResolution"].value
        assert den / num == pytest.approx(0.8)
    # float64 is stored as float32
    path = write_tiff(tmp_path / "f.tif", sm.movie.astype(float), sm.dt, sm.dx)
    assert tifffile.imread(path).dtype == np.float32


def test_two_photon_tiff_matches_in_memory_movie(tmp_path):
    kw = dict(SMALL, n_frames=150)  # more than one internal chunk of frames
    sm = two_photon_tiff(tmp_path / "m.tif", 150, (32, 48), block=37, n_cells=3, cell_radius=4.0,
                         spike_rate=2.0)
    ref = two_photon_movie(**kw)
    np.testing.assert_array_equal(np.asarray(sm.movie), ref.movie)
    np.testing.assert_array_equal(sm.labels, ref.labels)
    assert sm.path.endswith("m.tif")
    del sm
    with pytest.raises(UnknownArgumentError):
        two_photon_tiff(tmp_path / "x.tif", 10, (32, 32), bogus=1)


def test_invalid_arguments():
    with pytest.raises(InvalidArgumentError):
        two_photon_movie(n_frames=0)
    with pytest.raises(InvalidArgumentError):
        two_photon_movie(shape=(16, 16), n_cells=50)
    with pytest.raises(InvalidArgumentError):
        two_photon_movie(dt=-1)
