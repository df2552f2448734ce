"""Frames as image files drawn with matplotlib (a ``Figure`` with the Agg canvas, no pyplot).

Frames are coloured by :class:`imfun.plotting.Display` (robust limits, grey or
diverging colour map, green/magenta composite of two channels) and shown as RGB,
so any number of channels up to four draws; files are named and titled by the
*source* frame number.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..engine.progress import progress
from ..errors import InvalidArgumentError, UnknownArgumentError
from ..plotting import (
    add_colour_bar,
    add_scale_bar,
    display_for,
    frame_label,
    frame_numbers,
    micron_scale,
    time_unit,
    value_label,
)
from .atomic import atomic_many
from .movie import selected_positions

if TYPE_CHECKING:
    from ..fseq.sequence import FrameSequence

# formats matplotlib writes itself, and those made with Pillow from the rendered buffer
_MPL_FORMATS = {"png", "svg", "eps", "pdf"}
_PIL_FORMATS = {"bmp": "BMP", "tif": "TIFF", "tiff": "TIFF"}


def image_format(format: str) -> str:
    """``'.png'``, ``'png'`` or ``'PNG'`` -> ``'png'``; unknown formats are refused."""
    fmt = str(format).lower().lstrip(".")
    if fmt not in _MPL_FORMATS and fmt not in _PIL_FORMATS:
        raise InvalidArgumentError(
            f"cannot export images as {format!r}; use one of png, svg, eps, pdf, bmp, tif")
    return fmt


def image_names(fs: FrameSequence, positions: np.ndarray, folder: Path, base: str, fmt: str) -> list[Path]:
    """``<base><source frame number>.<fmt>``, numbers padded to the same width (at least 3)."""
    numbers = frame_numbers(fs)[positions]
    width = max(3, len(str(int(numbers.max()))))
    return [folder / f"{base}{int(k):0{width}d}.{fmt}" for k in numbers]


def export_img(fs: FrameSequence, path, base="fseq-export-", figsize=(4, 4), start=0, stop=None,
               show_title=True, format=".png", vmin=None, vmax=None, *, fslice=None, percentiles=None,
               colorbar=None, scalebar=None, dpi=100, **kwargs) -> list[str]:
    """Draw frames into image files; see :meth:`imfun.export.methods.ExportMixin.export_img`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    overwrite = kwargs.pop("overwrite", False)
    fmt = image_format(format)
    positions = selected_positions(len(fs), start, stop, fslice)
    display = display_for(fs, vmin, vmax, percentiles, kwargs.pop("cmap", None), fslice=positions)
    names = image_names(fs, positions, Path(path), base, fmt)
    numbers, unit = frame_numbers(fs)[positions], time_unit(fs)
    times = fs.frame_idx()[positions] if unit else [None] * len(positions)

    fig = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88 if show_title else 0.96))
    ax.set_axis_off()
    try:
        im = ax.imshow(display.rgb(fs[int(positions[0])][None])[0], **kwargs)
        canvas.draw()
    except (TypeError, AttributeError, ValueError) as exc:
        raise UnknownArgumentError(
            f"export_img: imshow() refused the keywords {sorted(kwargs)}: {exc}") from exc
    _decorate(fig, ax, fs, display, colorbar, scalebar)
    title = ax.set_title("") if show_title else None

    written = []
    with atomic_many(names, overwrite=overwrite, sources=fs.source_paths()) as tmps, \
            progress(len(positions), "export_img") as bar:
        k = 0
        for _, block in fs.iter_blocks(positions):
            for rgb in display.rgb(block):
                im.set_data(rgb)
                if title is not None:
                    title.set_text(frame_label(int(numbers[k]), times[k], unit))
                _save(fig, canvas, tmps[k], fmt)
                written.append(str(names[k]))
                k += 1
                bar.update(1)
    return written


def _decorate(fig, ax, fs, display, colorbar, scalebar) -> None:
    """A colour bar (default: for diverging data) and a µm scale bar (default: when the axes are µm)."""
    if display.has_colour_bar and (display.kind == "diverging" if colorbar is None else colorbar):
        add_colour_bar(fig, ax, display, value_label(fs))
    um = micron_scale(fs.meta["axes"])
    scalebar = um is not None if scalebar is None else scalebar
    if scalebar and um is None:
        raise InvalidArgumentError("a scale bar needs the pixel size in µm; the axes of these frames "
                                   f"are {fs.meta['axes'].describe()}")
    if scalebar:
        add_scale_bar(ax, um, fs.frame_shape[1])


def _save(fig, canvas, tmp: Path, fmt: str) -> None:
    if fmt in _MPL_FORMATS:
        with open(tmp, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=fig.dpi)
        return
    from PIL import Image

    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=_PIL_FORMATS[fmt])
    tmp.write_bytes(buf.getvalue())
