"""``imfun.export``: images, movies and writers for frame sequences.

The ``FrameSequence`` methods (``export_img``, ``export_movie_anim``,
``to_tiff``, ``to_hdf5``, ``to_zarr``, ``to_npy``) live in :mod:`.methods`;
:func:`to_movie` lays several sequences side by side in one movie.
"""


def atomic_target(*args, **kwargs):
    """Write to a target atomically; see :func:`imfun.export.atomic.atomic_target`."""
    from .atomic import atomic_target as _atomic_target  # on use: it imports pathlib and signal

    return _atomic_target(*args, **kwargs)


def to_movie(fslist, video_name, fps=None, titles=None, ncols=None, cmap=None, vmin=None, vmax=None,
             marker_idx=None, **kwargs):
    """Lay several sequences side by side in one movie; see :func:`imfun.export.movie.to_movie`."""
    from .movie import to_movie as _to_movie

    return _to_movie(fslist, video_name, fps, titles, ncols, cmap, vmin, vmax, marker_idx, **kwargs)


__all__ = ["atomic_target", "to_movie"]
