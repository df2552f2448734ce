"""The napari reader: any source that :func:`imfun.fseq.open_seq` opens, as a lazy image layer.

napari asks :func:`napari_get_reader` about a path (a file, a folder, a glob or a
list of files); it answers with :func:`read` when the format registry knows the
source, and with None otherwise, so that other plugins can try.  The layer's data is
``fs.to_dask()``: opening reads headers and the few frames that set the contrast
limits, nothing more; napari reads the frames it shows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ImfunError
from ..plotting import PERCENTILES  # the display limits of every picture

SAMPLE_FRAMES = 5  # frames read at most to set contrast limits
RGB_COLOURS = ("red", "green", "blue")

LayerData = tuple[Any, dict, str]


def _as_source(path: str | os.PathLike | list) -> str | list[str]:
    if isinstance(path, list | tuple):
        paths = [os.fspath(p) for p in path]
        return paths[0] if len(paths) == 1 else paths
    return os.fspath(path)


def napari_get_reader(path: str | list[str]) -> Callable[[Any], list[LayerData]] | None:
    """Return :func:`read` when imfun's registry has a reader for ``path``, else None.

    Examples
    --------
    >>> napari_get_reader("no-such-file.tif") is None
    True
    """
    from ..readers import registry

    try:
        registry.find_format(registry.resolve(_as_source(path)))
    except (ImfunError, OSError):
        return None
    return read


def read(path: str | list[str]) -> list[LayerData]:
    """Open ``path`` with :func:`imfun.fseq.open_seq` and return its layer data."""
    from ..fseq import open_seq

    return [layer_data(open_seq(_as_source(path)))]


def sample_limits(fs, n: int = SAMPLE_FRAMES) -> np.ndarray:
    """Contrast limits ``[lo, hi]`` (``(channels, 2)`` for colour frames) from the 0.5th and
    99.5th percentiles of at most ``n`` frames spread over the sequence (one read)."""
    positions = np.unique(np.linspace(0, len(fs) - 1, min(n, len(fs))).round().astype(int))
    block = np.asarray(fs._read_positions(positions, None), dtype=np.float64)
    values = block.reshape(-1, block.shape[-1]) if block.ndim == 4 else block.reshape(-1, 1)
    values = np.where(np.isfinite(values), values, np.nan)
    with warnings.catch_warnings():  # all-NaN frames: limits [0, 1] below
        warnings.simplefilter("ignore", RuntimeWarning)
        limits = np.nanpercentile(values, PERCENTILES, axis=0).T  # (channels, 2)
    limits = np.where(np.isnan(limits), [0.0, 1.0], limits)
    limits[:, 1] = np.where(limits[:, 1] > limits[:, 0], limits[:, 1], limits[:, 0] + 1)
    return limits if block.ndim == 4 else limits[0]


def imfun_metadata(fs) -> dict[str, Any]:
    """What the layer's ``metadata['imfun']`` holds: format, source, axes as
    ``[[scale, unit], ...]`` (t, y, x), frames, frame shape, dtype, frame times."""
    from ..display import format_name

    meta = {
        "format": format_name(fs),
        "class": type(fs).__name__,
        "source": str(fs.reader.source),
        "paths": [str(p) for p in fs.source_paths()],
        "axes": [[float(ax.scale), ax.unit] for ax in fs.meta["axes"]],
        "frames": len(fs),
        "frame_shape": list(fs.frame_shape),
        "dtype": str(fs.dtype),
    }
    if "frame_times" in fs.meta:
        meta["frame_times"] = np.asarray(fs.frame_idx(), dtype=float).tolist()
    return meta


def layer_data(fs, name: str | None = None) -> LayerData:
    """The napari image layer data tuple of a sequence: lazy dask data, physical scale and
    units, contrast limits from a sample, one layer per channel for colour frames."""
    axes = fs.meta["axes"]
    kwargs: dict[str, Any] = {
        "name": name or _layer_name(fs),
        "scale": [float(ax.scale) for ax in axes],
        "units": [ax.unit or "pixel" for ax in axes],
        "axis_labels": ["t", "y", "x"],
        "contrast_limits": sample_limits(fs).tolist(),
        "metadata": {"imfun": imfun_metadata(fs)},
    }
    channels = fs.frame_shape[2] if len(fs.frame_shape) == 3 else 0
    if channels:
        kwargs["channel_axis"] = 3
        kwargs["name"] = [f"{kwargs['name']} [{i}]" for i in range(channels)]
        if channels == 3:
            kwargs["colormap"] = list(RGB_COLOURS)
    return fs.to_dask(), kwargs, "image"


def _layer_name(fs) -> str:
    paths = fs.source_paths()
    if len(paths) == 1:
        return paths[0].name
    if paths:
        return f"{paths[0].parent.name or paths[0].name} ({len(paths)} files)"
    return type(fs).__name__
