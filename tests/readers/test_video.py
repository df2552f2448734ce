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
from imfun.fseq import FSeq_video  # noqa: E402
from imfun.readers.video import VideoReader  # noqa: E402


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


@pytest.mark.skipif(not has_codec("libx264"), reason="libx264 not in this FFmpeg")
class TestH264AviBFrames(ReaderConformance):
    """h264 with B-frames in AVI: time stamps in decode order, frames indexed from the packets."""

    seq_class = FSeq_video
    colour = True
    atol = 40

    def make_frames(self):
        return smooth_rgb()

    def write(self, tmp_path, frames):
        return write_movie(tmp_path / "movie.avi", frames, "libx264", "yuv420p",
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


# -- frame-exact in every container: frames that carry their own number ------------------------
BITS, CODE_ROWS, CODE_COLS = 8, 64, 96  # 2 x 4 blocks of 32 x 24: one bit of the frame number each
CODECS = {"h264": ("libx264", "yuv420p", {"bf": "2", "g": "12"}),
          "h264-open-gop": ("libx264", "yuv420p",
                            {"bf": "3", "x264-params": "open-gop=1:keyint=9:min-keyint=3"}),
          "mpeg4": ("mpeg4", "yuv420p", {"bf": "2", "g": "12", "qscale": "2"}),
          "mjpeg": ("mjpeg", "yuvj420p", {})}
CONTAINERS = ("mp4", "avi", "mkv", "mov")
N_CODED = 60


def numbered_frames(n):
    """Grey frames whose blocks spell the frame number in binary: robust to lossy codecs."""
    bits = (np.arange(n)[:, None] >> np.arange(BITS)) & 1
    blocks = (255 * bits).astype(np.uint8).reshape(n, 2, 4)
    return np.repeat(np.repeat(blocks, 32, axis=1), 24, axis=2)


def frame_numbers(frames):
    """The numbers the frames ``(n, 64, 96)`` spell (inverse of numbered_frames)."""
    frames = np.asarray(frames, float)
    centres = frames.reshape(len(frames), 2, 32, 4, 24)[:, :, 8:24, :, 6:18].mean(axis=(2, 4))
    bits = (centres > 128).reshape(len(frames), BITS)
    return (bits << np.arange(BITS)).sum(axis=1)


@pytest.fixture(scope="module")
def numbered_movies(tmp_path_factory):
    """Each (container, codec) pair PyAV can write: its path, or the reason it cannot."""
    folder = tmp_path_factory.mktemp("numbered")
    frames = numbered_frames(N_CODED)
    movies = {}
    for container in CONTAINERS:
        for name, (codec, pix_fmt, options) in CODECS.items():
            path = folder / f"{name}.{container}"
            if not has_codec(codec):
                movies[container, name] = f"{codec} is not in this FFmpeg"
                continue
            try:
                movies[container, name] = write_movie(path, frames, codec, pix_fmt, options=options)
            except av.FFmpegError as exc:
                movies[container, name] = f"PyAV cannot write {codec} in {container}: {exc}"
    return movies


def movie_for(numbered_movies, container, codec):
    found = numbered_movies[container, codec]
    if isinstance(found, str):
        pytest.skip(found)
    return found


def decoded_from_start(path):
    """Ground truth: every frame PyAV decodes, in the order the decoder gives them."""
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="gray") for f in c.decode(c.streams.video[0])])


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("container", CONTAINERS)
def test_every_frame_exact_in_any_order(numbered_movies, container, codec):
    path = movie_for(numbered_movies, container, codec)
    truth = decoded_from_start(path)
    np.testing.assert_array_equal(frame_numbers(truth), np.arange(N_CODED))  # the movie is right
    rng = np.random.default_rng(7)
    with open_seq(path, ch="gray") as fs:
        assert len(fs) == N_CODED
        np.testing.assert_array_equal(np.asarray(fs), truth)  # sequential, in blocks
    with open_seq(path, ch="gray") as fs:
        order = rng.permutation(N_CODED)
        got = np.stack([fs[int(k)] for k in order])
        np.testing.assert_array_equal(frame_numbers(got), order)
        np.testing.assert_array_equal(got, truth[order])
        np.testing.assert_array_equal(np.asarray(fs[::-1]), truth[::-1])
        picks = [int(k) for k in rng.integers(0, N_CODED, 15)]
        np.testing.assert_array_equal(np.asarray(fs[picks]), truth[picks])
        for start, block in fs.iter_blocks(fslice=(5, 47), budget=7 * CODE_ROWS * CODE_COLS):
            np.testing.assert_array_equal(block, truth[5 + start: 5 + start + len(block)])


