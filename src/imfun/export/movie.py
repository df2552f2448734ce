"""Movies (and GIFs) with the ffmpeg binary of the ``imageio-ffmpeg`` wheel.

Two renderers feed the encoder raw ``rgb24`` frames:

* the lookup-table path (default): each block of frames is scaled by the
  display limits (robust percentiles unless given, see :mod:`imfun.plotting`),
  mapped through a 256-entry colour map table (or composed green/magenta for
  two channels), enlarged by an integer zoom, and copied into a canvas; titles
  and colour bars are drawn with Pillow, markers straight into the array.  No
  matplotlib draw per frame.
* the matplotlib path, for what needs a figure (``frame_on=True`` or extra
  ``imshow`` keywords): one ``Figure`` whose image data are replaced per frame.

Timing: by default a movie plays in real time, ``1 / dt`` frames per second
(:func:`movie_timing`); faster than players accept (60 fps, 50 for GIF) every
k-th frame is shown so that it still plays in real time.  ``speed=2`` plays
twice as fast (written in the title); without a frame interval 25 fps is used.
Titles give the *source* frame number and its time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.progress import progress
from ..errors import InvalidArgumentError, ShapeMismatchError, UnknownArgumentError, WriteError
from ..plotting import (
    colormap_lut,
    display_for,
    frame_label,
    frame_numbers,
    micron_scale,
    nice_length,
    time_unit,
    value_label,
)
from ..selection import fslice_positions
from .atomic import atomic_target, check_target

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

# container -> (ffmpeg muxer, default codec)
CONTAINERS = {".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
              ".mkv": ("matroska", "libx264"), ".avi": ("avi", "libx264"),
              ".mpg": ("mpeg", "mpeg2video"), ".mpeg": ("mpeg", "mpeg2video"), ".gif": ("gif", "gif")}
LEGACY_WRITERS = ("avconv", "ffmpeg", "mencoder", "ffmpeg_file", "avconv_file", "mencoder_file")
_CODEC_ALIASES = {"h264": "libx264", "x264": "libx264", "mpeg2": "mpeg2video"}
MARKER_RGB = (255, 0, 0)
#: frame rates players accept (GIF delays are counted in 1/100 s and browsers slow down below 2)
MAX_FPS = {"gif": 50.0}
DEFAULT_MAX_FPS = 60.0
#: frames per second when the frame interval is not known
UNTIMED_FPS = 25.0
# per-frame palettes, so GIF colours stay right without holding the movie
_GIF_FILTER = "split[a][b];[a]palettegen=stats_mode=single:reserve_transparent=0[p];[b][p]paletteuse=new=1"

__all__ = ["colormap_lut", "export_movie_anim", "movie_timing", "to_movie"]


# -- small pieces -----------------------------------------------------------------
def check_fps(fps) -> float:
    """A positive finite frame rate, or :class:`InvalidArgumentError`."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"fps must be a positive number, got {fps!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"fps must be a positive finite number, got {fps!r}")
    return value


def parse_speed(speed) -> float:
    """``2``, ``'2x'``, ``'0.5×'`` -> the speed-up over real time.

    >>> parse_speed("2x"), parse_speed(0.5), parse_speed(None)
    (2.0, 0.5, 1.0)
    """
    if speed is None:
        return 1.0
    text = str(speed).strip().lower()
    m = re.fullmatch(r"[x×]?\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*[x×]?", text)
    value = float(m.group(1)) if m else float("nan")
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"speed is a positive factor over real time such as 2 or '2x', "
                                   f"got {speed!r}")
    return value


def movie_path(video_name) -> Path:
    """The movie's path: ``.mp4`` is added when the name has no extension."""
    p = Path(video_name)
    if not p.suffix:
        return p.with_name(p.name + ".mp4")
    if p.suffix.lower() not in CONTAINERS:
        raise InvalidArgumentError(
            f"cannot write a movie as {p.suffix!r}; use one of {', '.join(sorted(CONTAINERS))}")
    return p


@lru_cache(maxsize=8)
def _font(size: int):
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return ImageFont.truetype(path, size)


