"""fs.register / fs.apply_shifts against numpy/scipy ground truth on movies built here."""

import numpy as np
import pytest
from scipy import ndimage

from imfun.errors import ImfunError, InvalidArgumentError, ShapeMismatchError
from imfun.fseq import FSeq_arr
from imfun.registration import RegisteredSequence, Shifts, load_shifts
from imfun.registration.metrics import crispness, shift_rmse
from imfun.synthdata import Motion, move_movie, two_photon_movie


def test_known_rigid_walk_is_recovered_subpixel(rigid_movie):
    movie, motion, _ = rigid_movie
    reg = FSeq_arr(movie).register(max_shift=8)
    assert isinstance(reg, RegisteredSequence) and reg.dtype == np.float32 and len(reg) == len(movie)
    assert reg.shifts.shape == (len(movie), 2) and reg.block_shifts is None and reg.block_centers is None
    rmse = shift_rmse(reg.shifts, motion.shifts)
    assert rmse <= 0.07, rmse  # 128 x 128 frames with shot noise; 0.03 px on 256 x 256
    assert reg.template.shape == (128, 128) and reg.bidi_phase == 0.0


def test_registered_frames_equal_the_frames_shifted_back_by_scipy(rigid_movie):
    movie, _, _ = rigid_movie
    fs = FSeq_arr(movie[:12])
    reg1 = fs.register(order=1)
    got = np.asarray(reg1)
    ref = np.stack([ndimage.shift(f.astype(np.float32), -s, order=1, mode="nearest")
                    for f, s in zip(movie[:12], reg1.shifts, strict=True)])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-3)  # bilinear: float32 rounding
    reg3 = fs.apply_shifts(reg1.shifts)  # order=3: Keys' cubic convolution
    ref3 = np.stack([ndimage.shift(f.astype(np.float64), -s, order=3, mode="nearest")
                     for f, s in zip(movie[:12], reg1.shifts, strict=True)])
    # stated tolerance: within 3 % of the data range on noisy frames, 1 % on smooth ones
    assert np.abs(np.asarray(reg3) - ref3).max() <= 0.03 * np.ptp(movie[:12])
    smooth = ndimage.gaussian_filter(movie[:12].astype(float), (0, 1.5, 1.5))
    got_s = np.asarray(FSeq_arr(smooth).apply_shifts(reg1.shifts))
    ref_s = np.stack([ndimage.shift(f, -s, order=3, mode="nearest")
                      for f, s in zip(smooth, reg1.shifts, strict=True)])
    assert np.abs(got_s - ref_s).max() <= 0.01 * np.ptp(smooth)


def test_crops_and_subsequences_read_the_same_pixels(rigid_movie):
    movie, _, _ = rigid_movie
    reg = FSeq_arr(movie[:20]).register(bidi=0.5)
    full = np.asarray(reg)
    np.testing.assert_array_equal(reg.as3darray(crop=(slice(10, 50), slice(64, 128)), dtype=None),
                                  full[:, 10:50, 64:128])
    np.testing.assert_array_equal(reg.as3darray(crop=(slice(0, 128, 3), slice(5, 9)), dtype=None),
                                  full[:, ::3, 5:9])
    sub = reg[4:10]
    np.testing.assert_array_equal(np.asarray(sub), full[4:10])
    np.testing.assert_array_equal(sub.shifts, reg.shifts[4:10])
    np.testing.assert_array_equal(reg[7], full[7])


@pytest.mark.parametrize("fill", ["edge", "nan", -5.0])
def test_fill_modes_never_wrap_around(fill):
    frame = np.arange(16 * 20, dtype=float).reshape(16, 20)
    fs = FSeq_arr(np.stack([frame, frame]))
    reg = fs.apply_shifts(np.array([[0.0, 0.0], [-3.0, 2.0]]), fill=fill, order=1)
    out = reg[1]
    np.testing.assert_allclose(out[3:, :-2], frame[:-3, 2:])
    if fill == "edge":
        np.testing.assert_allclose(out[:3, :-2], np.broadcast_to(frame[0, 2:], (3, 18)))
        np.testing.assert_allclose(out[:, -2:], np.broadcast_to(out[:, -3:-2], (16, 2)))
    elif fill == "nan":
        assert np.isnan(out[:3]).all() and np.isnan(out[:, -2:]).all() and not np.isnan(out[3:, :-2]).any()
    else:
        assert (out[:3] == fill).all() and (out[:, -2:] == fill).all()
    np.testing.assert_allclose(reg[0], frame)


def test_template_options(rigid_movie):
    movie, motion, still = rigid_movie
    fs = FSeq_arr(movie)
    by_array = fs.register(still.mean(axis=0))
    np.testing.assert_allclose(by_array.template, still.mean(axis=0), rtol=1e-5)
    # an array template of the motion-free scene: no offset to remove
    err = by_array.shifts - motion.shifts
    assert np.sqrt((err**2).mean()) <= 0.1
    by_slice = fs.register((0, 5))
    np.testing.assert_allclose(by_slice.template, movie[:5].mean(axis=0), rtol=1e-5)
    assert shift_rmse(by_slice.shifts, motion.shifts) <= 0.1
    by_tuple = fs.register(slice(0, 5))
    np.testing.assert_allclose(by_tuple.shifts, by_slice.shifts)


