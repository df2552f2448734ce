"""The dask engine against the local engine, on a real 2-process LocalCluster."""

from __future__ import annotations

import os

import numpy as np
import pytest

from imfun.dist import engine as dist_engine
from imfun.errors import InvalidArgumentError, ShapeMismatchError
from imfun.fseq import FSeq_arr

ROWS, COLS = 32, 48  # as the sources of conftest.py
AXES = [(0.1, "s"), (0.5, "µm"), (0.25, "µm")]


def _masks():
    a = np.zeros((ROWS, COLS), bool)
    a[3:9, 5:20] = True
    b = np.zeros((ROWS, COLS), bool)
    b[20:30, 30:47] = True
    soft = np.zeros((ROWS, COLS))
    soft[10:20, 10:30] = np.linspace(0, 1, 20)
    labels = np.zeros((ROWS, COLS), np.int32)
    labels[2:6, 2:6], labels[25:31, 40:44] = 3, 7
    return a, b, soft, labels


def _close(got, want):
    # float sums are combined in a tree on dask: equal to the last bits only
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-12, atol=1e-9)


def _reductions(fs, budget, engine):
    a, b, soft, labels = _masks()
    return {
        "mean": fs.mean_frame(budget=budget, engine=engine),
        "max": fs.max_project(budget=budget, engine=engine),
        "min": fs.min_project(budget=budget, engine=engine),
        "std_all": fs.std(budget=budget, engine=engine),
        "std_0": fs.std(axis=0, budget=budget, engine=engine),
        "range": np.array(fs.data_range(budget=budget, engine=engine)),
        "pct": fs.data_percentile([0, 1, 50, 99.5, 100], budget=budget, engine=engine),
        "mask": fs.mask_reduce(a, budget=budget, engine=engine),
        "soft": fs.softmask_reduce(soft, budget=budget, engine=engine),
        "multi": fs.multi_mask_reduce([a, b], budget=budget, engine=engine),
        "labels": fs.labels_reduce(labels, budget=budget, engine=engine),
        "sub_mean": fs.mean_frame(fslice=(3, None, 2), crop=(slice(4, 20), slice(1, 40)),
                                  budget=budget, engine=engine),
    }


EXACT = {"max", "min", "range", "pct", "mask", "soft", "multi", "labels"}


def test_reductions_on_cluster_equal_local(client, source):
    data, fs = source
    budget = data.nbytes  # several blocks, and exact percentiles by radix passes
    local = _reductions(fs, budget, "local")
    remote = _reductions(fs, budget, client)
    for key, want in local.items():
        if key in EXACT:
            np.testing.assert_array_equal(remote[key], want, err_msg=key)
        else:
            _close(remote[key], want)
    # and the local engine is right: the numpy reference
    np.testing.assert_array_equal(remote["pct"], np.percentile(data, [0, 1, 50, 99.5, 100]))
    np.testing.assert_array_equal(remote["max"], data.max(axis=0))
    _close(remote["mean"], data.mean(axis=0, dtype=np.float64))


