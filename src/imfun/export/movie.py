"""Movies with the ffmpeg binary of the ``imageio-ffmpeg`` wheel.

Two renderers feed the encoder raw ``rgb24`` frames:

* the lookup-table path (default): each block of frames is scaled to 0..255
  by ``vmin``/``vmax``, mapped through a 256-entry colormap table, enlarged by
  an integer zoom, and copied into a canvas; titles are drawn with Pillow into
  a band above the frames and markers straight into the array.  No matplotlib
  draw per frame.
* the matplotlib path, for what needs a figure (``frame_on=True`` or extra
  ``imshow`` keywords): one ``Figure`` whose image data are replaced per frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.progress import progress
from ..errors import InvalidArgumentError, UnknownArgumentError, WriteError
from .atomic import atomic_target, check_target

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

# container -> (ffmpeg muxer, default codec)
CONTAINERS = {".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
              ".mkv": ("matroska", "libx264"), ".avi": ("avi", "libx264"),
              ".mpg": ("mpeg", "mpeg2video"), ".mpeg": ("mpeg", "mpeg2video")}
LEGACY_WRITERS = ("avconv", "ffmpeg", "mencoder", "ffmpeg_file", "avconv_file", "mencoder_file")
_CODEC_ALIASES = {"h264": "libx264", "x264": "libx264", "mpeg2": "mpeg2video"}
MARKER_RGB = (255, 0, 0)


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


def movie_path(video_name) -> Path:
    """The movie's path: ``.mp4`` is added when the name has no extension."""
    p = Path(video_name)
    if not p.suffix:
        return p.with_name(p.name + ".mp4")
    if p.suffix.lower() not in CONTAINERS:
        raise InvalidArgumentError(
            f"cannot write a movie as {p.suffix!r}; use one of {', '.join(sorted(CONTAINERS))}")
    return p


@lru_cache(maxsize=32)
def colormap_lut(cmap: str = "gray") -> np.ndarray:
    """A ``(256, 3)`` uint8 table of a matplotlib colormap.

    >>> colormap_lut("gray")[[0, 128, 255], 0]
    array([  0, 128, 255], dtype=uint8)
    """
    import matplotlib

    try:
        cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    except KeyError:
        raise InvalidArgumentError(
            f"unknown colormap {cmap!r}; use a matplotlib name such as 'gray' or 'viridis'") from None
    rgba = cm(np.linspace(0.0, 1.0, 256))
    return np.rint(rgba[:, :3] * 255).astype(np.uint8)


