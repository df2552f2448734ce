"""ROI traces read only the boxes of groups of nearby ROIs on readers that crop cheaply, and
equal numpy's means whatever the grouping, the budget, colour or the engine."""

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from imfun.engine.reduce import RoiTraces
from imfun.fseq import FSeq_arr, open_seq


def scattered_masks(rng, shape, n, size=5):
    masks = []
    for _ in range(n):
        r, c = rng.integers(0, shape[0] - size), rng.integers(0, shape[1] - size)
        m = np.zeros(shape, bool)
        m[r:r + size, c:c + rng.integers(1, size + 1)] = True
        masks.append(m)
    return masks


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 12), budget=st.sampled_from([None, 4000, 50_000]))
def test_grouped_reads_equal_numpy(tmp_path_factory, seed, n, budget):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 4000, (9, 60, 70)).astype(np.uint16)
    path = tmp_path_factory.mktemp("g") / "m.tif"
    tifffile.imwrite(path, data)
    masks = scattered_masks(rng, data.shape[1:], n)
    want = np.stack([data[:, m].mean(axis=1) for m in masks])
    with open_seq(path) as fs:
        assert fs.reader.cheap_crop
        np.testing.assert_allclose(fs.multi_mask_reduce(masks, budget=budget), want, rtol=1e-12)
    np.testing.assert_allclose(FSeq_arr(data, fns=[lambda f: f * 1.0]).multi_mask_reduce(masks), want,
                               rtol=1e-12)


def test_scattered_rois_make_several_groups_and_touch_few_pixels():
    masks = [np.zeros((512, 512), bool) for _ in range(3)]
    masks[0][10:20, 10:20] = masks[1][400:410, 30:40] = masks[2][200:210, 480:490] = True
    red = RoiTraces(masks)
    assert len(red.groups) == 3
    touched = sum((g.rel[0].stop - g.rel[0].start) * (g.rel[1].stop - g.rel[1].start) for g in red.groups)
    assert touched == 300
    near = [np.zeros((64, 64), bool) for _ in range(2)]
    near[0][10:20, 10:20] = near[1][12:22, 14:24] = True
    assert len(RoiTraces(near).groups) == 1


def test_colour_frames_and_the_dask_engine(tmp_path):
    pytest.importorskip("dask")
    rng = np.random.default_rng(3)
    data = rng.integers(0, 255, (6, 50, 60, 3)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "c.tif", data, photometric="rgb")
    masks = scattered_masks(rng, (50, 60), 5)
    want = np.stack([data[:, m].mean(axis=1) for m in masks])
    with open_seq(tmp_path / "c.tif") as fs:
        np.testing.assert_allclose(fs.multi_mask_reduce(masks), want, rtol=1e-12)
        np.testing.assert_allclose(fs.multi_mask_reduce(masks, engine="dask"), want, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), colour=st.booleans(), weighted=st.booleans(),
       run_bytes=st.sampled_from([1, 5000, 2**20]), view=st.booleans())
def test_traces_in_runs_of_frames_equal_numpy(seed, n, colour, weighted, run_bytes, view):
    """Masks of any shape (holes, several runs in a row) and weights, grey or colour, reduced
    in runs of frames of any length, from a contiguous block or a view of one, equal numpy."""
    from imfun.engine import reduce

    rng = np.random.default_rng(seed)
    data = rng.integers(0, 4000, (37, 20, 24, 3) if colour else (37, 20, 24)).astype(np.uint16)
    masks = [rng.random(data.shape[1:3]) < rng.uniform(0.05, 0.9) for _ in range(n)]
    for m in masks:
        m[rng.integers(20), rng.integers(24)] = True  # never empty
    weights = [m * rng.uniform(0.1, 1, m.shape) if weighted else m for m in masks]
    want = np.stack([np.tensordot(w * 1.0, data, axes=([0, 1], [1, 2])) / w.sum() for w in weights])
    red = RoiTraces(weights)
    block = data[(slice(None), *red.bbox)]  # a strided view, as a crop of a memory map is
    if not view:
        block = np.ascontiguousarray(block)  # as a decoded block is
    before, reduce.RUN_BYTES = reduce.RUN_BYTES, run_bytes
    try:
        [(_, got)] = red.map(0, block)
    finally:
        reduce.RUN_BYTES = before
    np.testing.assert_allclose(got, want, rtol=1e-12)
