"""FrameSequence on arrays: every method against a plain numpy ground truth."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import imfun
from imfun import config
from imfun.errors import (
    EmptySequenceError,
    FrameIndexError,
    ImfunError,
    InvalidArgumentError,
    ShapeMismatchError,
    UnknownArgumentError,
)
from imfun.fseq import FrameSequence, FSeq_arr, open_seq

SETTINGS = settings(max_examples=40, deadline=None)


def stacks(colour=False):
    dims = st.tuples(st.integers(1, 12), st.integers(1, 9), st.integers(1, 9))
    if colour:
        dims = dims.map(lambda d: (*d, 3))
    dtype = st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64])
    return dtype.flatmap(lambda dt: dims.flatmap(lambda shp: hnp.arrays(
        dt, shp, elements=hnp.from_dtype(np.dtype(dt), allow_nan=False, allow_infinity=False,
                                         min_value=-1000 if np.dtype(dt).kind != "u" else 0,
                                         max_value=1000 if np.dtype(dt).itemsize > 1 else None))))


fslices = st.one_of(
    st.none(), st.integers(1, 15), st.tuples(st.integers(0, 15)),
    st.tuples(st.integers(-15, 15), st.integers(-15, 15)),
    st.tuples(st.integers(-15, 15), st.integers(-15, 15), st.integers(1, 4)),
    st.builds(slice, st.integers(-15, 15) | st.none(), st.integers(-15, 15) | st.none(),
              st.sampled_from([None, 1, 2, -1, -3])))


def ref_select(a, fslice):
    if fslice is None:
        return a
    if isinstance(fslice, int):
        return a[:fslice]
    if isinstance(fslice, tuple):
        return a[slice(*fslice)]
    return a[fslice]


budgets = st.sampled_from([None, 64, 4096])


@SETTINGS
@given(stacks(), fslices, budgets)
def test_projections_match_numpy(a, fslice, budget):
    fs = FSeq_arr(a)
    ref = ref_select(a, fslice)
    if len(ref) == 0:
        with pytest.raises(EmptySequenceError):
            fs.mean_frame(fslice)
        return
    f64 = ref.astype(np.float64)
    np.testing.assert_allclose(fs.mean_frame(fslice, budget=budget), f64.mean(0), rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(fs.max_project(fslice, budget=budget), ref.max(0))
    np.testing.assert_array_equal(fs.min_project(fslice, budget=budget), ref.min(0))
    np.testing.assert_allclose(fs.std(0, fslice=fslice, budget=budget), f64.std(0), rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(fs.std(None, fslice=fslice, budget=budget), f64.std(), rtol=1e-9, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(fs.as3darray(fslice, budget=budget)), f64)


@SETTINGS
@given(stacks(), budgets, st.lists(st.floats(0, 100), min_size=1, max_size=4))
def test_percentile_exact(a, budget, p):
    fs = FSeq_arr(a)
    np.testing.assert_array_equal(fs.data_percentile(p, budget=budget), np.percentile(a, p))
    np.testing.assert_array_equal(fs.data_percentile(p[0], budget=budget), np.percentile(a, p[0]))
    assert fs.data_range() == (a.min(), a.max())


@SETTINGS
@given(stacks(colour=True), budgets)
def test_colour_frames(a, budget):
    fs = FSeq_arr(a)
    flat = a.reshape(-1, 3)
    np.testing.assert_array_equal(fs.data_range(), np.stack([flat.min(0), flat.max(0)], 1))
    np.testing.assert_array_equal(fs.data_percentile([10, 90], budget=budget),
                                  np.percentile(flat, [10, 90], axis=0))
    np.testing.assert_allclose(fs.std(budget=budget), flat.astype(float).std(0), rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(fs.mean_frame(budget=budget), a.mean(0, dtype=float))
    mask = np.zeros(a.shape[1:3], bool)
    mask[0, 0] = True
    np.testing.assert_allclose(fs.mask_reduce(mask, budget=budget), a[:, 0, 0].astype(float))
    np.testing.assert_allclose(fs.time_project(fn=np.max, budget=budget), a.max(0))
    out = fs.pw_transform(lambda v: v * 2.0, budget=budget)
    np.testing.assert_allclose(np.asarray(out), a * 2.0)


@st.composite
def stack_and_masks(draw):
    a = draw(stacks())
    n_masks = draw(st.integers(1, 4))
    masks = draw(st.lists(hnp.arrays(bool, a.shape[1:]).filter(np.any), min_size=n_masks,
                          max_size=n_masks))
    return a, masks


@SETTINGS
@given(stack_and_masks(), budgets)
def test_roi_traces(data, budget):
    a, masks = data
    fs = FSeq_arr(a)
    f64 = a.astype(np.float64)
    ref = np.array([f64[:, m].mean(1) for m in masks])
    np.testing.assert_allclose(fs.multi_mask_reduce(masks, budget=budget), ref, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(fs.mask_reduce(masks[0], budget=budget), ref[0], rtol=1e-10, atol=1e-8)
    w = masks[0] * 0.5 + 0.25 * masks[-1]
    np.testing.assert_allclose(fs.softmask_reduce(w, budget=budget),
                               (f64 * w).sum((1, 2)) / w.sum(), rtol=1e-10, atol=1e-8)
    labels = np.zeros(a.shape[1:], int)
    for i, m in enumerate(masks, 1):
        labels[m] = i
    traces = fs.labels_reduce(labels, budget=budget)  # one row per label, in increasing order
    values = np.unique(labels[labels > 0])
    np.testing.assert_allclose(traces, [f64[:, labels == v].mean(1) for v in values], rtol=1e-10, atol=1e-8)


crops = st.tuples(st.builds(slice, st.integers(0, 4) | st.none(), st.integers(5, 9) | st.none()),
                  st.builds(slice, st.integers(0, 4) | st.none(), st.integers(5, 9) | st.none(),
                            st.sampled_from([None, 1, 2])))


@SETTINGS
@given(stacks(), fslices, crops, budgets)
def test_per_pixel(a, fslice, crop, budget):
    fs = FSeq_arr(a)
    ref = ref_select(a, fslice)
    if len(ref) == 0:
        return
    ref = ref[(slice(None), *crop)].astype(np.float64)
    if ref.size == 0:
        with pytest.raises(EmptySequenceError):
            fs.time_project(fslice, np.mean, crop, budget=budget)
        return
    np.testing.assert_allclose(fs.time_project(fslice, np.mean, crop, budget=budget), ref.mean(0))
    np.testing.assert_allclose(fs.time_project(fslice, lambda v: v.max() - v.min(), crop, budget=budget),
                               ref.max(0) - ref.min(0))
    np.testing.assert_allclose(fs.as3darray(fslice, crop, budget=budget), ref)
    pixels = list(fs.pix_iter(fslice=fslice, crop=crop, budget=budget))
    assert len(pixels) == ref.shape[1] * ref.shape[2]
    for v, r, c in pixels:
        np.testing.assert_allclose(v, ref[:, r, c])
    if len(ref) > 1:
        out = fs.pw_transform(lambda v: np.diff(v), fslice=fslice, crop=crop, budget=budget)
        np.testing.assert_allclose(np.asarray(out), np.diff(ref, axis=0))
    else:
        with pytest.raises(EmptySequenceError):
            fs.pw_transform(lambda v: np.diff(v), fslice=fslice, crop=crop, budget=budget)
    outv = fs.pw_transform(lambda v: v - v.mean(0), vectorized=True, fslice=fslice, crop=crop, budget=budget)
    np.testing.assert_allclose(np.asarray(outv), ref - ref.mean(0), atol=1e-9)


def test_pix_iter_mask_and_random_order():
    a = np.arange(5 * 4 * 6, dtype=float).reshape(5, 4, 6)
    fs = FSeq_arr(a)
    mask = np.zeros((4, 6), bool)
    mask[1, 2] = mask[3, 5] = mask[0, 0] = True
    got = sorted((r, c) for _, r, c in fs.pix_iter(pmask=mask))
    assert got == [(0, 0), (1, 2), (3, 5)]
    for budget in (None, 200):
        seen = {(r, c): v for v, r, c in fs.pix_iter(rand=True, budget=budget)}
        assert len(seen) == 24
        for (r, c), v in seen.items():
            np.testing.assert_array_equal(v, a[:, r, c])
    out = fs.pw_transform(lambda v: v + 1, pmask=mask)
    ref = np.where(mask, a + 1, 0)
    np.testing.assert_array_equal(np.asarray(out), ref)


@pytest.mark.parametrize("budget", [None, 4000])
def test_pw_transform_in_place_and_views(budget):
    """pwfn may change its private input in place, or return a view of it."""
    a = np.random.default_rng(7).random((30, 12, 10)).astype(np.float32)
    fs = FSeq_arr(a)

    def in_place(v):
        m = v.mean(0)
        v -= m
        v /= m
        return v

    np.testing.assert_allclose(np.asarray(fs.pw_transform(in_place, vectorized=True, dtype=np.float32,
                                                          budget=budget)),
                               (a - a.mean(0)) / a.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(fs.pw_transform(lambda v: v[::-1], vectorized=True,
                                                             dtype=np.float32, budget=budget)), a[::-1])
    np.testing.assert_array_equal(a, np.random.default_rng(7).random((30, 12, 10)).astype(np.float32))


def test_pw_transform_keeps_axes_and_length_may_change():
    fs = FSeq_arr(np.ones((10, 3, 3)), meta={"axes": [(0.1, "s"), (0.5, "um"), (0.5, "um")]})
    out = fs.pw_transform(lambda v: v[:4])
    assert len(out) == 4 and out.meta["axes"][1] == (0.5, "µm")


class TestIndexing:
    a = np.arange(10 * 3 * 4, dtype=np.uint16).reshape(10, 3, 4)

    def test_int_and_negative(self):
        fs = FSeq_arr(self.a)
        np.testing.assert_array_equal(fs[3], self.a[3])
        np.testing.assert_array_equal(fs[-1], self.a[-1])
        np.testing.assert_array_equal(fs[np.int64(-10)], self.a[0])
        for bad in (10, -11):
            with pytest.raises(FrameIndexError):
                fs[bad]

    def test_lazy_subsequences(self):
        fs = FSeq_arr(self.a)
        sub = fs[1:9:2]
        assert isinstance(sub, FSeq_arr) and len(sub) == 4
        np.testing.assert_array_equal(np.asarray(sub), self.a[1:9:2])
        np.testing.assert_array_equal(np.asarray(sub[::-1]), self.a[1:9:2][::-1])
        np.testing.assert_array_equal(np.asarray(fs[[5, 0, 5, -1]]), self.a[[5, 0, 5, -1]])
        mask = self.a[:, 0, 0] % 3 == 0
        np.testing.assert_array_equal(np.asarray(fs[mask]), self.a[mask])
        np.testing.assert_array_equal(fs[2:][1:][0], self.a[3])
        assert np.asarray(fs).dtype == np.uint16
        np.testing.assert_array_equal(sub.mean_frame(), self.a[1:9:2].mean(0))

    def test_bad_indices(self):
        fs = FSeq_arr(self.a)
        with pytest.raises(EmptySequenceError):
            fs[5:5]
        with pytest.raises(FrameIndexError):
            fs[[0, 10]]
        with pytest.raises(FrameIndexError):
            fs[np.ones(3, bool)]
        with pytest.raises(FrameIndexError):
            fs[0, 1]
        with pytest.raises(FrameIndexError):
            fs[[0.5]]

    def test_len_length_shape_repr(self):
        fs = FSeq_arr(self.a, meta={"axes": [(0.05, "s"), (0.3, "um"), (0.3, "um")]})
        assert len(fs) == fs.length() == 10
        assert fs.shape() == (3, 4) and fs.shape((slice(1, 3),)) == (2, 4)
        text = repr(fs)
        assert "10 frames" in text and "(3, 4)" in text and "uint16" in text
        assert "0.05 s" in text and "µm" in text and "array" in text


def test_fslice_and_crop_forms():
    a = np.random.default_rng(1).random((12, 5, 6))
    fs = FSeq_arr(a)
    np.testing.assert_allclose(fs.mean_frame(4), a[:4].mean(0))
    np.testing.assert_allclose(fs.mean_frame((4,)), a[:4].mean(0))
    np.testing.assert_allclose(fs.mean_frame((2, 8)), a[2:8].mean(0))
    np.testing.assert_allclose(fs.mean_frame((2, 11, 3)), a[2:11:3].mean(0))
    np.testing.assert_allclose(fs.mean_frame(slice(None, None, -2)), a[::-2].mean(0))
    np.testing.assert_allclose(fs.mean_frame(crop=(slice(1, 3), slice(2, 5))), a[:, 1:3, 2:5].mean(0))
    listed = fs.aslist(3, crop=(slice(0, 2),))
    assert len(listed) == 3 and listed[0].shape == (2, 6)
    assert next(iter(fs.frame_slices((slice(0, 1), slice(0, 2))))).shape == (1, 2)
    assert len(list(fs.frames())) == 12 and len(list(fs.asiter((2, 5)))) == 3
    for bad in (0, (5, 5), (3, 1)):
        with pytest.raises(EmptySequenceError):
            fs.mean_frame(bad)
    for bad in (-1, (1, 2, 3, 4), "abc", True):
        with pytest.raises(ImfunError):
            fs.mean_frame(bad)
    with pytest.raises(EmptySequenceError):
        fs.mean_frame(crop=(slice(3, 3),))
    with pytest.raises(InvalidArgumentError):
        fs.mean_frame(crop=[1, 2])


def test_pipeline_seen_by_every_method():
    a = np.random.default_rng(2).random((8, 6, 7))
    fs = FSeq_arr(a, fns=[lambda f: f * 2.0, lambda f: f[1:, :-1]])
    ref = a[:, 1:, :-1] * 2.0
    assert fs.frame_shape == (5, 6) and fs.dtype == np.float64
    np.testing.assert_allclose(fs[0], ref[0])
    np.testing.assert_allclose(fs.mean_frame(), ref.mean(0))
    np.testing.assert_allclose(fs.std(), ref.std())
    np.testing.assert_array_equal(fs.data_percentile([5, 95]), np.percentile(ref, [5, 95]))
    np.testing.assert_allclose(fs.mask_reduce((slice(0, 2), slice(0, 3))), ref[:, :2, :3].mean((1, 2)))
    np.testing.assert_allclose(fs.time_project(fn=np.max, crop=(slice(1, 4),)), ref[:, 1:4].max(0))
    np.testing.assert_allclose(fs.as3darray(crop=(slice(1, 4),)), ref[:, 1:4])
    assert fs.pipeline()(np.ones((6, 7))).shape == (5, 6)
    fs.fns.append(lambda f: f.astype(np.float32))  # changing fns is seen at once
    assert fs.dtype == np.float32
    frame = a[0]
    assert FSeq_arr(a).pipeline()(frame) is frame


def test_pipeline_with_changing_shape_is_an_error():
    fs = FSeq_arr(np.zeros((4, 5, 5)), fns=[lambda f: f[: int(f.sum()) % 2 + 1 + np.random.randint(2)]])
    with pytest.raises(ShapeMismatchError):
        for _ in range(20):
            fs.mean_frame()


def test_dfof_hooks():
    from imfun.lib import DFoF, DFoSD

    v = np.array([[1.0, 0.0], [3.0, 0.0]])
    np.testing.assert_allclose(DFoF(v), [[-0.5, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(DFoSD(v), [[-1.0, 0.0], [1.0, 0.0]])
    with np.errstate(all="raise"):
        assert np.isfinite(DFoF(np.zeros((5, 3)))).all()
    stack = np.random.default_rng(3).random((6, 4, 4)) + 1
    np.testing.assert_allclose(DFoF(stack), (stack - stack.mean(0)) / stack.mean(0))
    fs = FSeq_arr(stack, fns=[DFoSD])  # the reference's per-frame hook
    np.testing.assert_allclose(fs[0], DFoSD(stack[0]))


def test_meta_axes_and_frame_idx():
    fs = FSeq_arr(np.zeros((5, 2, 2)))
    assert fs.meta["axes"][0] == (1, "")
    np.testing.assert_array_equal(fs.frame_idx(), np.arange(5))
    fs.meta["axes"][0] = (0.05, "s")
    scale, unit = fs.meta["axes"][0]
    assert (scale, unit) == (0.05, "s")
    np.testing.assert_allclose(fs.frame_idx(), np.arange(5) * 0.05)
    np.testing.assert_allclose(fs[1::2].frame_idx(), [0.05, 0.15])
    assert fs[1::2].meta["axes"][0] == (0.1, "s")
    np.testing.assert_allclose(fs[[0, 1, 4]].frame_idx(), [0, 0.05, 0.2])
    assert fs.meta["axes"][0] == (0.05, "s")  # the parent is untouched
    fs.meta["axes"][1] = (250, "nm")
    assert fs.meta["axes"][1].unit == "nm"
    for bad in ((0, "s"), (-1, "s"), ("x", "s"), (float("nan"), "s"), "abc"):
        with pytest.raises(InvalidArgumentError):
            fs.meta["axes"][0] = bad
    with pytest.raises(InvalidArgumentError):
        fs.meta["axes"].append((1, ""))
    fs2 = FSeq_arr(np.zeros((3, 2, 2)), meta={"axes": [(2, "ms"), (1, "um"), (1, "micron")]})
    assert fs2.meta["axes"][1].unit == "µm" and fs2.meta["axes"][2].unit == "µm"


def test_open_seq_arrays_and_sequences(tmp_path):
    a = np.random.default_rng(4).random((4, 3, 3))
    fs = open_seq(a)
    assert isinstance(fs, FSeq_arr) and isinstance(fs, FrameSequence)
    assert open_seq(fs) is fs
    np.save(tmp_path / "a.npy", a)
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    np.testing.assert_array_equal(np.asarray(open_seq(mm, fns=[np.sqrt])), np.sqrt(a))
    with pytest.raises(UnknownArgumentError, match="colour"):
        open_seq(a, colour=1)
    with pytest.raises(UnknownArgumentError):
        open_seq(fs, fns=[])
    with pytest.raises(ShapeMismatchError):
        open_seq(np.zeros((3, 3)))
    with pytest.raises(EmptySequenceError):
        open_seq(np.zeros((0, 3, 3)))


def test_unknown_keywords_are_errors():
    fs = FSeq_arr(np.zeros((3, 2, 2)))
    with pytest.raises(UnknownArgumentError, match="bogus"):
        fs.pix_iter(bogus=1)
    with pytest.raises(UnknownArgumentError, match="bogus"):
        fs.pw_transform(np.sqrt, bogus=1)
    with pytest.raises(TypeError):
        fs.mean_frame(bogus=1)


def test_mask_errors():
    fs = FSeq_arr(np.zeros((3, 4, 4)))
    with pytest.raises(ShapeMismatchError):
        fs.mask_reduce(np.ones((3, 3), bool))
    with pytest.raises(InvalidArgumentError):
        fs.mask_reduce(np.zeros((4, 4), bool))
    with pytest.raises(InvalidArgumentError):
        fs.softmask_reduce(np.full((4, 4), 2.0))
    with pytest.raises(InvalidArgumentError):
        fs.labels_reduce(np.zeros((4, 4), int))
    with pytest.raises(ShapeMismatchError):
        fs.labels_reduce(np.zeros((5, 4), int))
    with pytest.raises(InvalidArgumentError):
        fs.std(axis=1)
    with pytest.raises(InvalidArgumentError):
        fs.data_percentile(101)
    with pytest.raises(ShapeMismatchError):
        list(fs.pix_iter(pmask=np.ones((2, 2), bool)))


def test_pickle_and_context_manager():
    a = np.arange(24.0).reshape(2, 3, 4)
    fs = FSeq_arr(a, meta={"axes": [(0.1, "s"), (1, "um"), (1, "um")]})
    back = pickle.loads(pickle.dumps(fs[1:]))
    np.testing.assert_array_equal(np.asarray(back), a[1:])
    assert back.meta["axes"][0] == (0.1, "s")
    with FSeq_arr(a) as f2:
        assert len(f2) == 2


def test_budget_config():
    assert config.get_budget() == 256 * 1024**2
    with config.budget("1 KiB"):
        assert config.get_budget() == 1024
        a = np.random.default_rng(5).random((50, 8, 8))
        np.testing.assert_allclose(FSeq_arr(a).mean_frame(), a.mean(0))
    assert config.get_budget() == 256 * 1024**2
    for bad in ("lots", -5, 0, float("nan")):
        with pytest.raises(InvalidArgumentError):
            config.parse_bytes(bad)
    assert imfun.config.parse_bytes("1.5 GB") == 1_500_000_000


def test_blocks_bounded_by_budget():
    a = np.zeros((1000, 32, 32), np.uint16)
    fs = FSeq_arr(a)
    sizes = [len(b) for _, b in fs.iter_blocks(budget="1 MiB")]
    assert sum(sizes) == 1000 and max(sizes) * 32 * 32 * (2 + 8) * 2 <= 1024**2


def test_errors_derive_from_builtins():
    from imfun import errors

    assert issubclass(errors.FrameIndexError, IndexError)
    assert issubclass(errors.SourceNotFoundError, FileNotFoundError)
    assert issubclass(errors.DatasetError, KeyError)
    assert str(errors.DatasetError("no data set 'x'")) == "no data set 'x'"
    assert all(issubclass(getattr(errors, n), ImfunError) for n in dir(errors) if n.endswith("Error")
               and n != "ImfunError")


def test_arrays_handed_out_never_alias_the_source(tmp_path):
    a = np.arange(5 * 3 * 4, dtype=np.uint16).reshape(5, 3, 4)
    fs = FSeq_arr(a)
    for got in (np.asarray(fs), np.asarray(fs[1:4]), fs.as3darray(dtype=None), np.asarray(fs[[3, 1]])):
        got[...] = 7
    np.testing.assert_array_equal(a, np.arange(5 * 3 * 4, dtype=np.uint16).reshape(5, 3, 4))
    np.save(tmp_path / "a.npy", a)
    mm = FSeq_arr(np.load(tmp_path / "a.npy", mmap_mode="r"))
    out = np.asarray(mm[1:3])
    assert out.flags.writeable and out.flags.owndata
