"""Block plans: runs aligned to a reduction's multiple; frames copied by threads."""

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from imfun.engine.blocks import aligned, spans
from imfun.fseq import FSeq_arr


@given(st.integers(1, 300), st.integers(1, 40), st.integers(1, 9))
def test_aligned_runs_cover_the_frames_and_start_at_multiples(n, per_block, k):
    runs = aligned(spans(n, per_block), k)
    assert runs[0][0] == 0 and runs[-1][1] == n
    assert all(a < b for a, b in runs) and all(b == c for (_, b), (c, _) in itertools.pairwise(runs))
    assert all(a % k == 0 for a, _ in runs)


def test_binned_summary_is_the_same_at_any_budget():
    from imfun.analysis.summary import summary_images

    rng = np.random.default_rng(3)
    x = rng.poisson(40, (95, 20, 24)).astype(np.uint16)
    fs = FSeq_arr(x)
    ref = summary_images(fs, time_bin=4)
    tiny = summary_images(fs, time_bin=4, budget=7 * 20 * 24 * 8)  # blocks of a few frames
    np.testing.assert_allclose(tiny.correlation, ref.correlation, atol=1e-5)
    np.testing.assert_allclose(tiny.pnr, ref.pnr, rtol=1e-5)


def test_copy_frames_equals_numpy_copy_in_threads(monkeypatch):
    from imfun.readers import base

    monkeypatch.setattr(base, "THREADED_COPY_BYTES", 0)  # threads even for small arrays
    rng = np.random.default_rng(0)
    big = rng.integers(0, 1000, (9, 50, 70), dtype=np.uint16)
    for view in (big, big[::2], big[:, 10:30], big[3:4]):
        out = base.copy_frames(view)
        np.testing.assert_array_equal(out, view)
        assert out.flags.c_contiguous and out.flags.owndata and not np.shares_memory(out, big)
    frames = np.array([8, 0, 3, 3, 5])
    out = base.copy_frames(big[:, 5:9], frames)
    np.testing.assert_array_equal(out, big[frames, 5:9])
    assert out.flags.c_contiguous and not np.shares_memory(out, big)
