"""Video files (MP4, AVI, MOV, MKV, M4V, WebM) through PyAV, with frame-exact random access.

Frame ``k`` is the frame shown at ``first_pts + k / fps``: its index comes from
its presentation time stamp, never from counting decoded frames, so a frame
read after a seek is the same frame as the one read by decoding from the
start (codecs with B-frames reorder frames, and a seek lands on a keyframe
that may lie well before the wanted frame).  A run of consecutive frames is
one seek plus sequential decoding; the decoder stays where it is between
reads, so reading block after block never seeks again.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from ..axes import Axes
from ..errors import CorruptFileError, SourceNotFoundError
from ..fseq.opening import img_getter
from ..fseq.sequence import FrameSequence
from . import registry
from .base import Crop, Reader, require

ENDINGS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
# decode forward instead of seeking when the wanted frame is at most this far ahead
FORWARD = 16
_GREY = ("gray", "grey")


class VideoReader(Reader):
    """Reads frames of the first video stream of a file with PyAV.

    Parameters
    ----------
    path : str or path-like
        The video file.
    ch : int, str or None
        None: RGB frames (``rows x cols x 3`` uint8); ``'gray'``: the luma as
        ``rows x cols`` uint8; an int or ``'r'``, ``'g'``, ``'b'``: that channel
        of the RGB frames.
    """

    thread_safe = False  # one decoder with a position: the base class serialises reads

    def __init__(self, path, ch=None):
        self.av = require("av", "video")
        self.path = os.fspath(path)
        self.ch = ch
        self.source = self.path
        self.paths = (self.path,)
        self._container = None
        self._gen = None          # the decoding generator, positioned after the last frame it gave
        self._pending = None      # (index, av frame) decoded but not yet used
        self._next = None         # index of the frame the decoder gives next (None: unknown)
        self._last = None         # (index, array) of the last frame returned
        self._run_keyframe = None  # the last keyframe seen since the last seek
        self._max_gop = 0          # the longest distance between keyframes seen in one run
        self._open()
        try:
            self._read_header()
        except BaseException:
            self.close()  # a failed open leaves no file open
            raise

    def _read_header(self) -> None:
        stream = self._stream
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.fps = float(rate) if rate else 0.0
        if self.fps <= 0:
            raise CorruptFileError(f"the video {self.path} states no frame rate; cannot index frames")
        self._tb = Fraction(stream.time_base)
        self._step = 1 / (Fraction(rate) * self._tb)  # one frame in time-base units
        first = self._decode_next()
        if first is None:
            raise CorruptFileError(f"the video {self.path} holds no decodable frame")
        self._first_pts = first.pts if first.pts is not None else 0
        self._pending = (0, first)
        self._next = 0
        sample = self._convert(first)  # ChannelError for a bad ch, here at open time
        self.shape = (self._count_frames(), *sample.shape)
        self.dtype = sample.dtype
        self.axes = Axes([(1.0 / self.fps, "s")])
        self.metadata = {"fps": self.fps, "codec": stream.codec_context.name,
                         "pix_fmt": stream.codec_context.pix_fmt}

    # -- the container --------------------------------------------------------
    def _open(self) -> None:
        av = self.av
        try:
            container = av.open(self.path, "r")
        except FileNotFoundError:
            raise SourceNotFoundError(f"no such video file: {self.path!r}") from None
        except av.FFmpegError as exc:
            raise CorruptFileError(f"cannot open the video {self.path}: {exc}") from exc
        if not container.streams.video:
            container.close()
            raise CorruptFileError(f"the file {self.path} holds no video stream")
        self._container = container
        self._stream = container.streams.video[0]
        self._stream.thread_type = "AUTO"  # frame and slice threads; exact for seeking too
        self._gen, self._pending, self._next, self._run_keyframe = None, None, None, None

    def _ensure_open(self) -> None:
        if self._container is None:
            self._open()

    def close(self) -> None:
        """Close the container; reading again reopens it."""
        gen, container = getattr(self, "_gen", None), getattr(self, "_container", None)
        self._gen, self._container, self._pending, self._next = None, None, None, None
        if gen is not None:
            gen.close()
        if container is not None:
            container.close()

    # -- positions ------------------------------------------------------------
    def _index(self, frame, previous: int | None) -> int:
        """The frame index of a decoded frame, from its presentation time stamp."""
        pts = frame.pts
        if pts is None:  # some AVI streams: the next frame after the previous
            return 0 if previous is None else previous + 1
        return round((pts - self._first_pts) / self._step)

    def _decode_next(self):
        """The next decoded frame, or None at the end of the stream."""
        if self._gen is None:
            self._gen = self._container.decode(self._stream)
        try:
            return next(self._gen)
        except StopIteration:
            self._gen = None
            return None
        except self.av.FFmpegError as exc:
            raise CorruptFileError(f"cannot decode the video {self.path}: {exc}") from exc

    def _advance(self):
        """``(index, frame)`` of the next frame in presentation order, or None at the end."""
        if self._pending is not None:
            item, self._pending = self._pending, None
        else:
            frame = self._decode_next()
            if frame is None:
                self._next = None
                return None
            item = (self._index(frame, None if self._next is None else self._next - 1), frame)
        idx, frame = item
        if frame.key_frame:
            if self._run_keyframe is not None:
                self._max_gop = max(self._max_gop, idx - self._run_keyframe)
            self._run_keyframe = idx
        self._next = idx + 1
        return item

    def _seek(self, k: int) -> None:
        """Position the decoder on a frame at or before frame ``k``."""
        margin = 0
        while True:
            target = max(0, k - margin)
            self._gen = None
            self._pending, self._next, self._run_keyframe = None, None, None
            pts = int(self._first_pts + np.floor(target * self._step))
            try:
                self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
            except self.av.FFmpegError as exc:
                raise CorruptFileError(f"cannot seek in the video {self.path}: {exc}") from exc
            frame = self._decode_next()
            if frame is not None:
                idx = self._index(frame, None)
                if idx <= k:
                    self._pending, self._next = (idx, frame), idx
                    return
            if target == 0:
                raise CorruptFileError(
                    f"seeking to the start of the video {self.path} failed: its first frame has "
                    "another time stamp than when the file was opened")
            # the seek landed after frame k (open GOPs, inexact indexes): try further back
            margin = max(2 * margin, FORWARD)

    def _count_frames(self) -> int:
        """The number of frames: from the header, or (when the header has none) by decoding
        the last group of pictures."""
        stream = self._stream
        if stream.frames and stream.frames > 0:
            return int(stream.frames)
        if stream.duration is not None:
            seconds = float(stream.duration * self._tb)
        elif self._container.duration is not None:
            seconds = self._container.duration / 1e6  # in AV_TIME_BASE units
        else:
            seconds = 0.0
        estimate = round(seconds * self.fps)
        if estimate > 1:
            self._seek(estimate - 1)
        last = -1
        while (item := self._advance()) is not None:
            last = max(last, item[0])
        return last + 1

    # -- frames ---------------------------------------------------------------
    def _convert(self, frame) -> np.ndarray:
        if isinstance(self.ch, str) and self.ch.lower() in _GREY:
            return frame.to_ndarray(format="gray")
        return img_getter(frame.to_ndarray(format="rgb24"), self.ch)

    def _get(self, k: int) -> np.ndarray:
        """Frame ``k`` as an array: the first frame whose index is ``k`` or more."""
        if self._last is not None and self._last[0] == k:
            return self._last[1]
        self._ensure_open()
        ahead = None if self._next is None else k - self._next
        # a seek lands on a keyframe up to a group of pictures before frame k: when k is
        # closer than that, decoding on from here costs no more
        if ahead is None or ahead < 0 or ahead > max(FORWARD, self._max_gop):
            self._seek(k)
        while True:
            item = self._advance()
            if item is None:
                raise CorruptFileError(
                    f"the video {self.path} ended before frame {k} of the {self.shape[0]} its "
                    "header announces; the file is probably truncated")
            idx, frame = item
            if idx >= k:  # frames missing from a variable-rate video: the next one stands in
                arr = self._convert(frame)
                self._last = (k, arr)
                return arr

    def _read(self, frames: np.ndarray, crop: Crop) -> np.ndarray:
        first = self._get(int(frames[0]))
        first = first if crop is None else first[crop]
        out = np.empty((len(frames), *first.shape), self.dtype)
        out[0] = first
        for j in range(1, len(frames)):
            frame = self._get(int(frames[j]))
            out[j] = frame if crop is None else frame[crop]
        return out


@registry.register("video", ENDINGS, single=True, extra="video",
                   description="video files through PyAV (frame-exact seeking)")
class FSeq_video(FrameSequence):
    """A frame sequence from a video file (MP4, AVI, MOV, MKV, M4V, WebM), read with PyAV.

    Frames are read lazily with frame-exact seeking; ``meta['axes'][0]`` is
    ``(1/fps, 's')``.  Needs the optional package PyAV: ``pip install 'imfun[video]'``.

    Parameters
    ----------
    path : str or path-like
        The video file.
    ch : int, str or None
        None: RGB frames ``rows x cols x 3`` uint8; ``'gray'``: grey frames;
        an int or ``'r'``, ``'g'``, ``'b'``: one channel of the RGB frames.
    fns : list of callables
        The per-frame pipeline.
    meta : dict or None
        Metadata; given entries override the file's.

    Examples
    --------
    >>> import av, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'movie.mkv')
    >>> with av.open(path, 'w') as out:
    ...     stream = out.add_stream('ffv1', rate=10)
    ...     stream.width, stream.height, stream.pix_fmt = 48, 32, 'gray'
    ...     for i in range(5):
    ...         frame = av.VideoFrame.from_ndarray(np.full((32, 48), 10 * i, np.uint8), format='gray')
    ...         out.mux(stream.encode(frame))
    ...     out.mux(stream.encode())
    >>> fs = FSeq_video(path, ch='gray')
    >>> len(fs), fs.frame_shape, fs.meta['axes'][0]
    (5, (32, 48), AxisScale(scale=0.1, unit='s'))
    >>> int(fs[3][0, 0])
    30
    >>> fs.close()
    """

    def __init__(self, path, ch=None, fns=None, meta=None):
        super().__init__(VideoReader(path, ch=ch), fns=fns, meta=meta)


__all__ = ["ENDINGS", "FSeq_video", "VideoReader"]