def to_uint8(block: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Scale values so that ``vmin`` -> 0 and ``vmax`` -> 255 (clipped), as uint8."""
    span = float(vmax) - float(vmin)
    factor = np.float32(255.0 / span) if span > 0 else np.float32(0.0)
    out = (block.astype(np.float32, copy=False) - np.float32(vmin)) * factor
    np.nan_to_num(out, copy=False, nan=0.0)
    np.clip(out, 0, 255, out=out)
    return np.rint(out, out=out).astype(np.uint8)


def render_rgb(block: np.ndarray, vmin: float, vmax: float, lut: np.ndarray, zoom: int = 1) -> np.ndarray:
    """Frames ``(n, h, w[, c])`` to ``(n, h*zoom, w*zoom, 3)`` uint8 RGB.

    Grey frames go through the colormap table; colour frames are scaled as
    they are (two channels become red and green, a fourth channel is dropped).
    """
    idx = to_uint8(block, vmin, vmax)
    if idx.ndim == 3:
        rgb = lut[idx]
    else:
        c = idx.shape[-1]
        if c == 1:
            rgb = lut[idx[..., 0]]
        elif c >= 3:
            rgb = idx[..., :3]
        else:
            rgb = np.concatenate([idx, np.zeros((*idx.shape[:-1], 3 - c), np.uint8)], axis=-1)
    if zoom > 1:
        rgb = rgb.repeat(zoom, axis=1).repeat(zoom, axis=2)
    return rgb


def global_range(fs: FrameSequence, vmin, vmax) -> tuple[float, float]:
    """``vmin``/``vmax``, the missing ones taken from ``fs.data_range()``."""
    if vmin is None or vmax is None:
        rng = np.asarray(fs.data_range(), dtype=float)
        lo, hi = (rng[..., 0].min(), rng[..., 1].max()) if rng.ndim == 2 else (rng[0], rng[1])
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    return float(vmin), float(vmax)


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


def frame_title(index: int, times: np.ndarray, unit: str) -> str:
    """``'frame 12, 0.600 s'`` (just ``'frame 12'`` when the frame axis has no unit)."""
    return f"frame {index}, {times[index]:.3f} {unit}" if unit else f"frame {index}"


class Encoder:
    """Raw rgb24 frames piped into ffmpeg (``imageio_ffmpeg.write_frames``)."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, fmt: str, codec: str,
                 quality: float | None, bitrate):
        import imageio_ffmpeg

        width, height = size
        params = ["-f", fmt]
        if codec == "libx264":
            # frames play everywhere (QuickTime, browsers) and seek on any frame
            params += ["-movflags", "+faststart"] if fmt in ("mp4", "mov") else []
        self._gen = imageio_ffmpeg.write_frames(
            str(path), (width, height), pix_fmt_in="rgb24", fps=fps, codec=codec,
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


def _frame_stream(fs: FrameSequence, start: int, stop: int, render) -> Iterator[np.ndarray]:
    """Rendered frames one at a time, read and rendered a block at a time."""
    for _, block in fs.iter_blocks((start, stop)):
        yield from render(block)


def _marker_set(marker_idx) -> set[int]:
    if marker_idx is None:
        return set()
    arr = np.atleast_1d(np.asarray(marker_idx))
    if arr.dtype == bool:
        return {int(i) for i in np.flatnonzero(arr)}
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidArgumentError(f"marker_idx holds frame indices (ints), got {arr.dtype}")
    return {int(i) for i in arr.ravel()}


def _range(n: int, start, stop) -> tuple[int, int]:
    start, stop, _ = slice(start, stop).indices(n)
    if stop <= start:
        raise InvalidArgumentError(f"start={start}, stop={stop} select no frames of the {n}")
    return start, stop


# -- the lookup-table movie ----------------------------------------------------------
def to_movie(fslist, video_name, fps=25, titles=None, ncols=None, cmap="gray", vmin=None, vmax=None,
             marker_idx=None, *, start=0, stop=None, show_time=True, zoom=None, codec=None,
             quality=8, bitrate=None, gap=4, overwrite=False) -> Path:
    """Lay several frame sequences side by side in one movie.

    Parameters
    ----------
    fslist : sequence of FrameSequence (or arrays)
        The sequences, in reading order (left to right, then top to bottom).
    video_name : str or path
        The movie file; ``.mp4`` is added when there is no extension
        (``.mp4 .mov .mkv .avi .mpg`` are known).
    fps : float
        Frames per second.
    titles : sequence of str or None
        A title above each panel.
    ncols : int or None
        Panels per row (all in one row by default).
    cmap, vmin, vmax : str, float or sequences of them
        Colormap and display range per panel (one value for all, or one per
        sequence); a missing range is the sequence's global ``data_range()``.
    marker_idx : sequence of int or None
        Frames on which a red dot is drawn in the top-right corner.
    start, stop : int
        The frames to show (sequences shorter than ``stop`` hold their last frame).
    show_time : bool
        Draw the frame number and time (of the first sequence) above the panels.
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
    panels = [_Panel(fs, cm, lo, hi) for fs, cm, lo, hi in
              zip(seqs, per_panel(cmap, "cmap"), per_panel(vmin, "vmin"), per_panel(vmax, "vmax"),
                  strict=True)]
    n_total = max(len(fs) for fs in seqs)
    start, stop = _range(n_total, start, stop)
    fps = check_fps(fps)
    path = movie_path(video_name)
    t_unit = seqs[0].meta["axes"][0].unit
    times = seqs[0].frame_idx() if len(seqs[0]) == n_total else np.arange(n_total)
    layout = _Layout([p.shape for p in panels], ncols, zoom, titles, show_time, gap)
    sources = [p for fs in seqs for p in fs.source_paths()]
    check_target(path, sources, overwrite)

    def text_for(i):
        return frame_title(i, times, t_unit) if len(seqs[0]) == n_total else f"frame {i}"

    _write_lut_movie(path, panels, layout, start, stop, fps, _marker_set(marker_idx), text_for,
                     codec, quality, bitrate, overwrite, sources)
    return path


class _Panel:
    def __init__(self, fs, cmap, vmin, vmax):
        self.fs = fs
        self.lut = colormap_lut(cmap if cmap is not None else "gray")
        self.vmin, self.vmax = global_range(fs, vmin, vmax)
        shape = fs.frame_shape
        self.shape = shape[:2]


class _Layout:
    """Where panels, title bands and the marker go on the canvas."""

    def __init__(self, shapes, ncols, zoom, titles, show_time, gap, target=400):
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
        cell_w = max(s[1] for s in shapes) * self.zoom
        width = self.ncols * cell_w + (self.ncols - 1) * gap
        self.font = int(min(20, max(10, width // 25)))
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
            # centre smaller panels in their cell
            self.origins.append((y + (cell_h - h * self.zoom) // 2, x + (cell_w - w * self.zoom) // 2))
        self.titles = titles
        self.cell = (cell_h, cell_w)
        self.gap = gap
        rad = max(2, min(cell_h, cell_w) // 16)
        self.marker = disk(rad)
        y0, x0 = self.origins[0]
        w0 = shapes[0][1] * self.zoom
        self.marker_at = (y0 + rad + 2, x0 + w0 - rad - 3)

    def blank(self) -> np.ndarray:
        width, height = self.size
        canvas = np.zeros((height, width, 3), np.uint8)
        if self.titles:
            cell_h, cell_w = self.cell
            for k, title in enumerate(self.titles):
                r, c = divmod(k, self.ncols)
                y = self.time_band + r * (self.title_band + cell_h + self.gap)
                x = c * (cell_w + self.gap)
                draw_text(canvas[y:y + self.title_band, x:x + cell_w], title, 4, self.font)
        return canvas

    def draw_marker(self, canvas: np.ndarray) -> None:
        r = self.marker.shape[0] // 2
        cy, cx = self.marker_at
        y0, x0 = max(cy - r, 0), max(cx - r, 0)
        sub = canvas[y0:cy + r + 1, x0:cx + r + 1]
        m = self.marker[y0 - (cy - r):, x0 - (cx - r):][:sub.shape[0], :sub.shape[1]]
        sub[m] = MARKER_RGB


def _write_lut_movie(path, panels, layout, start, stop, fps, markers, text_for, codec, quality,
                     bitrate, overwrite, sources, desc="movie"):
    fmt, codec, quality, bitrate = _encoder_settings(path, codec, quality, bitrate)
    base = layout.blank()
    canvas = base.copy()
    streams = []
    for p in panels:
        n = len(p.fs)
        stream_stop = min(stop, n)

        def render(block, p=p):
            return render_rgb(block, p.vmin, p.vmax, p.lut, layout.zoom)

        streams.append(_frame_stream(p.fs, start, stream_stop, render) if start < n else iter(()))
    last: list[np.ndarray | None] = [None] * len(panels)
    with atomic_target(path, overwrite=overwrite, sources=sources) as tmp:
        enc = Encoder(tmp, layout.size, fps, fmt, codec, quality, bitrate)
        try:
            with progress(stop - start, desc) as bar:
                for i in range(start, stop):
                    canvas[...] = base
                    for k, stream in enumerate(streams):
                        frame = next(stream, None)
                        if frame is not None:
                            last[k] = frame
                        if last[k] is not None:
                            y, x = layout.origins[k]
                            h, w = last[k].shape[:2]
                            canvas[y:y + h, x:x + w] = last[k]
                    if layout.time_band:
                        draw_text(canvas[:layout.time_band], text_for(i), 4, layout.font)
                    if i in markers:
                        layout.draw_marker(canvas)
                    enc.write(canvas)
                    bar.update(1)
        finally:
            for s in streams:
                close = getattr(s, "close", None)
                if close is not None:
                    close()
            enc.close()
    return path


# -- export_movie_anim ---------------------------------------------------------------
def export_movie_anim(fs: FrameSequence, video_name, fps=None, start=0, stop=None, show_title=True,
                      fig_size=(4, 4), bitrate=-1, writer="avconv", codec=None, frame_on=False,
                      marker_idx=None, vmin=None, vmax=None, **kwargs) -> Path:
    """Write the sequence as a movie; see :meth:`imfun.export.methods.ExportMixin.export_movie_anim`."""
    if writer not in LEGACY_WRITERS:
        raise InvalidArgumentError(
            f"writer={writer!r} is unknown; movies are written with the ffmpeg of imageio-ffmpeg "
            f"(the names {', '.join(LEGACY_WRITERS[:3])} are accepted for compatibility)")
    if fps is None:
        dt = fs.meta["axes"][0].scale
        fps = 10.0 / dt  # as the reference: ten frame intervals per second of movie
    fps = check_fps(fps)
    path = movie_path(video_name)
    cmap = kwargs.pop("cmap", "gray")
    quality = kwargs.pop("quality", 8)
    overwrite = kwargs.pop("overwrite", False)
    zoom = kwargs.pop("zoom", None)
    dpi = kwargs.pop("dpi", 100)
    n = len(fs)
    start, stop = _range(n, start, stop)
    vmin, vmax = global_range(fs, vmin, vmax)
    sources = fs.source_paths()
    check_target(path, sources, overwrite)
    markers = _marker_set(marker_idx)
    if frame_on or kwargs:
        if zoom is not None:
            raise UnknownArgumentError("zoom applies to movies without a matplotlib frame "
                                       "(frame_on=False and no imshow keywords); use fig_size")
        return _write_mpl_movie(fs, path, fps, start, stop, show_title, fig_size, dpi, bitrate, codec,
                                frame_on, markers, vmin, vmax, cmap, quality, overwrite, sources, kwargs)
    target = round(max(fig_size) * dpi) if fig_size is not None else 400
    layout = _Layout([fs.frame_shape[:2]], None, zoom, None, show_title, 0, target=target)
    panel = _Panel(fs, cmap, vmin, vmax)
    times = fs.frame_idx()
    unit = fs.meta["axes"][0].unit
    _write_lut_movie(path, [panel], layout, start, stop, fps, markers,
                     lambda i: frame_title(i, times, unit), codec, quality, bitrate, overwrite, sources)
    return path


def _write_mpl_movie(fs, path, fps, start, stop, show_title, fig_size, dpi, bitrate, codec, frame_on,
                     markers, vmin, vmax, cmap, quality, overwrite, sources, imshow_kwargs):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    fmt, codec, quality, bitrate = _encoder_settings(path, codec, quality, bitrate)
    fig = Figure(figsize=fig_size, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88 if show_title else 0.96))
    ax.set_frame_on(frame_on)
    if not frame_on:
        ax.set_xticks([])
        ax.set_yticks([])
    colour = len(fs.frame_shape) == 3
    first = fs[start]
    try:
        im = ax.imshow(_mpl_image(first, vmin, vmax) if colour else first,
                       cmap=None if colour else cmap, vmin=None if colour else vmin,
                       vmax=None if colour else vmax, **imshow_kwargs)
    except (TypeError, AttributeError, ValueError) as exc:
        raise UnknownArgumentError(f"export_movie_anim: imshow() refused the extra keywords "
                                   f"{sorted(imshow_kwargs)}: {exc}") from exc
    title = ax.set_title("") if show_title else None
    dot = Circle((0.93, 0.93), 0.04, transform=ax.transAxes, color="red", visible=False)
    ax.add_patch(dot)
    canvas.draw()
    height, width = np.asarray(canvas.buffer_rgba()).shape[:2]
    size = (width + width % 2, height + height % 2)
    frame_rgb = np.zeros((size[1], size[0], 3), np.uint8)
    times = fs.frame_idx()
    unit = fs.meta["axes"][0].unit
    with atomic_target(path, overwrite=overwrite, sources=sources) as tmp:
        enc = Encoder(tmp, size, fps, fmt, codec, quality, bitrate)
        try:
            with progress(stop - start, "movie") as bar:
                i = start
                for _, block in fs.iter_blocks((start, stop)):
                    for frame in block:
                        im.set_data(_mpl_image(frame, vmin, vmax) if colour else frame)
                        if title is not None:
                            title.set_text(frame_title(i, times, unit))
                        dot.set_visible(i in markers)
                        canvas.draw()
                        frame_rgb[:height, :width] = np.asarray(canvas.buffer_rgba())[..., :3]
                        enc.write(frame_rgb)
                        bar.update(1)
                        i += 1
        finally:
            enc.close()
    return path


def _mpl_image(frame: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """A colour frame as RGB uint8 for imshow (which ignores vmin/vmax for RGB)."""
    return render_rgb(frame[None], vmin, vmax, colormap_lut("gray"))[0]