def draw_text(band: np.ndarray, text: str, x: int, size: int, color=(255, 255, 255)) -> None:
    """Draw ``text`` into an RGB band (in place) with Pillow, starting at column ``x``."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(band)
    ImageDraw.Draw(img).text((x, max(0, (band.shape[0] - size) // 2 - 1)), text, fill=color,
                             font=_font(size))
    band[...] = np.asarray(img)


def disk(radius: int) -> np.ndarray:
    """A boolean filled circle of the given radius."""
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return yy**2 + xx**2 <= radius**2 + radius // 2


# -- timing ------------------------------------------------------------------------
@dataclass
class Timing:
    """How a movie plays: ``fps`` of the file, every ``step``-th frame shown, ``speed`` over
    real time (None when the frame interval is unknown)."""

    fps: float
    step: int
    speed: float | None

    def note(self) -> str:
        """``' · 2× speed'`` when the movie does not play in real time, else ``''``."""
        if self.speed is None or abs(self.speed - 1) < 1e-3:
            return ""
        return f" · {self.speed:.3g}× speed"

    def describe(self) -> str:
        """``'20 fps (real time)'``, ``'50 fps (real time, every 4th frame)'``, ``'8 fps (2× speed)'``."""
        pace = "frame interval unknown" if self.speed is None else self.note().lstrip(" ·") or "real time"
        every = f", every {self.step}th frame" if self.step > 1 else ""
        return f"{self.fps:.4g} fps ({pace}{every})"


def frame_interval(fs: FrameSequence) -> float | None:
    """Seconds between frames (the median of recorded time stamps), None when unknown."""
    unit = time_unit(fs)
    if unit != "s":
        return None
    if "frame_times" in fs.meta and len(fs) > 1:
        dt = float(np.median(np.diff(fs.frame_idx())))
    else:
        dt = float(fs.meta["axes"][0].scale)
    return dt if dt > 0 and math.isfinite(dt) else None


def movie_timing(fs: FrameSequence, fps=None, speed=None, fmt: str = "mp4") -> Timing:
    """The frame rate of a movie of ``fs``: ``fps`` when given, else real time times ``speed``.

    Above what players accept (60 fps; 50 for GIF) only every k-th frame is shown, at
    ``speed / (k dt)`` fps, so the movie still plays at the asked speed.

    Examples
    --------
    >>> from imfun.fseq import FSeq_arr
    >>> fs = FSeq_arr(np.zeros((10, 4, 4)), meta={"axes": [(0.005, "s")]})   # 200 Hz
    >>> movie_timing(fs)
    Timing(fps=50.0, step=4, speed=1.0)
    >>> movie_timing(fs, fps=20).speed
    0.1
    """
    dt = frame_interval(fs)
    factor = parse_speed(speed)
    if fps is not None:
        if speed is not None:
            raise InvalidArgumentError("give either fps or speed, not both")
        fps = check_fps(fps)
        return Timing(fps, 1, fps * dt if dt else None)
    rate = factor / dt if dt else UNTIMED_FPS * factor
    cap = MAX_FPS.get(fmt, DEFAULT_MAX_FPS)
    step = max(1, math.ceil(rate / cap - 1e-9))
    return Timing(rate / step, step, factor if dt else None)


def _marker_set(marker_idx) -> set[int]:
    if marker_idx is None:
        return set()
    arr = np.atleast_1d(np.asarray(marker_idx))
    if arr.dtype == bool:
        return {int(i) for i in np.flatnonzero(arr)}
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidArgumentError(f"marker_idx holds frame indices (ints), got {arr.dtype}")
    return {int(i) for i in arr.ravel()}


def shown_markers(positions: np.ndarray, step: int, markers: set[int]) -> np.ndarray:
    """For each shown frame (every ``step``-th position), whether a marked position falls in it.

    >>> shown_markers(np.arange(10), 3, {4, 9}).tolist()
    [False, True, False, True]
    """
    hit = np.isin(positions, np.fromiter(markers, int, len(markers)))
    return np.add.reduceat(hit, np.arange(0, len(positions), step)) > 0


def selected_positions(n: int, start, stop, fslice) -> np.ndarray:
    """Positions given by ``fslice`` (anything ``iter_blocks`` takes), else ``start:stop``."""
    if fslice is not None:
        return fslice_positions(fslice, n)
    start, stop, _ = slice(start, stop).indices(n)
    if stop <= start:
        raise InvalidArgumentError(f"start={start}, stop={stop} select no frames of the {n} "
                                   f"(0..{n - 1})")
    return np.arange(start, stop)


def titles_for(fs: FrameSequence, positions: np.ndarray, timing: Timing) -> list[str]:
    """Title of each shown frame: its source frame number, time and (when not 1) the speed."""
    numbers = frame_numbers(fs)[positions]
    unit = time_unit(fs)
    times = fs.frame_idx()[positions] if unit else [None] * len(positions)
    note = timing.note()
    return [frame_label(int(k), t, unit) + note for k, t in zip(numbers, times, strict=True)]


class Encoder:
    """Raw rgb24 frames piped into ffmpeg (``imageio_ffmpeg.write_frames``)."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, fmt: str, codec: str,
                 quality: float | None, bitrate):
        import imageio_ffmpeg

        width, height = size
        params, pix_fmt = ["-f", fmt], "yuv420p"
        if codec == "libx264" and fmt in ("mp4", "mov"):
            # frames play everywhere (QuickTime, browsers) and seek on any frame
            params += ["-movflags", "+faststart"]
        if fmt == "gif":
            params += ["-filter_complex", _GIF_FILTER]
            pix_fmt, quality, bitrate = "pal8", None, None
        self._gen = imageio_ffmpeg.write_frames(
            str(path), (width, height), pix_fmt_in="rgb24", pix_fmt_out=pix_fmt, fps=fps, codec=codec,
            quality=quality, bitrate=bitrate, macro_block_size=1, output_params=params,
            ffmpeg_log_level="error")
        self._gen.send(None)
        self.size = size

    def write(self, rgb: np.ndarray) -> None:
        try:
            self._gen.send(np.ascontiguousarray(rgb))
        except (OSError, RuntimeError) as exc:
            raise WriteError(f"ffmpeg failed while writing the movie: {exc}") from exc

    def close(self) -> None:
        try:
            self._gen.close()
        except (OSError, RuntimeError) as exc:
            raise WriteError(f"ffmpeg failed to finish the movie: {exc}") from exc


