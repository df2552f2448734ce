"""The reader conformance kit: one pytest class that every reader's tests subclass.

A format's tests say how to write frames with the format's real library; the
kit then checks that :func:`imfun.fseq.open_seq` gives back the same frames
through every road of :class:`~imfun.fseq.FrameSequence`: indexing,
sub-sequences, crops, every engine method against numpy, the pipeline,
pickling, threads and closing.

Examples
--------
A test module for a format ``foo`` (collected by pytest because the class
name starts with ``Test``)::

    import numpy as np
    from imfun.testing import ReaderConformance
    from imfun.fseq import FSeq_foo

    class TestFoo(ReaderConformance):
        seq_class = FSeq_foo

        def write(self, tmp_path, frames):
            path = tmp_path / "x.foo"
            foolib.write(path, frames)
            return path

The fixture ``frames_fs`` gives ``(expected_frames, fs)`` for extra tests in
the subclass; ``self.open(src, **kwargs)`` opens a source with ``open_kwargs``.
"""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np
import pytest

from .fseq import open_seq

# frames chosen to exercise indexing: repeats, out of order, negative
_PICK = [5, 1, 1, -1, 0, 7]


class ReaderConformance:
    """Mixin of conformance tests for a reader; subclass it in a ``Test...`` class.

    Attributes
    ----------
    seq_class : type
        The ``FrameSequence`` subclass that ``open_seq`` must return.
    colour : bool
        Frames are ``rows x cols x channels``.
    atol : float
        Tolerance of the frames read against :meth:`expected` (lossy formats).
        Engine methods are then checked against numpy on the frames as read.
    open_kwargs : dict
        Extra keyword arguments for ``open_seq``.
    expected_meta : dict
        Metadata the reader must produce, checked by value: ``'axes'`` (three
        ``(scale, unit)`` pairs), ``'channel_names'``, ``'frame_times'`` (seconds),
        ``'t0'``, or any other key of ``fs.meta``.
    """

    seq_class: type
    colour: bool = False
    atol: float = 0
    open_kwargs: ClassVar[dict[str, Any]] = {}
    expected_meta: ClassVar[dict[str, Any]] = {}

    # -- what the subclass provides ------------------------------------------------
    def make_frames(self) -> np.ndarray:
        """The frames to write: seeded random ``(12, 16, 20)`` uint16, or ``(12, 16, 20, 3)`` uint8."""
        rng = np.random.default_rng(1234)
        if self.colour:
            return rng.integers(0, 256, (12, 16, 20, 3), dtype=np.uint8)
        return rng.integers(0, 60000, (12, 16, 20), dtype=np.uint16)

    def write(self, tmp_path, frames: np.ndarray) -> object:
        """Write ``frames`` with the format's own library; return what to give ``open_seq``."""
        raise NotImplementedError("a ReaderConformance subclass must implement write()")

    def expected(self, frames: np.ndarray) -> np.ndarray:
        """The frames the reader should give back (override when the format changes dtype)."""
        return frames

    # -- helpers ---------------------------------------------------------------------
    def open(self, src, **kwargs):
        """``open_seq(src, **open_kwargs, **kwargs)``."""
        return open_seq(src, **{**self.open_kwargs, **kwargs})

    def assert_frames(self, actual, expected, what: str = "frames") -> None:
        """Equal frames (within ``atol`` for lossy formats), same shape."""
        actual = np.asarray(actual)
        expected = np.asarray(expected)
        assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
        if self.atol:
            np.testing.assert_allclose(actual.astype(float), expected.astype(float), rtol=0,
                                       atol=self.atol, err_msg=what)
        else:
            np.testing.assert_array_equal(actual, expected, err_msg=what)

    @staticmethod
    def assert_close(actual, expected, what: str = "result") -> None:
        """Numerically equal (engine results are float; summation order may differ)."""
        actual = np.asarray(actual, dtype=float)
        expected = np.asarray(expected, dtype=float)
        assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9, err_msg=what)

    # -- fixtures -----------------------------------------------------------------------
    # class-scoped (written and opened once per test class), so they run on a
    # fresh instance: write() and friends must not rely on state set in tests
    @pytest.fixture(scope="class")
    @classmethod
    def conformance_source(cls, tmp_path_factory):
        """``(src, expected)``: the frames written once per test class."""
        self = cls()
        frames = self.make_frames()
        src = self.write(tmp_path_factory.mktemp(cls.__name__), frames)
        return src, np.asarray(self.expected(frames))

    @pytest.fixture(scope="class")
    @classmethod
    def frames_fs(cls, conformance_source):
        """``(expected_frames, fs)``, the sequence opened once per test class and closed after."""
        src, expected = conformance_source
        fs = cls().open(src)
        yield expected, fs
        fs.close()

    @pytest.fixture(scope="class")
    @classmethod
    def truth(cls, frames_fs):
        """Ground truth for the engine methods: the expected frames, or for lossy
        formats the frames as read (so engine results are checked exactly)."""
        expected, fs = frames_fs
        if cls.atol:
            return fs.as3darray(dtype=None)
        return expected

    def _grey_or_channels(self, data: np.ndarray) -> np.ndarray:
        """All values as ``(n,)``, or ``(n, channels)`` for colour."""
        return data.reshape(-1, data.shape[-1]) if self.colour else data.ravel()

    # -- opening and shape -----------------------------------------------------------
    def test_open_class(self, frames_fs):
        _, fs = frames_fs
        assert type(fs) is self.seq_class, \
            f"open_seq returned {type(fs).__name__}, expected {self.seq_class.__name__}"

    def test_shape_and_dtype(self, frames_fs):
        expected, fs = frames_fs
        assert len(fs) == len(expected) == fs.length()
        assert fs.frame_shape == expected.shape[1:]
        assert fs.shape() == expected.shape[1:]
        assert fs.shape((slice(2, 9), slice(1, 12, 3))) == (7, 4, *expected.shape[3:])
        assert fs.ndim == expected.ndim
        assert fs.dtype == expected.dtype, f"dtype {fs.dtype} != {expected.dtype}"
        assert (fs.frame_shape[-1] if self.colour else len(fs.frame_shape)) == \
            (expected.shape[-1] if self.colour else 2)

    # -- reading ---------------------------------------------------------------------
    def test_single_frames(self, frames_fs):
        expected, fs = frames_fs
        for i in (0, 1, len(expected) // 2, len(expected) - 1, -1, -len(expected)):
            frame = fs[i]
            assert frame.dtype == expected.dtype
            self.assert_frames(frame, expected[i], f"fs[{i}]")

    def test_asarray(self, frames_fs):
        expected, fs = frames_fs
        data = np.asarray(fs)
        assert data.dtype == expected.dtype
        self.assert_frames(data, expected, "np.asarray(fs)")
        self.assert_frames(np.stack(list(fs)), expected, "iter(fs)")

    @pytest.mark.parametrize("sl", [slice(2, 9), slice(1, 11, 3), slice(None, None, -2),
                                    slice(-4, None), slice(3, 4)])
    def test_slices(self, frames_fs, sl):
        expected, fs = frames_fs
        sub = fs[sl]
        assert len(sub) == len(expected[sl])
        self.assert_frames(np.asarray(sub), expected[sl], f"fs[{sl}]")

    def test_fancy_index(self, frames_fs):
        expected, fs = frames_fs
        self.assert_frames(np.asarray(fs[_PICK]), expected[_PICK], f"fs[{_PICK}]")
        self.assert_frames(np.asarray(fs[np.array(_PICK)]), expected[_PICK], "fs[array]")

    def test_bool_mask(self, frames_fs):
        expected, fs = frames_fs
        mask = np.zeros(len(expected), bool)
        mask[[0, 3, 4, len(expected) - 1]] = True
        self.assert_frames(np.asarray(fs[mask]), expected[mask], "fs[mask]")

    def test_subsequence_of_subsequence(self, frames_fs):
        expected, fs = frames_fs
        sub = fs[1:11][::2][[3, 0, 0]]
        self.assert_frames(np.asarray(sub), expected[1:11][::2][[3, 0, 0]], "fs[1:11][::2][[3,0,0]]")
        self.assert_frames(sub[1], expected[1], "sub-sequence frame")

    def test_random_access_equals_sequential(self, conformance_source):
        """Every frame read alone, in a shuffled and in reversed order, equals the same frame of
        one sequential pass (decoders that reorder frames, seek points, caches)."""
        src, _ = conformance_source
        with self.open(src) as fs:
            sequential = np.stack(list(fs))
        order = np.random.default_rng(7).permutation(len(sequential))
        with self.open(src) as fs:
            for k in order:
                np.testing.assert_array_equal(fs[int(k)], sequential[k], err_msg=f"fs[{k}] read at random")
            np.testing.assert_array_equal(np.asarray(fs[::-1]), sequential[::-1], err_msg="fs[::-1]")

    def test_as3darray(self, frames_fs):
        expected, fs = frames_fs
        crop = (slice(2, 13), slice(3, 18, 2))
        out = fs.as3darray((1, 10, 2), crop)
        assert out.dtype == np.float64
        self.assert_frames(out, expected[1:10:2][:, 2:13, 3:18:2].astype(np.float64), "as3darray")
        out = fs.as3darray(5, crop, dtype=np.float32)
        assert out.dtype == np.float32
        self.assert_frames(out, expected[:5][:, 2:13, 3:18:2].astype(np.float32), "as3darray(5)")
        out = fs.as3darray(dtype=None)
        assert out.dtype == expected.dtype
        self.assert_frames(out, expected, "as3darray(dtype=None)")

    def test_iter_blocks_small_budget(self, frames_fs):
        expected, fs = frames_fs
        per_frame = int(np.prod(expected.shape[1:])) * expected.dtype.itemsize
        blocks = list(fs.iter_blocks(budget=3 * per_frame))
        assert len(blocks) > 1
        data = np.concatenate([b for _, b in blocks])
        assert [s for s, _ in blocks] == list(np.cumsum([0] + [len(b) for _, b in blocks[:-1]]))
        self.assert_frames(data, expected, "iter_blocks with a small budget")

    # -- engine methods against numpy ----------------------------------------------------
    def test_mean_frame(self, frames_fs, truth):
        _, fs = frames_fs
        self.assert_close(fs.mean_frame(), truth.mean(axis=0, dtype=float), "mean_frame")
        self.assert_close(fs.mean_frame((2, 10, 3), crop=(slice(1, 9), slice(None))),
                          truth[2:10:3, 1:9].mean(axis=0, dtype=float), "mean_frame(fslice, crop)")

    def test_max_min_project(self, frames_fs, truth):
        _, fs = frames_fs
        self.assert_close(fs.max_project(), truth.max(axis=0), "max_project")
        self.assert_close(fs.min_project(), truth.min(axis=0), "min_project")
        self.assert_close(fs.max_project(4), truth[:4].max(axis=0), "max_project(4)")

    def test_std(self, frames_fs, truth):
        _, fs = frames_fs
        values = self._grey_or_channels(truth.astype(float))
        self.assert_close(fs.std(), values.std(axis=0), "std(axis=None)")
        self.assert_close(fs.std(axis=0), truth.astype(float).std(axis=0), "std(axis=0)")

    def test_data_range(self, frames_fs, truth):
        _, fs = frames_fs
        values = self._grey_or_channels(truth)
        want = np.stack([values.min(axis=0), values.max(axis=0)], axis=-1)
        self.assert_close(fs.data_range(), want, "data_range")

    def test_data_percentile(self, frames_fs, truth):
        _, fs = frames_fs
        values = self._grey_or_channels(truth)
        self.assert_close(fs.data_percentile(37.5), np.percentile(values, 37.5, axis=0),
                          "data_percentile(37.5)")
        ps = [0, 1, 50, 99.5, 100]
        self.assert_close(fs.data_percentile(ps), np.percentile(values, ps, axis=0),
                          f"data_percentile({ps})")

    def _masks(self, shape):
        yy, xx = np.mgrid[:shape[0], :shape[1]]
        disc = (yy - 7) ** 2 + (xx - 9) ** 2 < 20
        corner = (yy < 4) & (xx > shape[1] - 6)
        return disc, corner

    def test_mask_reduce(self, frames_fs, truth):
        _, fs = frames_fs
        disc, _ = self._masks(truth.shape[1:3])
        self.assert_close(fs.mask_reduce(disc), truth[:, disc].mean(axis=1, dtype=float),
                          "mask_reduce(bool mask)")
        crop = (slice(3, 10), slice(5, 15))
        self.assert_close(fs.mask_reduce(crop), truth[:, 3:10, 5:15].mean(axis=(1, 2), dtype=float),
                          "mask_reduce(tuple of slices)")
        self.assert_close(fs.mask_reduce(disc, fslice=(2, 8)),
                          truth[2:8, disc].mean(axis=1, dtype=float), "mask_reduce(fslice)")

    def test_softmask_reduce(self, frames_fs, truth):
        _, fs = frames_fs
        rows, cols = truth.shape[1:3]
        yy, xx = np.mgrid[:rows, :cols]
        w = np.clip(1 - np.hypot(yy - 8, xx - 10) / 7, 0, 1)
        want = np.einsum("tij...,ij->t...", truth.astype(float), w) / w.sum()
        self.assert_close(fs.softmask_reduce(w), want, "softmask_reduce")

    def test_multi_mask_reduce(self, frames_fs, truth):
        _, fs = frames_fs
        masks = self._masks(truth.shape[1:3])
        want = np.stack([truth[:, m].mean(axis=1, dtype=float) for m in masks])
        self.assert_close(fs.multi_mask_reduce(list(masks)), want, "multi_mask_reduce(list)")
        self.assert_close(fs.multi_mask_reduce(np.stack(masks)), want, "multi_mask_reduce(3-D)")

    def test_labels_reduce(self, frames_fs, truth):
        _, fs = frames_fs
        disc, corner = self._masks(truth.shape[1:3])
        labels = np.zeros(truth.shape[1:3], np.int32)
        labels[corner] = 7
        labels[disc] = 3
        want = np.stack([truth[:, labels == v].mean(axis=1, dtype=float) for v in (3, 7)])
        traces = fs.labels_reduce(labels)  # rows in label order: 3, then 7
        self.assert_close(traces, want, "labels_reduce")

    def test_time_project(self, frames_fs, truth):
        _, fs = frames_fs
        self.assert_close(fs.time_project(fn=np.max), truth.max(axis=0), "time_project(np.max)")
        self.assert_close(fs.time_project(), truth.mean(axis=0, dtype=float), "time_project()")
        got = fs.time_project(fslice=(1, 10), fn=lambda v: float(v[-1]) - float(v[0]))
        want = truth[9].astype(float) - truth[1].astype(float)
        self.assert_close(got, want, "time_project(lambda)")

    def test_pix_iter(self, frames_fs, truth):
        _, fs = frames_fs
        pmask = np.zeros(truth.shape[1:3], bool)
        pixels = [(0, 0), (3, 17), (15, 19), (8, 2)]
        for r, c in pixels:
            pmask[r, c] = True
        seen = {}
        for v, r, c in fs.pix_iter(pmask=pmask):
            seen[(int(r), int(c))] = np.asarray(v)
        assert sorted(seen) == sorted(pixels)
        for (r, c), v in seen.items():
            self.assert_close(v, truth[:, r, c].astype(float), f"pix_iter pixel {(r, c)}")

    def test_pw_transform(self, frames_fs, truth):
        _, fs = frames_fs
        out = fs.pw_transform(lambda v: np.diff(np.asarray(v, dtype=float), axis=0))
        self.assert_close(np.asarray(out), np.diff(truth.astype(float), axis=0), "pw_transform(diff)")
        out = fs.pw_transform(lambda v: v * 2.0 - v.mean(axis=0), vectorized=True)
        t = truth.astype(float)
        self.assert_close(np.asarray(out), t * 2 - t.mean(axis=0), "pw_transform(vectorized)")

    # -- the pipeline ------------------------------------------------------------------------
    def test_pipeline(self, conformance_source, truth):
        src, _ = conformance_source
        with self.open(src, fns=[lambda f: f * 2.0]) as fs:
            t2 = truth.astype(float) * 2.0
            assert fs.dtype == (truth[:1] * 2.0).dtype
            self.assert_close(fs[3], t2[3], "pipelined fs[3]")
            self.assert_close(np.asarray(fs[2:7]), t2[2:7], "pipelined fs[2:7]")
            self.assert_close(fs.mean_frame(), t2.mean(axis=0), "pipelined mean_frame")
            self.assert_close(fs.max_project(), t2.max(axis=0), "pipelined max_project")
            disc, _ = self._masks(truth.shape[1:3])
            self.assert_close(fs.mask_reduce(disc), t2[:, disc].mean(axis=1), "pipelined mask_reduce")
            values = self._grey_or_channels(t2)
            want = np.stack([values.min(axis=0), values.max(axis=0)], axis=-1)
            self.assert_close(fs.data_range(), want, "pipelined data_range")

    # -- pickling, threads, closing -----------------------------------------------------------
    def test_pickle(self, frames_fs):
        expected, fs = frames_fs
        fs2 = pickle.loads(pickle.dumps(fs))
        try:
            assert fs2.reader is not fs.reader
            self.assert_frames(np.asarray(fs2), expected, "unpickled sequence")
            assert fs2.meta["axes"] == fs.meta["axes"]
        finally:
            fs2.close()
        sub = pickle.loads(pickle.dumps(fs[1:9:2]))
        try:
            self.assert_frames(np.asarray(sub), expected[1:9:2], "unpickled sub-sequence")
        finally:
            sub.close()

    def test_threads(self, conformance_source):
        src, expected = conformance_source
        with self.open(src) as fs:
            jobs = [i % len(expected) for i in range(0, 5 * len(expected), 3)]
            sequential = [fs[i] for i in jobs]
            barrier = threading.Barrier(8)

            def work(k):
                barrier.wait()
                frames = [fs[i] for i in jobs[k::8]]
                block = np.asarray(fs[k % 4: k % 4 + 5])
                return frames, block

            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(work, range(8)))
            for k, (frames, block) in enumerate(results):
                for i, frame in zip(jobs[k::8], frames, strict=True):
                    np.testing.assert_array_equal(frame, sequential[jobs.index(i)],
                                                  err_msg=f"frame {i} read in a thread")
                self.assert_frames(block, expected[k % 4: k % 4 + 5], "block read in a thread")

    def test_context_manager_and_close(self, conformance_source):
        src, expected = conformance_source
        with self.open(src) as fs:
            self.assert_frames(fs[0], expected[0], "fs[0] in with")
        # closed: reading again reopens the source
        self.assert_frames(fs[-1], expected[-1], "fs[-1] after the with block")
        fs.close()
        fs.close()  # closing twice is harmless
        self.assert_frames(np.asarray(fs[1:4]), expected[1:4], "fs[1:4] after close()")
        fs.close()

    def test_close_leaves_no_file_open(self, conformance_source):
        """After ``close()`` no descriptor of the process points at the source's files."""
        psutil = pytest.importorskip("psutil")
        import os

        src, expected = conformance_source
        with self.open(src) as fs:
            paths = {os.path.realpath(p) for p in fs.source_paths()}

        def descriptors():  # other sequences of the test class may hold the same files open
            return sorted(f.path for f in psutil.Process().open_files() if os.path.realpath(f.path) in paths)

        before = descriptors()
        fs = self.open(src)
        self.assert_frames(fs[len(expected) // 2], expected[len(expected) // 2], "a frame")
        fs.close()
        still = descriptors()
        for path in before:  # those that were open before this sequence read anything
            if path in still:
                still.remove(path)
        assert not still, f"files still open after close(): {still}"

    def test_dask_graph_holds_no_pixels(self, frames_fs):
        """``to_dask()`` tasks read inside the workers: the graph holds the reader's recipe, not
        the pixels (an array in memory enters it once, never once per chunk)."""
        pytest.importorskip("dask")
        cloudpickle = pytest.importorskip("cloudpickle")
        expected, fs = frames_fs
        arr = fs.to_dask(chunks=max(1, len(expected) // 4))
        size = len(cloudpickle.dumps(dict(arr.__dask_graph__())))
        in_memory = isinstance(getattr(fs.reader, "arr", None), np.ndarray) and \
            not isinstance(fs.reader.arr, np.memmap)
        allowed = (1.2 if in_memory else 0.5) * expected.nbytes + 64_000
        assert size <= allowed, f"the dask graph pickles to {size} bytes for {expected.nbytes} of pixels"

    def test_declared_metadata(self, frames_fs):
        """The metadata the reader's tests declare (``expected_meta``), by value."""
        _, fs = frames_fs
        for key, want in self.expected_meta.items():
            got = fs.meta.get(key)
            assert got is not None, f"meta[{key!r}] is missing"
            if key == "axes":
                assert [tuple(a) for a in got] == [tuple(w) for w in want], f"meta['axes'] = {got}"
            elif key == "channel_names":
                assert list(got) == list(want), f"meta['channel_names'] = {got}"
            elif isinstance(want, float | np.ndarray | list | tuple) and np.asarray(want).dtype.kind in "fiu":
                np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-9,
                                           err_msg=f"meta[{key!r}]")
            else:
                assert got == want, f"meta[{key!r}] = {got!r}, expected {want!r}"

    def test_repr(self, frames_fs):
        expected, fs = frames_fs
        text = repr(fs)
        assert f"{len(expected)} frames" in text, text
        assert "axes" in text, text

    def test_meta_axes(self, frames_fs):
        _, fs = frames_fs
        axes = fs.meta["axes"]
        assert len(axes) == 3
        for scale, unit in axes:
            assert scale > 0 and isinstance(unit, str)
        assert len(fs.frame_idx()) == len(fs)


__all__ = ["ReaderConformance"]
