"""napari sample data: a synthetic two-photon movie (:func:`imfun.synthdata.two_photon_movie`)
with the true cell footprints as a labels layer."""

from __future__ import annotations

from typing import Any

from ._reader import layer_data

N_FRAMES, SHAPE, N_CELLS = 400, (128, 128), 12


def two_photon_sample(n_frames: int = N_FRAMES, seed: int = 0) -> list[tuple[Any, dict, str]]:
    """The movie (20 Hz, 0.8 µm pixels; 20 s by default) as an image layer and its cells as labels.

    Examples
    --------
    >>> layers = two_photon_sample(n_frames=40)
    >>> [kind for _, _, kind in layers], layers[0][0].shape, layers[0][1]["scale"]
    (['image', 'labels'], (40, 128, 128), [0.05, 0.8, 0.8])
    """
    from ..synthdata import two_photon_movie

    movie = two_photon_movie(n_frames=n_frames, shape=SHAPE, n_cells=N_CELLS, seed=seed, spike_rate=0.3)
    image = layer_data(movie.to_fseq(), name="two-photon (synthetic)")
    cells = (movie.labels, {"name": "cells (ground truth)", "scale": image[1]["scale"][1:],
                            "units": image[1]["units"][1:], "opacity": 0.4}, "labels")
    return [image, cells]
