"""Frames as image files drawn with matplotlib (a ``Figure`` with the Agg canvas, no pyplot)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..engine.progress import progress
from ..errors import InvalidArgumentError, UnknownArgumentError
from .atomic import atomic_many
from .movie import colormap_lut, frame_title, global_range, render_rgb

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


def export_img(fs: FrameSequence, path, base="fseq-export-", figsize=(4, 4), start=0, stop=None,
               show_title=True, format=".png", vmin=None, vmax=None, **kwargs) -> list[str]:
    """Draw frames into image files; see :meth:`imfun.export.methods.ExportMixin.export_img`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    overwrite = kwargs.pop("overwrite", False)
    dpi = kwargs.pop("dpi", 100)
    fmt = image_format(format)
    n = len(fs)
    start, stop, _ = slice(start, stop).indices(n)
    if stop <= start:
        raise InvalidArgumentError(f"start={start}, stop={stop} select no frames of the {n}")
    vmin, vmax = global_range(fs, vmin, vmax)
    colour = len(fs.frame_shape) == 3
    width = max(3, len(str(stop - 1)))
    folder = Path(path)
    names = [folder / f"{base}{i:0{width}d}.{fmt}" for i in range(start, stop)]
    times, unit = fs.frame_idx(), fs.meta["axes"][0].unit

    fig = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88 if show_title else 0.96))
    ax.set_axis_off()
    kwargs.setdefault("cmap", "gray")
    first = fs[start]
    try:
        im = ax.imshow(render_rgb(first[None], vmin, vmax, colormap_lut("gray"))[0]
                       if colour else first, vmin=vmin, vmax=vmax, **kwargs)
        canvas.draw()
    except (TypeError, AttributeError, ValueError) as exc:
        raise UnknownArgumentError(
            f"export_img: imshow() refused the keywords {sorted(kwargs)}: {exc}") from exc
    title = ax.set_title("") if show_title else None

    written = []
    with atomic_many(names, overwrite=overwrite, sources=fs.source_paths()) as tmps, \
            progress(stop - start, "export_img") as bar:
        k = 0
        for _, block in fs.iter_blocks((start, stop)):
            for frame in block:
                i = start + k
                im.set_data(render_rgb(frame[None], vmin, vmax, colormap_lut("gray"))[0]
                            if colour else frame)
                if title is not None:
                    title.set_text(frame_title(i, times, unit))
                _save(fig, canvas, tmps[k], fmt)
                written.append(str(names[k]))
                k += 1
                bar.update(1)
    return written


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