def _encoder_settings(path: Path, codec, quality, bitrate) -> tuple[str, str, Any, Any]:
    fmt, default_codec = CONTAINERS[path.suffix.lower()]
    codec = _CODEC_ALIASES.get(codec, codec) if codec else default_codec
    if bitrate is None or (isinstance(bitrate, int | float) and bitrate <= 0):
        bitrate = None
    elif isinstance(bitrate, int | float):
        bitrate = f"{int(bitrate)}k"  # matplotlib's writers take kbit/s
    if quality is not None:
        q = float(quality)
        if not 1 <= q <= 10:
            raise InvalidArgumentError(f"quality goes from 1 (worst) to 10 (lossless), got {quality!r}")
        quality = q
    return fmt, codec, quality, bitrate


def _container_format(path: Path) -> str:
    return CONTAINERS[path.suffix.lower()][0]


# -- the lookup-table movie ----------------------------------------------------------
def to_movie(fslist, video_name, fps=None, titles=None, ncols=None, cmap=None, vmin=None, vmax=None,
             marker_idx=None, *, start=0, stop=None, fslice=None, speed=None, pad=False,
             percentiles=None, colorbar=None, scalebar=False, show_time=True, zoom=None, codec=None,
             quality=8, bitrate=None, gap=4, overwrite=False) -> Path:
    """Lay several frame sequences side by side in one movie.

    Parameters
    ----------
    fslist : sequence of FrameSequence (or arrays)
        The sequences, in reading order (left to right, then top to bottom).
    video_name : str or path
        The movie file; ``.mp4`` is added when there is no extension
        (``.mp4 .mov .mkv .avi .mpg .gif`` are known).
    fps : float or None
        Frames per second; None plays in real time (see :func:`movie_timing`).
    titles : sequence of str or None
        A title above each panel.
    ncols : int or None
        Panels per row (all in one row by default).
    cmap, vmin, vmax : str, float or sequences of them
        Colour map and display range per panel (one value for all, or one per
        sequence); a missing range is the 0.5–99.5 percentiles of the shown frames,
        a missing colour map ``'gray'`` (``'RdBu_r'`` centred on 0 for ΔF/F or z-scores).
    marker_idx : sequence of int or None
        Frames (positions) on which a red dot is drawn in the top-right corner.
    start, stop, fslice :
        The frames to show: ``start:stop``, or ``fslice`` (as for ``iter_blocks``).
    speed : float or str or None
        Play this many times faster than real time (``2`` or ``'2x'``; with ``fps=None``).
    pad : bool
        Sequences of different lengths are an error; ``pad=True`` shows black after
        the end of the shorter ones.
    percentiles : (low, high) or None
        Percentiles of the data for missing display limits (default 0.5, 99.5).
    colorbar : bool or None
        Draw a colour bar beside each one-channel panel (None: for ΔF/F and z-scores).
    scalebar : bool
        Draw a scale bar in µm at the lower right of each panel (its pixel size must be in µm).
    show_time : bool
        Draw the source frame number and time (of the longest sequence) above the panels.
    zoom : int or None
        Integer enlargement of the frames (default: up to about 400 pixels).
    codec, quality, bitrate
        Encoder settings: codec default by container (H.264 for mp4), quality
        1..10 (10 is lossless H.264), bitrate in kbit/s (overrides quality).
    gap : int
        Pixels between panels.
    overwrite : bool
        Replace an existing movie.

    Returns
    -------
    pathlib.Path
        The movie written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from imfun.fseq import FSeq_arr
    >>> a = FSeq_arr(np.random.rand(5, 16, 16)); b = FSeq_arr(np.random.rand(5, 16, 16))
    >>> out = to_movie([a, b], os.path.join(tempfile.mkdtemp(), "ab"), titles=["a", "b"])
    >>> out.name
    'ab.mp4'
    """
    from ..fseq.opening import open_seq

    seqs = [open_seq(f) for f in (fslist if isinstance(fslist, list | tuple) else [fslist])]
    if not seqs:
        raise InvalidArgumentError("to_movie needs at least one sequence")
    n_panels = len(seqs)

    def per_panel(value, name):
        if isinstance(value, list | tuple | np.ndarray) and not isinstance(value, str):
            if len(value) != n_panels:
                raise InvalidArgumentError(f"{name} has {len(value)} entries for {n_panels} sequences")
            return list(value)
        return [value] * n_panels

    if titles is not None:
        titles = [str(t) for t in per_panel(list(titles) if not isinstance(titles, str) else titles,
                                            "titles")]
    lengths = [len(fs) for fs in seqs]
    if len(set(lengths)) > 1 and not pad:
        raise ShapeMismatchError(
            f"the sequences have different lengths ({', '.join(map(str, lengths))} frames); select the "
            f"same frames of each, or pass pad=True to show black after the shorter ones end")
    first = seqs[int(np.argmax(lengths))]
    positions = selected_positions(max(lengths), start, stop, fslice)
    path = movie_path(video_name)
    timing = movie_timing(first, fps, speed, _container_format(path))
    panels = [_Panel(fs, positions, cm, lo, hi, percentiles, colorbar, scalebar) for fs, cm, lo, hi in
              zip(seqs, per_panel(cmap, "cmap"), per_panel(vmin, "vmin"), per_panel(vmax, "vmax"),
                  strict=True)]
    layout = _Layout(panels, ncols, zoom, titles, show_time, gap)
    sources = [p for fs in seqs for p in fs.source_paths()]
    check_target(path, sources, overwrite)
    shown = positions[::timing.step]
    texts = titles_for(first, shown, timing)
    marks = shown_markers(positions, timing.step, _marker_set(marker_idx))
    _write_lut_movie(path, panels, layout, shown, timing.fps, marks, texts, codec, quality, bitrate,
                     overwrite, sources)
    return path