def test_bidi_phase_is_estimated_and_corrected():
    from imfun.synthdata import moving_two_photon_movie

    sm, motion, _ = moving_two_photon_movie(40, (128, 128), n_cells=14, max_shift=3.0, bidi_phase=1.5, seed=8)
    reg = FSeq_arr(sm.movie).register(bidi="auto")
    assert abs(reg.bidi_phase - 1.5) <= 0.1
    assert shift_rmse(reg.shifts, motion.shifts) <= 0.1
    # the corrected mean is crisper than the uncorrected registration's
    plain = FSeq_arr(sm.movie).register()
    assert reg.metrics()["crispness_after"] > plain.metrics()["crispness_after"]
    fixed = FSeq_arr(sm.movie).register(bidi=2)
    assert fixed.bidi_phase == 2.0


def test_bidi_correction_equals_shifting_odd_rows_back():
    frame = np.random.default_rng(0).random((10, 30))
    fs = FSeq_arr(np.stack([frame, frame]))
    reg = fs.apply_shifts(np.zeros((2, 2)), bidi_phase=2.0, order=1)
    want = frame.copy()
    want[1::2, :-2] = frame[1::2, 2:]
    want[1::2, -2:] = frame[1::2, -1:]
    np.testing.assert_allclose(reg[0], want, rtol=1e-6)


def test_fslice_registers_a_selection(rigid_movie):
    movie, motion, _ = rigid_movie
    reg = FSeq_arr(movie).register(fslice=(10, 50, 2))
    assert len(reg) == 20
    want = motion.shifts[10:50:2] - motion.shifts[10]
    np.testing.assert_allclose(reg.shifts - reg.shifts[0], want, atol=0.3)


def test_metrics_report_crispness_and_correlation(rigid_movie):
    movie, _, still = rigid_movie
    reg = FSeq_arr(movie).register()
    m = reg.metrics()
    assert m["crispness_after"] > 1.05 * m["crispness_before"]
    border = int(np.ceil(np.abs(reg.shifts).max()))
    assert m["crispness_after"] >= 0.9 * crispness(still.mean(axis=0), border)
    assert m["corr_with_template"].shape == (len(movie),) and m["corr_with_template"].min() > 0.8
    np.testing.assert_allclose(m["mean_after"], np.asarray(reg).mean(axis=0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(m["mean_before"], movie.mean(axis=0))
    assert m["max_shift"] == 12 and len(m["frames_at_max_shift"]) == 0
    tight = FSeq_arr(movie).register(max_shift=2).metrics()
    assert len(tight["frames_at_max_shift"]) > 0


@pytest.mark.parametrize("ending", [".npz", ".csv"])
def test_shifts_saved_and_loaded(tmp_path, rigid_movie, ending):
    movie, _, _ = rigid_movie
    reg = FSeq_arr(movie[:10]).register(bidi=0.25)
    path = reg.save_shifts(tmp_path / f"s{ending}")
    back = load_shifts(path)
    np.testing.assert_allclose(back.shifts, reg.shifts, atol=1e-6)
    assert back.bidi_phase == 0.25
    again = FSeq_arr(movie[:10]).apply_shifts(back)
    np.testing.assert_allclose(np.asarray(again), np.asarray(reg), atol=1e-3)
    with pytest.raises(ImfunError, match="exists"):
        reg.save_shifts(tmp_path / f"s{ending}")


def test_shifts_of_one_channel_applied_to_another(rigid_movie):
    movie, motion, _ = rigid_movie
    green = FSeq_arr(movie)
    red_still = two_photon_movie(len(movie), (128, 128), n_cells=5, seed=11, noise=False).movie
    red = FSeq_arr(move_movie(red_still, Motion(motion.shifts)))
    reg = green.register(two_photon_movie(1, (128, 128), n_cells=14, seed=3, noise=False).movie[0])
    red_reg = red.apply_shifts(reg)
    assert red_reg.bidi_phase == reg.bidi_phase
    np.testing.assert_allclose(red_reg.shifts, reg.shifts)
    m = int(np.ceil(np.abs(motion.shifts).max())) + 1  # inside the border the shifts can reach
    got = np.asarray(red_reg)[:, m:-m, m:-m]
    unregistered = np.abs(red.as3darray()[:, m:-m, m:-m] - red_still[:, m:-m, m:-m]).mean()
    assert np.abs(got - red_still[:, m:-m, m:-m]).mean() < 0.2 * unregistered


def test_chained_with_dfof_writers_and_dask(tmp_path, rigid_movie):
    import tifffile

    movie, _, _ = rigid_movie
    fs = FSeq_arr(movie[:24], meta={"axes": [(0.1, "s"), (0.8, "µm"), (0.8, "µm")]})
    reg = fs.register()
    data = np.asarray(reg)
    from imfun.analysis.dfof import dfof_array

    d = reg.dfof(baseline_frames=5, budget="1 MiB")
    np.testing.assert_allclose(np.asarray(d), dfof_array(data, 5), rtol=1e-4, atol=1e-5)
    reg.to_tiff(tmp_path / "r.tif")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "r.tif"), data)
    pytest.importorskip("dask")
    np.testing.assert_array_equal(reg.to_dask().compute(), data)
    np.testing.assert_allclose(reg.mean_frame(engine="dask"), data.mean(axis=0), rtol=1e-5)
    masks = np.zeros((128, 128), bool)
    masks[40:60, 40:60] = True
    np.testing.assert_allclose(reg.mask_reduce(masks), data[:, 40:60, 40:60].mean(axis=(1, 2)), rtol=1e-5)
    assert reg.meta["axes"][0].scale == 0.1


