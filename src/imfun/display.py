"""Rich display of a sequence in Jupyter: a summary table and a thumbnail of one frame.

``FrameSequence._repr_html_`` returns :func:`html_summary`; a notebook shows it when a
cell ends with a sequence.  Building it reads one frame (the middle one), never more.

>>> import numpy as np
>>> from imfun.fseq import FSeq_arr
>>> fs = FSeq_arr(np.zeros((4, 8, 8), np.uint16), meta={"axes": [(0.5, "s"), (1, "um"), (1, "um")]})
>>> html = html_summary(fs)
>>> "<table" in html and "2 s" in html and "data:image/png;base64," in html
True
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

THUMB_SIZE = 160  # pixels on the long side of the thumbnail, at most
LIMITS = (1.0, 99.5)  # percentiles of the frame mapped to black and white


def format_name(fs) -> str:
    """The registry's name of the format a sequence was opened as (its class name otherwise)."""
    from .readers import registry

    for entry in registry.formats():
        if entry.seq_class is type(fs):
            return entry.name
    return type(fs).__name__


def duration_text(fs) -> str:
    """The time the frames span (last time stamp - first + one interval), or a note."""
    dt, unit = fs.meta["axes"][0]
    if not unit and "frame_times" not in fs.meta:
        return "frame interval not stated (set fs.meta['axes'][0] = (dt, 's'))"
    times = fs.frame_idx()
    return f"{float(times[-1] - times[0] + dt):g} {unit or 's'}"


def to_uint8(frame: np.ndarray, limits: tuple[float, float] = LIMITS) -> np.ndarray:
    """Scale a frame (each channel by itself) to uint8 between robust percentile limits;
    NaN and infinite values become 0.

    >>> to_uint8(np.array([[0.0, 1.0], [2.0, 100.0]]), (0, 50)).tolist()
    [[0, 170], [255, 255]]
    """
    f = np.asarray(frame, dtype=np.float64)
    finite = np.isfinite(f)
    flat = f.reshape(-1, f.shape[2]) if f.ndim == 3 else f.reshape(-1, 1)
    ok = finite.reshape(flat.shape)
    out = np.zeros(flat.shape, np.uint8)
    for c in range(flat.shape[1]):  # a few channels, each vectorized
        values = flat[ok[:, c], c]
        if values.size == 0:
            continue
        lo, hi = np.percentile(values, limits)
        span = hi - lo if hi > lo else 1.0
        scaled = np.clip((flat[:, c] - lo) / span, 0, 1) * 255
        out[:, c] = np.where(ok[:, c], np.round(scaled), 0).astype(np.uint8)
    return out.reshape(f.shape)


def thumbnail(frame: np.ndarray, size: int = THUMB_SIZE) -> np.ndarray:
    """A small uint8 image of a frame: striding to at most ``size`` pixels on the long
    side, grey (one channel, or the first of 2 or more than 4), RGB(A) for 3 or 4 channels."""
    f = np.asarray(frame)
    if f.ndim == 3:
        f = f[..., :3] if f.shape[2] in (3, 4) else f[..., 0]
    step = max(1, -(-max(f.shape[:2]) // size))
    return to_uint8(f[::step, ::step])


def png_base64(image: np.ndarray) -> str:
    """PNG bytes of a uint8 image, base64-encoded for a ``data:`` URI."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _rows(fs) -> list[tuple[str, str]]:
    axes = fs.meta["axes"]
    units = ", ".join(f"{name}: {ax}" for name, ax in zip(("t", "y", "x"), axes, strict=True))
    try:
        shape, dtype = " × ".join(map(str, fs.frame_shape)), str(fs.dtype)
    except Exception as exc:  # a pipeline that fails: the table still shows the rest
        shape = dtype = f"? ({type(exc).__name__}: {exc})"
    name, cls = format_name(fs), type(fs).__name__
    return [
        ("format", name if name == cls else f"{name} ({cls})"),
        ("frames", str(len(fs))),
        ("frame shape", shape),
        ("dtype", dtype),
        ("axes", units),
        ("duration", duration_text(fs)),
        ("source", str(fs.reader.source)),
    ]


def _thumb_html(fs) -> str:
    index = len(fs) // 2
    try:
        frame = fs[index]
    except Exception as exc:  # a display never raises: say what went wrong instead
        return f"<p>no thumbnail: {html.escape(f'{type(exc).__name__}: {exc}')}</p>"
    data = png_base64(thumbnail(frame))
    return (f'<img src="data:image/png;base64,{data}" alt="frame {index}" '
            f'style="image-rendering: pixelated; max-width: {THUMB_SIZE}px"/>'
            f"<div style='font-size: smaller'>frame {index}</div>")


def html_summary(fs) -> str:
    """HTML for a notebook: a table (format, frames, frame shape, dtype, axes with units,
    duration, source) beside a thumbnail of the middle frame.

    Parameters
    ----------
    fs : FrameSequence
        The sequence; one frame is read.

    Returns
    -------
    str
        An HTML fragment.
    """
    cells = "".join(f"<tr><th style='text-align: left'>{html.escape(k)}</th>"
                    f"<td style='text-align: left'>{html.escape(v)}</td></tr>" for k, v in _rows(fs))
    title = html.escape(type(fs).__name__)
    return (f"<div class='imfun-seq'><b>{title}</b><div style='display: flex; gap: 1em; "
            f"align-items: flex-start'><table>{cells}</table><div>{_thumb_html(fs)}</div></div></div>")