class _Panel:
    def __init__(self, fs, positions, cmap, vmin, vmax, percentiles, colorbar, scalebar=False):
        self.fs = fs
        inside = positions[positions < len(fs)]
        self.display = display_for(fs, vmin, vmax, percentiles, cmap, fslice=inside if len(inside) else None)
        self.shape = fs.frame_shape[:2]
        want = self.display.kind == "diverging" if colorbar is None else bool(colorbar)
        self.colour_bar = want and self.display.has_colour_bar
        self.label = value_label(fs)
        self.um = micron_scale(fs.meta["axes"]) if scalebar else None
        if scalebar and self.um is None:
            raise InvalidArgumentError(f"a scale bar needs the pixel size in µm; the axes of "
                                       f"{fs.reader.source} are {fs.meta['axes'].describe()}")


def _tick(value: float) -> str:
    return f"{value:.3g}"


class _Layout:
    """Where panels, title bands, colour bars and the marker go on the canvas."""

    def __init__(self, panels, ncols, zoom, titles, show_time, gap, target=400):
        shapes = [p.shape for p in panels]
        n = len(shapes)
        self.ncols = n if ncols is None else int(ncols)
        if self.ncols < 1:
            raise InvalidArgumentError(f"ncols must be a positive int, got {ncols!r}")
        self.ncols = min(self.ncols, n)
        self.nrows = math.ceil(n / self.ncols)
        big = max(max(s) for s in shapes)
        if zoom is None:
            zoom = max(1, target // (big * max(self.ncols, self.nrows)))
        if int(zoom) != zoom or zoom < 1:
            raise InvalidArgumentError(f"zoom must be a positive int, got {zoom!r}")
        self.zoom = int(zoom)
        cell_h = max(s[0] for s in shapes) * self.zoom
        image_w = max(s[1] for s in shapes) * self.zoom
        self.font = int(min(20, max(10, image_w * self.ncols // 25)))
        self.bar_w = max(6, self.font // 2) if any(p.colour_bar for p in panels) else 0
        cell_w = image_w + (self.bar_w + 6 + 4 * self.font if self.bar_w else 0)
        width = self.ncols * cell_w + (self.ncols - 1) * gap
        band = self.font + 8
        self.time_band = band if show_time else 0
        self.title_band = band if titles else 0
        height = self.time_band + self.nrows * (self.title_band + cell_h) + (self.nrows - 1) * gap
        # yuv420p needs an even width and height
        self.size = (width + width % 2, height + height % 2)
        self.origins = []
        for k, (h, w) in enumerate(shapes):
            r, c = divmod(k, self.ncols)
            y = self.time_band + r * (self.title_band + cell_h + gap) + self.title_band
            x = c * (cell_w + gap)
            # centre smaller panels in their cell's image area
            self.origins.append((y + (cell_h - h * self.zoom) // 2, x + (image_w - w * self.zoom) // 2))
        self.panels, self.titles = panels, titles
        self.cell, self.image_w, self.gap = (cell_h, cell_w), image_w, gap
        rad = max(2, min(cell_h, image_w) // 16)
        self.marker = disk(rad)
        y0, x0 = self.origins[0]
        w0 = shapes[0][1] * self.zoom
        self.marker_at = (y0 + rad + 2, x0 + w0 - rad - 3)
        self.scale_bars = self._scale_bars()

    def _cell_origin(self, k: int) -> tuple[int, int]:
        r, c = divmod(k, self.ncols)
        return self.time_band + r * (self.title_band + self.cell[0] + self.gap), c * (self.cell[1] + self.gap)

    def _colour_bar(self, canvas: np.ndarray, k: int) -> None:
        panel = self.panels[k]
        y, x = self._cell_origin(k)
        y += self.title_band
        h, x_bar = self.cell[0], x + self.image_w + 4
        d = panel.display
        canvas[y:y + h, x_bar:x_bar + self.bar_w] = d.lut[np.linspace(255, 0, h).round().astype(int)][:, None]
        x_text, size = x_bar + self.bar_w + 2, max(8, self.font - 4)
        band = self.title_band or (self.time_band if k < self.ncols else 0)
        if band:  # what the colours mean, in the band above the bar
            draw_text(canvas[y - band:y, x_bar:x + self.cell[1]], panel.label, 0, size)
        for frac, value in ((0.0, d.vmax[0]), (1.0, d.vmin[0]), (0.5, (d.vmin[0] + d.vmax[0]) / 2)):
            top = int(min(max(y + frac * h - size / 2 - 2, 0), canvas.shape[0] - size - 4))
            draw_text(canvas[top:top + size + 4, x_text:x + self.cell[1]], _tick(value), 0, size)

    def blank(self) -> np.ndarray:
        width, height = self.size
        canvas = np.zeros((height, width, 3), np.uint8)
        for k in range(len(self.panels)):
            y, x = self._cell_origin(k)
            if self.titles:
                draw_text(canvas[y:y + self.title_band, x:x + self.cell[1]], self.titles[k], 4, self.font)
            if self.panels[k].colour_bar:
                self._colour_bar(canvas, k)
        return canvas

    def _scale_bars(self) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
        """Per panel with a scale bar: where its patch goes, the patch and the mask of its pixels."""
        out = []
        size = max(8, self.font - 4)
        for (y, x), panel in zip(self.origins, self.panels, strict=True):
            if panel.um is None:
                continue
            h, w = panel.shape[0] * self.zoom, panel.shape[1] * self.zoom
            length = nice_length(panel.shape[1] * panel.um / 5)
            bar = max(1, round(length / panel.um * self.zoom))
            text = f"{length:g} µm"
            pw = max(bar, int(_font(size).getlength(text)) + 2)
            thick = max(2, h // 80)
            patch = np.zeros((size + 6 + thick, pw, 3), np.uint8)
            draw_text(patch[:size + 4], text, (pw - int(_font(size).getlength(text))) // 2, size)
            patch[-thick:, pw - bar:] = 255
            mask = patch.any(-1)
            ph = patch.shape[0]
            out.append((max(y, y + h - ph - 4), max(x, x + w - pw - 4), patch[:h, :w], mask[:h, :w]))
        return out

    def draw_scale_bars(self, canvas: np.ndarray) -> None:
        for y, x, patch, mask in self.scale_bars:  # patches lie inside their panels
            canvas[y:y + patch.shape[0], x:x + patch.shape[1]][mask] = patch[mask]

    def draw_marker(self, canvas: np.ndarray) -> None:
        r = self.marker.shape[0] // 2
        cy, cx = self.marker_at
        y0, x0 = max(cy - r, 0), max(cx - r, 0)
        sub = canvas[y0:cy + r + 1, x0:cx + r + 1]
        m = self.marker[y0 - (cy - r):, x0 - (cx - r):][:sub.shape[0], :sub.shape[1]]
        sub[m] = MARKER_RGB


def _panel_stream(panel: _Panel, shown: np.ndarray, zoom: int) -> Iterator[np.ndarray | None]:
    """Rendered frames of a panel at the shown positions, then None (padding) to the end."""
    inside = shown[shown < len(panel.fs)]
    if len(inside):
        for _, block in panel.fs.iter_blocks(inside):
            yield from panel.display.rgb(block, zoom)
    for _ in range(len(shown) - len(inside)):
        yield None


def _write_lut_movie(path, panels, layout, shown, fps, marks, texts, codec, quality, bitrate,
                     overwrite, sources, desc="movie"):
    fmt, codec, quality, bitrate = _encoder_settings(path, codec, quality, bitrate)
    base = layout.blank()
    canvas = base.copy()
    streams = [_panel_stream(p, shown, layout.zoom) for p in panels]
    with atomic_target(path, overwrite=overwrite, sources=sources) as tmp:
        enc = Encoder(tmp, layout.size, fps, fmt, codec, quality, bitrate)
        try:
            with progress(len(shown), desc) as bar:
                for i in range(len(shown)):
                    canvas[...] = base
                    for k, stream in enumerate(streams):
                        frame = next(stream)
                        if frame is not None:
                            y, x = layout.origins[k]
                            canvas[y:y + frame.shape[0], x:x + frame.shape[1]] = frame
                    layout.draw_scale_bars(canvas)
                    if layout.time_band:
                        draw_text(canvas[:layout.time_band], texts[i], 4, layout.font)
                    if marks[i]:
                        layout.draw_marker(canvas)
                    enc.write(canvas)
                    bar.update(1)
        finally:
            for s in streams:
                s.close()
            enc.close()
    return path


# -- export_movie_anim ---------------------------------------------------------------
def export_movie_anim(fs: FrameSequence, video_name, fps=None, start=0, stop=None, show_title=True,
                      fig_size=(4, 4), bitrate=-1, writer="avconv", codec=None, frame_on=False,
                      marker_idx=None, vmin=None, vmax=None, *, fslice=None, speed=None, percentiles=None,
                      colorbar=None, scalebar=False, **kwargs) -> Path:
    """Write the sequence as a movie; see :meth:`imfun.export.methods.ExportMixin.export_movie_anim`."""
    if writer not in LEGACY_WRITERS:
        raise InvalidArgumentError(
            f"writer={writer!r} is unknown; movies are written with the ffmpeg of imageio-ffmpeg "
            f"(the names {', '.join(LEGACY_WRITERS[:3])} are accepted for compatibility)")
    path = movie_path(video_name)
    timing = movie_timing(fs, fps, speed, _container_format(path))
    cmap = kwargs.pop("cmap", None)
    quality = kwargs.pop("quality", 8)
    overwrite = kwargs.pop("overwrite", False)
    zoom = kwargs.pop("zoom", None)
    dpi = kwargs.pop("dpi", 100)
    positions = selected_positions(len(fs), start, stop, fslice)
    sources = fs.source_paths()
    check_target(path, sources, overwrite)
    panel = _Panel(fs, positions, cmap, vmin, vmax, percentiles, colorbar, scalebar)
    shown = positions[::timing.step]
    texts = titles_for(fs, shown, timing)
    marks = shown_markers(positions, timing.step, _marker_set(marker_idx))
    if frame_on or kwargs:
        if zoom is not None:
            raise UnknownArgumentError("zoom applies to movies without a matplotlib frame "
                                       "(frame_on=False and no imshow keywords); use fig_size")
        return _write_mpl_movie(panel, path, timing.fps, shown, texts if show_title else None, fig_size,
                                dpi, bitrate, codec, frame_on, marks, quality, overwrite, sources, kwargs)
    target = round(max(fig_size) * dpi) if fig_size is not None else 400
    layout = _Layout([panel], None, zoom, None, show_title, 0, target=target)
    _write_lut_movie(path, [panel], layout, shown, timing.fps, marks, texts, codec, quality, bitrate,
                     overwrite, sources)
    return path


def _write_mpl_movie(panel, path, fps, shown, texts, fig_size, dpi, bitrate, codec, frame_on, marks,
                     quality, overwrite, sources, imshow_kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    from ..plotting import add_colour_bar, add_scale_bar

    fs, display = panel.fs, panel.display
    fmt, codec, quality, bitrate = _encoder_settings(path, codec, quality, bitrate)
    fig = Figure(figsize=fig_size, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88 if texts is not None else 0.96))
    ax.set_frame_on(frame_on)
    if not frame_on:
        ax.set_xticks([])
        ax.set_yticks([])
    try:
        im = ax.imshow(display.rgb(fs[int(shown[0])][None])[0], **imshow_kwargs)
    except (TypeError, AttributeError, ValueError) as exc:
        raise UnknownArgumentError(f"export_movie_anim: imshow() refused the extra keywords "
                                   f"{sorted(imshow_kwargs)}: {exc}") from exc
    if panel.colour_bar:
        add_colour_bar(fig, ax, display, value_label(fs))
    if panel.um is not None:
        add_scale_bar(ax, panel.um, fs.frame_shape[1])
    title = ax.set_title("") if texts is not None else None
    dot = Circle((0.93, 0.93), 0.04, transform=ax.transAxes, color="red", visible=False)
    ax.add_patch(dot)
    canvas.draw()
    height, width = np.asarray(canvas.buffer_rgba()).shape[:2]
    size = (width + width % 2, height + height % 2)
    frame_rgb = np.zeros((size[1], size[0], 3), np.uint8)
    with atomic_target(path, overwrite=overwrite, sources=sources) as tmp:
        enc = Encoder(tmp, size, fps, fmt, codec, quality, bitrate)
        try:
            with progress(len(shown), "movie") as bar:
                i = 0
                for _, block in fs.iter_blocks(shown):
                    for rgb in display.rgb(block):
                        im.set_data(rgb)
                        if title is not None:
                            title.set_text(texts[i])
                        dot.set_visible(bool(marks[i]))
                        canvas.draw()
                        frame_rgb[:height, :width] = np.asarray(canvas.buffer_rgba())[..., :3]
                        enc.write(frame_rgb)
                        bar.update(1)
                        i += 1
        finally:
            enc.close()
    return path