def test_registered_sequence_pickles(rigid_movie):
    import pickle

    movie, _, _ = rigid_movie
    reg = FSeq_arr(movie[:6]).register()
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(np.asarray(again), np.asarray(reg))
    np.testing.assert_array_equal(again.shifts, reg.shifts)


def test_memory_stays_near_the_budget():
    """200 frames of 256 x 256 uint16 (25 MiB, 50 MiB as float32) under a 4 MiB budget."""
    import tracemalloc

    movie = np.random.default_rng(0).poisson(100, (200, 256, 256)).astype(np.uint16)
    fs = FSeq_arr(movie)
    tracemalloc.start()
    try:
        reg = fs.register(budget="4 MiB")
        peak_estimate = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        reg.mean_frame(budget="4 MiB")
        peak_apply = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak_estimate < 12 * 2**20, f"estimation peak {peak_estimate / 2**20:.0f} MiB"
    assert peak_apply < 12 * 2**20, f"reading peak {peak_apply / 2**20:.0f} MiB"


def test_bad_inputs_give_clear_errors(rigid_movie):
    movie, _, _ = rigid_movie
    fs = FSeq_arr(movie[:8])
    with pytest.raises(ShapeMismatchError, match="template has shape"):
        fs.register(np.zeros((10, 10)))
    with pytest.raises(InvalidArgumentError, match="max_shift"):
        fs.register(max_shift=128)
    with pytest.raises(InvalidArgumentError, match="max_shift"):
        fs.register(max_shift=0)
    with pytest.raises(InvalidArgumentError, match="larger than the frames"):
        fs.register(nonrigid=True, block_size=200)
    with pytest.raises(InvalidArgumentError, match="at least 2 frames"):
        FSeq_arr(movie[:1]).register()
    nan = movie[:8].astype(float)
    nan[5, 3, 3] = np.nan
    with pytest.raises(InvalidArgumentError, match="frame 5 holds NaN"):
        FSeq_arr(nan).register(movie[0])
    nan[:, 0, 0] = np.nan  # the sample for the template finds it first
    with pytest.raises(InvalidArgumentError, match="frame 0 holds NaN"):
        FSeq_arr(nan).register()
    with pytest.raises(InvalidArgumentError, match="fill"):
        fs.register(fill="wrap")
    with pytest.raises(InvalidArgumentError, match="bidi"):
        fs.register(bidi="yes")
    with pytest.raises(ShapeMismatchError, match="for 3 frames"):
        fs.apply_shifts(np.zeros((3, 2)))
    with pytest.raises(InvalidArgumentError, match="2-D frames"):
        FSeq_arr(np.zeros((4, 16, 16, 3))).register()
    with pytest.raises(ValueError):  # every imfun error is also the builtin
        fs.register(np.zeros((10, 10)))


def test_shifts_container_round_trip(tmp_path):
    s = Shifts(np.array([[0.0, 1.0], [2.0, -3.5]]))
    s.save(tmp_path / "a.npz")
    np.testing.assert_array_equal(load_shifts(tmp_path / "a.npz").shifts, s.shifts)
    with pytest.raises(InvalidArgumentError, match=r"\.npz or \.csv"):
        s.save(tmp_path / "a.txt")
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ImfunError, match="not a shifts file"):
        load_shifts(tmp_path / "bad.csv")


def test_metrics_of_subsequences_and_crops(rigid_movie):
    movie, _, _ = rigid_movie
    reg = FSeq_arr(movie[:20]).register()
    full = reg.metrics()
    sub = reg[5:15]
    m = sub.metrics()
    assert m["corr_with_template"].shape == (10,)
    np.testing.assert_allclose(m["corr_with_template"], full["corr_with_template"][5:15], rtol=1e-6)
    np.testing.assert_allclose(m["mean_before"], movie[5:15].mean(axis=0))
    crop = reg.crop_frames(slice(20, 100), slice(10, 90)).metrics()
    np.testing.assert_allclose(crop["mean_after"], full["mean_after"][20:100, 10:90], rtol=1e-5, atol=1e-3)
    assert reg.metrics()["corr_with_template"].shape == (20,)
