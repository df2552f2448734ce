"""A tour of the ``imfun`` command line on a movie, for ``make demo``.

:func:`run_cli_tour` runs ``info``, ``project``, ``traces`` (ROIs from a label
file it writes), ``dfof``, ``movie`` and ``convert`` through :func:`imfun.cli.main`,
printing each command line as a user would type it.  This is a program: it prints.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np

from ..errors import ImfunError


def find_cells(std_image: np.ndarray, min_pixels: int = 12, max_rois: int = 50) -> np.ndarray:
    """A label image of bright blobs of a standard-deviation projection (active cells).

    Pixels above the 95th percentile, split into 8-connected components; components
    smaller than ``min_pixels`` are dropped, and at most ``max_rois`` (the largest) kept.
    """
    from scipy import ndimage

    img = ndimage.gaussian_filter(np.asarray(std_image, float), 1.0)
    lab, n = ndimage.label(img > np.percentile(img, 95), structure=np.ones((3, 3), bool))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    sizes[0] = 0
    keep = [int(v) for v in np.argsort(sizes)[::-1][:max_rois] if sizes[v] >= min_pixels]
    out = np.zeros(lab.shape, np.uint16)
    for new, old in enumerate(sorted(keep), start=1):
        out[lab == old] = new
    return out


def run_cli_tour(tif_path, out_dir, labels: np.ndarray | None = None,
                 baseline_seconds: float = 10.0) -> list[Path]:
    """Drive the command line end to end on a movie and return the files it made.

    Parameters
    ----------
    tif_path : path
        The movie (e.g. the demo's synthetic ImageJ TIFF, whose frame interval is set).
    out_dir : path
        Folder for the outputs (created); existing outputs are replaced.
    labels : 2-D int array or None
        ROIs as a label image; None finds active cells in the std projection.
    baseline_seconds : float
        The ΔF/F baseline window.

    Returns
    -------
    list of pathlib.Path
        The outputs, in the order they were made.

    Raises
    ------
    ImfunError
        When a command fails (its message is printed on stderr by the CLI as well).
    """
    from . import main

    tif_path, out = Path(tif_path), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outputs: list[Path] = []

    def imfun(*args, made=()):
        argv = [str(a) for a in args]
        print("$ imfun " + " ".join(shlex.quote(a) for a in argv), flush=True)
        status = main(argv)
        if status != 0:
            raise ImfunError(f"'imfun {' '.join(argv)}' failed with exit status {status}")
        outputs.extend(Path(p) for p in made)

    imfun("info", tif_path)
    imfun("project", tif_path, "--fn", "std", "-o", out / "std.npy", "--overwrite", made=[out / "std.npy"])
    imfun("project", tif_path, "--fn", "max", "-o", out / "max.png", "--overwrite", made=[out / "max.png"])
    if labels is None:
        labels = find_cells(np.load(out / "std.npy"))
    labels_path = out / "rois.tif"
    import tifffile

    tifffile.imwrite(labels_path, np.asarray(labels).astype(np.uint16))
    outputs.append(labels_path)
    print(f"# wrote {labels_path.name}: {len(np.unique(labels)) - 1} ROIs as a label image", flush=True)
    imfun("traces", tif_path, "--rois", labels_path, "-o", out / "traces.csv", "--dfof",
          "--baseline-seconds", baseline_seconds, "--plot", out / "traces-dfof.png", "--overwrite",
          made=[out / "traces.csv", out / "traces-dfof.png"])
    imfun("dfof", tif_path, "-o", out / "dfof.tif", "--baseline-seconds", baseline_seconds, "--overwrite",
          made=[out / "dfof.tif"])
    imfun("movie", tif_path, out / "dfof.tif", "-o", out / "raw-and-dfof.mp4", "--titles", "raw", "ΔF/F",
          "--fps", 20, "--overwrite", made=[out / "raw-and-dfof.mp4"])
    imfun("convert", tif_path, out / "binned.ome.zarr", "--bin", 2, "--overwrite",
          made=[out / "binned.ome.zarr"])
    imfun("info", out / "binned.ome.zarr")
    return outputs
