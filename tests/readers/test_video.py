"""Tests of the video reader (FSeq_video, PyAV)."""

from __future__ import annotations

import pickle
import warnings
from fractions import Fraction

import numpy as np
import pytest

from imfun.errors import ChannelError, CorruptFileError, SourceNotFoundError
from imfun.fseq import open_seq
from imfun.testing import ReaderConformance

av = pytest.importorskip("av")
from imfun.readers.video import FSeq_video, VideoReader  # noqa: E402


def write_movie(path, frames, codec="ffv1", pix_fmt="bgr0", rate=25, options=None):
    """Write frames (n, rows, cols[, 3]) uint8 with PyAV; return the path."""
    fmt = "rgb24" if frames.ndim == 4 else "gray"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(rate), options=options or {})
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=fmt)))
        out.mux(stream.encode())
    return path


def smooth_rgb(n=12, rows=16, cols=20, seed=3):
    """Smooth moving colour patterns: lossy codecs keep them within a few levels."""
    t, y, x = np.mgrid[:n, :rows, :cols]
    rng = np.random.default_rng(seed)
    chans = [120 + 80 * np.sin(x / 5 + t / 3 + k) * np.cos(y / 6 - k) for k in range(3)]
    frames = np.stack(chans, axis=-1) + rng.normal(0, 1, (n, rows, cols, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)


def has_codec(name):
    return name in av.codecs_available


# -- conformance ------------------------------------------------------------------------------
class TestFfv1Mkv(ReaderConformance):
    """Lossless RGB in Matroska (no frame count in the header: counted at open)."""

    seq_class = FSeq_video
    colour = True

    def write(self, tmp_path, frames):
        return write_movie(tmp_path / "movie.mkv", frames, "ffv1", "bgr0")


class TestFfv1AviGrey(ReaderConformance):
    seq_class = FSeq_video
    open_kwargs = {"ch": "gray"}  # noqa: RUF012

    def make_frames(self):
        return np.random.default_rng(5).integers(0, 256, (12, 16, 20), dtype=np.uint8)

    def write(self, tmp_path, frames):
        return write_movie(tmp_path / "movie.avi", frames, "ffv1", "gray", rate=10)


@pytest.mark.skipif(not has_codec("libx264rgb"), reason="libx264rgb not in this FFmpeg")
class TestH264RgbLosslessBFrames(ReaderConformance):
    """h264 with B-frames and short groups of pictures, lossless: seeking must be frame-exact."""

    seq_class = FSeq_video
    colour = True

    def write(self, tmp_path, frames):
        return write_movie(tmp_path / "movie.mp4", frames, "libx264rgb", "rgb24",
                           options={"crf": "0", "bf": "3", "g": "4"})


@pytest.mark.skipif(not has_codec("libx264"), reason="libx264 not in this FFmpeg")
class TestH264Lossy(ReaderConformance):
    seq_class = FSeq_video
    colour = True
    atol = 40  # yuv420p halves the chroma resolution

    def make_frames(self):
        return smooth_rgb()

    def write(self, tmp_path, frames):
        return write_movie(tmp_path / "movie.mov", frames, "libx264", "yuv420p",
                           options={"crf": "10", "bf": "2", "g": "5"})


class TestMpeg4Avi(ReaderConformance):
    seq_class = FSeq_video
    colour = True
    atol = 40

    def make_frames(self):
        return smooth_rgb()

    def write(self, tmp_path, frames):
        return write_movie(tmp_path / "movie.avi", frames, "mpeg4", "yuv420p",
                           options={"qscale": "2", "bf": "2", "g": "5"})


# -- seeking ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bframe_movies(tmp_path_factory):
    """h264 movies with B-frames (closed and open GOPs) of 60 frames, and a lossless mkv of 37."""
    folder = tmp_path_factory.mktemp("movies")
    frames = smooth_rgb(60, 32, 48, seed=1)
    paths = []
    if has_codec("libx264"):
        paths.append(write_movie(folder / "closed.mp4", frames, "libx264", "yuv420p",
                                 options={"bf": "3", "g": "10"}))
        paths.append(write_movie(folder / "open.mkv", frames, "libx264", "yuv420p",
                                 options={"bf": "3", "x264-params": "open-gop=1:keyint=9:min-keyint=3"}))
    paths.append(write_movie(folder / "mpeg4.avi", frames, "mpeg4", "yuv420p",
                             options={"bf": "2", "g": "7"}))
    return paths


def test_random_access_equals_sequential(bframe_movies):
    rng = np.random.default_rng(0)
    for path in bframe_movies:
        with open_seq(path) as fs:
            assert len(fs) == 60
            sequential = np.stack(list(fs))  # decoded from the start, in blocks
        with open_seq(path) as fs:
            for i in rng.permutation(60)[:25]:
                np.testing.assert_array_equal(fs[int(i)], sequential[i], err_msg=f"{path.name} {i}")
            for start in (41, 3, 27, 0, 53, 9):
                np.testing.assert_array_equal(np.asarray(fs[start:start + 7]),
                                              sequential[start:start + 7], err_msg=path.name)
            picks = [59, 0, 33, 32, 31, 10, 58]
            np.testing.assert_array_equal(np.asarray(fs[picks]), sequential[picks])


def test_blocks_read_without_seeking_again(bframe_movies):
    with open_seq(bframe_movies[0]) as fs:
        reader = fs.reader
        seeks = []
        original = reader._seek
        reader._seek = lambda k: (seeks.append(k), original(k))[1]
        frame_bytes = int(np.prod(fs.frame_shape))
        blocks = list(fs.iter_blocks(budget=40 * frame_bytes))
        assert len(blocks) > 3
        assert len(seeks) <= 1, seeks  # at most one seek, back to the start
        np.asarray(fs[20:30])
        n_seeks = len(seeks)
        np.asarray(fs[30:40])  # continues where the last read stopped
        assert len(seeks) == n_seeks


def test_frame_count_counted_when_header_has_none(tmp_path):
    frames = np.random.default_rng(2).integers(0, 256, (37, 16, 24), dtype=np.uint8)
    path = write_movie(tmp_path / "m.mkv", frames, "ffv1", "gray", rate=Fraction(30000, 1001))
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 0  # Matroska keeps no count
    with open_seq(path, ch="gray") as fs:
        assert len(fs) == 37
        assert fs.meta["axes"][0] == (1001 / 30000, "s")
        np.testing.assert_array_equal(fs[-1], frames[-1])
        np.testing.assert_array_equal(np.asarray(fs), frames)


def test_channels(tmp_path):
    frames = np.random.default_rng(4).integers(0, 256, (5, 16, 20, 3), dtype=np.uint8)
    path = write_movie(tmp_path / "m.mkv", frames)
    for ch, c in ((0, 0), ("g", 1), (2, 2)):
        with open_seq(path, ch=ch) as fs:
            assert fs.frame_shape == (16, 20)
            np.testing.assert_array_equal(np.asarray(fs), frames[..., c])
    with open_seq(path, ch="gray") as fs:
        assert fs.frame_shape == (16, 20) and fs.dtype == np.uint8
    for bad in (3, "x"):
        with pytest.raises(ChannelError):
            open_seq(path, ch=bad)


def test_errors(tmp_path):
    with pytest.raises(SourceNotFoundError):
        FSeq_video(tmp_path / "missing.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    with pytest.raises(CorruptFileError, match=r"bad\.mp4"):
        open_seq(bad)


def test_close_pickle_and_no_resource_warning(tmp_path):
    frames = np.random.default_rng(6).integers(0, 256, (6, 16, 20, 3), dtype=np.uint8)
    path = write_movie(tmp_path / "m.avi", frames)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        fs = open_seq(path)
        assert fs.reader.thread_safe is False
        np.testing.assert_array_equal(fs[2], frames[2])
        fs.close()
        assert fs.reader._container is None
        np.testing.assert_array_equal(fs[4], frames[4])  # reopens
        again = pickle.loads(pickle.dumps(fs[1:5]))
        np.testing.assert_array_equal(np.asarray(again), frames[1:5])
        again.close()
        fs.close()
        del fs, again
        reader = VideoReader(path)  # dropped without close(): __del__ closes it
        del reader


# -- the real movie ----------------------------------------------------------------------------
def test_pims_bulk_water(shared_data):
    with open_seq(shared_data / "pims" / "bulk-water.mov") as fs:
        assert type(fs) is FSeq_video
        assert len(fs) == 480 and fs.frame_shape == (424, 640, 3) and fs.dtype == np.uint8
        dt, unit = fs.meta["axes"][0]
        assert unit == "s" and dt == pytest.approx(1 / 23.976, rel=1e-4)
        for i in (0, 1):
            want = np.load(shared_data / "pims" / f"bulk-water_frame{i}.npy", allow_pickle=False)
            np.testing.assert_array_equal(fs[i], want)
        # around the keyframe at 238: a block decoded in one go, and the same frames one by one
        block = np.asarray(fs[234:244])
        for i in (241, 238, 236, 243, 239):
            np.testing.assert_array_equal(fs[i], block[i - 234], err_msg=f"frame {i}")
        assert fs[-1].shape == (424, 640, 3)
