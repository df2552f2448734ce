"""Video files (MP4, AVI, MOV, MKV, M4V, WebM) through PyAV, with frame-exact random access.

Frame ``k`` is the frame shown at ``first_pts + k / fps``: its index comes from
its presentation time stamp, never from counting decoded frames, so a frame
read after a seek is the same frame as the one read by decoding from the
start (codecs with B-frames reorder frames, and a seek lands on a keyframe
that may lie well before the wanted frame).  A run of consecutive frames is
one seek plus sequential decoding; the decoder stays where it is between
reads, so reading block after block never seeks again.

Some containers store no presentation time stamps: in AVI the demuxer makes
them up from the decode order, so with B-frames the decoder hands out frames
whose stamps are not in presentation order (1, 3, 4, 2, ...).  When the first
packets show it (a codec with B-frames whose packet stamps increase in decode
order, or stamps missing or repeated), the stream is indexed once at open by
demuxing without decoding: frame ``k`` is then the ``k``-th frame the decoder
gives from the start.  Should stamps come out of the decoder out of order later
in a stream that looked right, the stream is indexed so then, and the read
that saw it is done again.  Each keyframe starts a *group* of packets (in decode
order) whose frames take the same number of places in presentation order, so
a frame's place is the start of its group plus its rank among the frames of
that group the decoder gives.  A seek goes to the keyframe of the group before
the wanted one, whose frames only prime the decoder (open groups of pictures
refer to them).
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from ..axes import Axes
from ..errors import CorruptFileError, SourceNotFoundError
from ..selection import unique_sorted
from .base import Crop, Reader, require
from .dims import pick_channel
from .registry import Source

ENDINGS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
# decode forward instead of seeking when the wanted frame is at most this far ahead
FORWARD = 16
# packets looked at, at open, to decide whether the container's time stamps can be trusted
PEEK = 64
_GREY = ("gray", "grey")
_FULL_RANGE_YUV = ("yuvj420p", "yuvj422p", "yuvj444p")  # their luma plane is the grey image


def _luma(frame) -> np.ndarray:
    """The Y plane of a full-range 8-bit YUV frame, without its line padding (a copy)."""
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:frame.height, :frame.width].copy()


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
        self._packets = None       # PacketIndex when frames are indexed by decode order
        self._out_pts = None       # the stamp of the last frame used since the last seek
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
        self._packets = PacketIndex.if_needed(self.av, self.path)
        first = self._decode_next()
        if first is None:
            raise CorruptFileError(f"the video {self.path} holds no decodable frame")
        if self._packets is not None:
            self._packets.place(first.pts)  # the first frame from the start: place 0
        self._first_pts = first.pts if first.pts is not None else 0
        self._pending = (0, first)
        self._next = 0
        sample = self._convert(first)  # ChannelError for a bad ch, here at open time
        n = self._count_frames() if self._packets is None else len(self._packets)
        self.shape = (n, *sample.shape)
        self.dtype = sample.dtype
        self.axes = Axes([(1.0 / self.fps, "s")])
        self.metadata = {"fps": self.fps, "codec": stream.codec_context.name,
                         "pix_fmt": stream.codec_context.pix_fmt,
                         "frame_order": "pts" if self._packets is None else "decode"}

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
        self._out_pts = None

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
    def _index(self, frame, previous: int | None) -> int | None:
        """The frame index of a decoded frame, from its presentation time stamp (or, in decode
        order, from its packet); None for a frame that only primes the decoder."""
        if self._packets is not None:
            return self._packets.place(frame.pts)
        pts = frame.pts
        if pts is None:  # some AVI streams: the next frame after the previous
            return 0 if previous is None else previous + 1
        return round((pts - self._first_pts) / self._step)

    def _decode_next(self):
        """The next decoded frame, or None at the end of the stream."""
        if self._gen is None:
            self._gen = (self._container.decode(self._stream) if self._packets is None
                         else self._packets.decode(self._container, self._stream))
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
            item = self._decode_placed()
            if item is None:
                self._next = None
                return None
        idx, frame = item
        if frame.key_frame:
            if self._run_keyframe is not None:
                self._max_gop = max(self._max_gop, idx - self._run_keyframe)
            self._run_keyframe = idx
        self._next = idx + 1
        return item

    def _decode_placed(self):
        """``(index, frame)`` of the next decoded frame that has a place, or None at the end."""
        while (frame := self._decode_next()) is not None:
            idx = self._index(frame, None if self._next is None else self._next - 1)
            if idx is not None:
                return idx, frame
        return None

    def _seek(self, k: int) -> None:
        """Position the decoder on a frame at or before frame ``k``."""
        if self._packets is not None:
            self._seek_group(k)
            return
        margin, self._out_pts = 0, None
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

    def _seek_group(self, k: int) -> None:
        """Decode order: seek to the keyframe of the group before frame ``k``'s group."""
        group = self._packets.group_of(k) - 1
        while True:
            self._gen = None
            self._pending, self._next, self._run_keyframe = None, None, None
            if group <= 0:  # from the start: reopen, which no index can get wrong
                self.close()
                self._open()
            else:
                try:
                    self._container.seek(self._packets.seek_stamp(group), stream=self._stream,
                                         backward=True, any_frame=False)
                except self.av.FFmpegError as exc:
                    raise CorruptFileError(f"cannot seek in the video {self.path}: {exc}") from exc
            item = self._decode_placed()
            if item is not None and item[0] <= k:
                self._pending, self._next = item, item[0]
                return
            if group <= 0:
                raise CorruptFileError(f"the video {self.path} ended before frame {k} of the "
                                       f"{self.shape[0]} packets it holds; the file may be damaged")
            group -= 1  # the seek landed after frame k (an inexact index): go further back

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
            if frame.format.name in _FULL_RANGE_YUV:  # the luma plane is the grey image as it is
                return _luma(frame)
            return frame.to_ndarray(format="gray")  # limited range: rescaled to 0..255
        return pick_channel(frame.to_ndarray(format="rgb24"), self.ch)

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
            self._check_order(frame)
            if idx >= k:  # frames missing from a variable-rate video: the next one stands in
                arr = self._convert(frame)
                self._last = (k, arr)
                return arr

    def _check_order(self, frame) -> None:
        """Presentation stamps must increase in the decoder's output; when they do not, index
        frames by their packets from now on (and raise _Disorder)."""
        if self._packets is not None or frame.pts is None:
            return
        if self._out_pts is not None and frame.pts <= self._out_pts:
            self._packets = PacketIndex.if_needed(self.av, self.path, always=True)
            self._gen, self._pending, self._next, self._last = None, None, None, None
            self.metadata["frame_order"] = "decode"
            raise _Disorder
        self._out_pts = frame.pts

    def _read(self, frames: np.ndarray, crop: Crop) -> np.ndarray:
        try:
            return self._read_frames(frames, crop)
        except _Disorder:  # the frames read so far may be wrong: read them all again
            return self._read_frames(frames, crop)

    def _read_frames(self, frames: np.ndarray, crop: Crop) -> np.ndarray:
        first = self._get(int(frames[0]))
        first = first if crop is None else first[crop]
        out = np.empty((len(frames), *first.shape), self.dtype)
        out[0] = first
        for j in range(1, len(frames)):
            frame = self._get(int(frames[j]))
            out[j] = frame if crop is None else frame[crop]
        return out