def test_pixel_work_on_cluster_equal_local(client, source):
    data, fs = source
    budget = data.nbytes // 3  # several tiles
    pmask = np.zeros((ROWS, COLS), bool)
    pmask[::3, 1::2] = True
    crop = (slice(2, 30), slice(5, 45))
    # tiles of other shapes may change numpy's summation order in the last bit
    np.testing.assert_allclose(fs.time_project(fn=np.std, budget=budget, engine=client),
                               fs.time_project(fn=np.std, budget=budget), rtol=1e-13)
    # a function without axis=: once per pixel, in the workers
    ptp = lambda v: v.max() - v.min()  # noqa: E731
    np.testing.assert_array_equal(fs.time_project((2, 30), fn=ptp, crop=crop, budget=budget, engine=client),
                                  fs.time_project((2, 30), fn=ptp, crop=crop, budget=budget))
    halve = lambda v: v[::2] * 0.5  # noqa: E731
    got = fs.pw_transform(halve, pmask=pmask, budget=budget, engine=client)
    want = fs.pw_transform(halve, pmask=pmask, budget=budget)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert got.meta["axes"] == fs.meta["axes"]
    diff = lambda tile: np.diff(tile, axis=0)  # noqa: E731
    got = fs.pw_transform(diff, vectorized=True, crop=crop, fslice=(1, 25), dtype=np.float32,
                          budget=budget, engine=client)
    want = fs.pw_transform(diff, vectorized=True, crop=crop, fslice=(1, 25), dtype=np.float32,
                           budget=budget)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_colour_and_pipeline_on_cluster(client):
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 4000, (20, 16, 24, 3)).astype(np.uint16)
    fs = FSeq_arr(rgb, meta={"axes": AXES})
    budget = rgb.nbytes
    np.testing.assert_array_equal(fs.data_range(budget=budget, engine=client), fs.data_range(budget=budget))
    np.testing.assert_array_equal(fs.data_percentile([5, 95], budget=budget, engine=client),
                                  np.percentile(rgb.reshape(-1, 3), [5, 95], axis=0))
    _close(fs.std(budget=budget, engine=client), fs.std(budget=budget))
    # a pipeline of lambdas travels to the workers with the sequence
    piped = FSeq_arr(rgb[..., 0], fns=[lambda f: f * 2.0 + 1])
    _close(piped.mean_frame(budget=budget // 3, engine=client), rgb[..., 0].mean(axis=0) * 2 + 1)
    np.testing.assert_array_equal(piped.time_project(fn=np.max, budget=budget // 3, engine=client),
                                  rgb[..., 0].max(axis=0) * 2.0 + 1)


def test_errors_travel_back(client):
    fs = FSeq_arr(np.zeros((10, 4, 5)))
    with pytest.raises(ShapeMismatchError):
        fs.time_project(fn=lambda tile, axis: tile[:2], engine=client)  # not a reduction
    with pytest.raises(ZeroDivisionError):
        fs.pw_transform(lambda v: int(v.sum()) // 0, engine=client)


def test_engine_none_follows_an_active_client(client, monkeypatch):
    calls = []
    real = dist_engine.run

    def spy(*args):
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(dist_engine, "run", spy)
    fs = FSeq_arr(np.arange(60.0).reshape(15, 2, 2))
    fs.mean_frame()
    assert calls == []  # no active client: the local engine
    assert not dist_engine.wants_dask(None)
    with client.as_current():
        assert dist_engine.wants_dask(None)
        np.testing.assert_array_equal(fs.max_project(), np.arange(60.0).reshape(15, 2, 2)[-1])
        assert fs.mean_frame(engine="local") is not None
    assert calls == [None]


def test_every_reader_pickles_and_reads_in_a_worker(client, sources):
    def probe(seq):
        return os.getpid(), type(seq.reader).__name__, np.asarray(seq[5:9]), seq[-1]

    for name, (data, opener) in sources.items():
        with opener() as fs:
            pid, reader, block, last = client.submit(probe, fs, pure=False).result()
            assert pid != os.getpid(), name
            np.testing.assert_array_equal(block, data[5:9], err_msg=name)
            np.testing.assert_array_equal(last, data[-1], err_msg=name)
            assert reader == type(fs.reader).__name__


def test_threaded_scheduler_without_a_cluster(sources):
    data, opener = sources["tiff"]
    assert dist_engine.active_client() is None
    with opener() as fs:
        budget = data.nbytes
        local, dask = _reductions(fs, budget, "local"), _reductions(fs, budget, "dask")
        for key, want in local.items():
            if key in EXACT:
                np.testing.assert_array_equal(dask[key], want, err_msg=key)
            else:
                _close(dask[key], want)
        np.testing.assert_array_equal(fs.time_project(fn=np.median, budget=budget // 4, engine="dask"),
                                      np.median(data, axis=0))
        np.testing.assert_array_equal(
            np.asarray(fs.pw_transform(lambda v: v - v.mean(), budget=budget // 4, engine="dask")),
            np.asarray(fs.pw_transform(lambda v: v - v.mean(), budget=budget // 4)))
    data, opener = sources["tiff_zlib"]  # tiles cut by dask from whole frames
    with opener() as fs:
        np.testing.assert_array_equal(fs.time_project((1, 33), fn=np.max, budget=data.nbytes // 4,
                                                      crop=(slice(1, 30), slice(2, 40)), engine="dask"),
                                      data[1:33, 1:30, 2:40].max(axis=0))


def test_engine_argument_is_checked():
    fs = FSeq_arr(np.zeros((4, 2, 2)))
    with pytest.raises(InvalidArgumentError, match="engine"):
        fs.mean_frame(engine="spark")
    with pytest.raises(InvalidArgumentError, match="engine"):
        fs.time_project(engine=3)
    assert not dist_engine.wants_dask("local")


def test_blocks_follow_the_readers_chunks():
    class Chunked:  # an array-like with chunks of 5 frames
        shape, dtype, chunks = (40, 4, 4), np.dtype(float), (5, 4, 4)

        def __getitem__(self, key):
            return np.zeros((40, 4, 4))[key]

    fs = FSeq_arr(Chunked())
    assert fs.reader.natural_block == 5
    runs = dist_engine.block_runs(fs, np.arange(3, 40), per_block=12)
    # cuts on source frames 5, 15, 25, 35: no chunk read by two tasks
    assert runs == [(0, 12), (12, 22), (22, 32), (32, 37)]
    assert all(b - a <= 12 for a, b in runs)
    sub = fs[1::2]
    runs = dist_engine.block_runs(sub, np.arange(len(sub)), per_block=6, min_blocks=4)
    src = sub.source_frames(np.arange(len(sub)))
    assert runs[0] == (0, 5) and sum(b - a for a, b in runs) == len(sub)
    assert all(src[a] // 5 != src[a - 1] // 5 for a, _ in runs[1:])  # cuts on chunk boundaries
    runs = dist_engine.block_runs(fs, np.arange(40), per_block=3)
    assert runs == [(i, min(i + 3, 40)) for i in range(0, 40, 3)]


def test_tiles_cover_the_frame():
    from imfun.engine.pixels import plan_tiles

    # 100 frames x (2 bytes read + 2 tiles in flight x 3 float64 copies) = 5000 bytes a pixel
    tiles = plan_tiles(100, (30, 20), 2, budget=5000 * 10 * 20, min_tiles=1)
    assert [r for r, _ in tiles] == [slice(0, 10), slice(10, 20), slice(20, 30)]
    tiles = plan_tiles(100, (30, 20), 2, budget=10**9, min_tiles=4)
    assert len(tiles) == 4 and tiles[-1][0].stop == 30
    tiles = plan_tiles(100, (3, 20), 8, budget=100 * 16 * 7)
    covered = np.zeros((3, 20), int)
    for r, c in tiles:
        covered[r, c] += 1
    assert (covered == 1).all()