def test_avi_with_b_frames_is_indexed_in_decode_order(numbered_movies):
    """In AVI the demuxer makes the stamps up from the decode order: they cannot be trusted."""
    path = movie_for(numbered_movies, "avi", "h264")
    with av.open(str(path)) as c:  # the stamps PyAV gives, in the order of the decoded frames
        stamps = [f.pts for f in c.decode(c.streams.video[0])]
    assert stamps != sorted(stamps)
    with open_seq(path, ch="gray") as fs:
        assert fs.reader.metadata["frame_order"] == "decode"
        np.testing.assert_array_equal(frame_numbers(np.asarray(fs)), np.arange(N_CODED))
    for container, codec in (("mp4", "h264"), ("mkv", "h264"), ("avi", "mjpeg"), ("avi", "mpeg4")):
        with open_seq(movie_for(numbered_movies, container, codec), ch="gray") as fs:
            assert fs.reader.metadata["frame_order"] == "pts", (container, codec)


def test_stamps_out_of_order_later_switch_to_decode_order(numbered_movies, monkeypatch):
    """Stamps that look right in the first packets but come out of the decoder out of order."""
    import imfun.readers.video as video

    path = movie_for(numbered_movies, "avi", "h264")
    monkeypatch.setattr(video, "PEEK", 2)  # too few packets to see it at open
    with open_seq(path, ch="gray") as fs:
        assert fs.reader.metadata["frame_order"] == "pts"
        np.testing.assert_array_equal(frame_numbers(np.asarray(fs[::-1])), np.arange(N_CODED)[::-1])
        assert fs.reader.metadata["frame_order"] == "decode"
        np.testing.assert_array_equal(frame_numbers(np.asarray(fs)), np.arange(N_CODED))
    with open_seq(path, ch="gray") as fs:  # in one read from the start
        np.testing.assert_array_equal(frame_numbers(np.asarray(fs)), np.arange(N_CODED))


@pytest.mark.parametrize("codec", ["h264", "h264-open-gop"])
def test_decode_order_seeks_near_the_frame(numbered_movies, codec):
    """A frame far in the file is reached by a seek, not by decoding from the start."""
    path = movie_for(numbered_movies, "avi", codec)
    with open_seq(path, ch="gray") as fs:
        reader = fs.reader
        decoded = []
        original = reader._decode_next
        reader._decode_next = lambda: (decoded.append(1), original())[1]
        for k in (55, 40, 58, 30):
            decoded.clear()
            assert frame_numbers(fs[k][None])[0] == k
            assert len(decoded) <= 3 * 12 + 8, (k, len(decoded))  # two groups of pictures, and delay


def test_packet_index_groups():
    from imfun.readers.video import PacketIndex

    keys = [100 * i for i in range(7)]
    index = PacketIndex(keys, list(range(7)), [True, False, False, True, False, True, False])
    assert len(index) == 7 and list(index.starts) == [0, 3, 5]
    assert [index.group_of(k) for k in range(7)] == [0, 0, 0, 1, 1, 2, 2]
    assert index.seek_stamp(1) == 3
    assert [index.place(n) for n in (0, 2, 1, 4, 3)] == [0, 1, 2, 3, 4]
    by_stamp = PacketIndex([5, 5, -1], [9, 7, 8], [True, False, False])  # positions do not tell
    packet = av.Packet(b"x")  # no position
    packet.dts = 8
    assert by_stamp.number(packet) == 2
    packet.dts = 10
    with pytest.raises(CorruptFileError, match="not in the index"):
        by_stamp.number(packet)
    with pytest.raises(CorruptFileError, match="told apart"):
        PacketIndex([1, 1], [0, 0], [True, False])


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


@pytest.mark.parametrize("pix_fmt", ["yuvj420p", "yuv420p"])
def test_grey_of_full_and_limited_range_video_equals_pyav_grey(tmp_path, pix_fmt):
    """Full-range frames give their luma plane as it is (without the line padding, odd sizes
    included); limited-range ones are rescaled by PyAV's grey conversion."""
    codec = "mjpeg" if pix_fmt == "yuvj420p" else "mpeg4"
    path = write_movie(tmp_path / "m.avi", smooth_rgb(n=6, rows=18, cols=30), codec, pix_fmt)
    with av.open(str(path)) as c:
        ref = np.stack([f.to_ndarray(format="gray") for f in c.decode(c.streams.video[0])])
    with open_seq(path, ch="gray") as fs:
        np.testing.assert_array_equal(np.asarray(fs), ref)