class _Disorder(Exception):
    """The decoder gave presentation stamps out of order: frames were indexed anew."""


def _packets(container, stream):
    """The packets of a stream that hold data, in decode order."""
    return (p for p in container.demux(stream) if p.size)


def _stamp(packet) -> int:
    """A packet's decode time stamp, else its presentation time stamp, else -1."""
    stamp = packet.dts if packet.dts is not None else packet.pts
    return -1 if stamp is None else int(stamp)


def _stamps_trusted(pts: list[int | None], stream) -> bool:
    """Whether the presentation time stamps of the first packets can index frames."""
    if None in pts or len(set(pts)) < len(pts):
        return False
    # with B-frames, true stamps are out of order in decode order: in order, they are made up
    return not (stream.codec_context.has_b_frames and len(pts) > 2 and pts == sorted(pts))


def _unique(values: np.ndarray) -> bool:
    return len(unique_sorted(values)) == len(values)


class PacketIndex:
    """The packets of a video stream in decode order, found by demuxing once without decoding.

    Groups start at keyframes; the frames of group ``g`` take places ``starts[g]``
    to ``starts[g + 1] - 1`` in presentation order, in the order the decoder gives them.

    Examples
    --------
    >>> index = PacketIndex([0, 900, 950, 990, 1600], [0, 1, 2, 3, 4], [True, False, False, True, False])
    >>> len(index), index.starts.tolist(), index.group_of(4)
    (5, [0, 3], 1)
    >>> [index.place(n) for n in (0, 2, 1)]  # the decoder gives packet 2's frame before packet 1's
    [0, 1, 2]
    """

    def __init__(self, positions, stamps, keyframes):
        """``positions`` (bytes into the file), ``stamps`` (dts, else pts; -1 for none) and
        ``keyframes`` (flags) of the packets in decode order."""
        positions, stamps = np.asarray(positions, np.int64), np.asarray(stamps, np.int64)
        # a packet is known by its position in the file, or else by its stamp
        self._by_position = bool(positions.min(initial=0) >= 0 and _unique(positions))
        keys = positions if self._by_position else stamps
        if not self._by_position and not (stamps.min(initial=0) >= 0 and _unique(stamps)):
            raise CorruptFileError("the video's packets cannot be told apart (neither their "
                                   "positions nor their time stamps differ); its frames cannot be indexed")
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]
        starts = np.flatnonzero(np.asarray(keyframes, bool))
        self.starts = unique_sorted(np.concatenate([[0], starts])).astype(np.int64)
        self._stamps = stamps[self.starts]
        self._reliable = 0           # groups before this one only prime the decoder
        self._ranks: dict[int, int] = {}  # frames given so far by each group since the last seek

    @classmethod
    def if_needed(cls, av, path: str, always: bool = False) -> PacketIndex | None:
        """The index of ``path``'s first video stream, made by demuxing it once (no decoding)
        when its first packets show that presentation time stamps cannot index frames (or
        ``always``); else None."""
        positions, stamps, keyframes, pts = [], [], [], []
        try:
            with av.open(path, "r") as container:
                stream = container.streams.video[0]
                for p in _packets(container, stream):
                    if len(pts) == PEEK and not always and _stamps_trusted(pts, stream):
                        return None
                    positions.append(-1 if p.pos is None else p.pos)
                    stamps.append(_stamp(p))
                    keyframes.append(bool(p.is_keyframe))
                    pts.append(p.pts)
                if not always and _stamps_trusted(pts, stream):
                    return None
        except av.FFmpegError as exc:
            raise CorruptFileError(f"cannot read the packets of the video {path}: {exc}") from exc
        return cls(positions, stamps, keyframes)

    def __len__(self) -> int:
        return len(self._keys)

    def number(self, packet) -> int:
        """The number (in decode order) of a packet read from the file."""
        key = (-1 if packet.pos is None else packet.pos) if self._by_position else _stamp(packet)
        i = int(np.searchsorted(self._keys, key))
        if i == len(self._keys) or self._keys[i] != key:
            raise CorruptFileError("a packet of the video is not in the index made at open; the "
                                   "file changed while it was open")
        return int(self._order[i])

    def group_of(self, k: int) -> int:
        """The group of the frame at place ``k`` (or of the packet number ``k``)."""
        return int(np.searchsorted(self.starts, k, side="right")) - 1

    def seek_stamp(self, group: int) -> int:
        return max(int(self._stamps[group]), 0)

    def decode(self, container, stream):
        """Decode from where the container stands; each frame's ``pts`` becomes the number of
        its packet, and the first packet sets which groups only prime the decoder."""
        first = True
        for packet in container.demux(stream):
            if packet.size:
                number = self.number(packet)
                if first:  # from the start every group counts, else the landing group primes
                    self._reliable, self._ranks, first = (0 if number == 0
                                                          else self.group_of(number) + 1), {}, False
                packet.pts = number
            yield from packet.decode()

    def place(self, number: int | None) -> int | None:
        """The presentation place of the next frame the decoder gives, from its packet number;
        None for a frame that only primes the decoder."""
        group = self.group_of(-1 if number is None else number)
        if group < self._reliable:
            return None
        rank = self._ranks.get(group, 0)
        self._ranks[group] = rank + 1
        return int(self.starts[group]) + rank


def open_video(source: Source, ch=None) -> Reader:
    """The reader behind :class:`imfun.fseq.FSeq_video`."""
    return VideoReader(source.files[0], ch=ch)


__all__ = ["ENDINGS", "PacketIndex", "VideoReader", "open_video"]
