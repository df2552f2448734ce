"""The napari reader through npe2's own reading API (no Qt): every format the tests can
write opens lazily, with the right shape, dtype, scale, units, channels and limits."""

from __future__ import annotations

import subprocess
import sys
import threading

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import zarr

from imfun.napari import _manifest
from imfun.napari._reader import SAMPLE_FRAMES, napari_get_reader, sample_limits
from imfun.readers import registry
from imfun.readers.base import Reader

npe2 = pytest.importorskip("npe2")
from npe2 import io_utils  # noqa: E402

RNG = np.random.default_rng(7)
GREY = RNG.integers(0, 60000, (12, 16, 20), dtype=np.uint16)
GREY8 = RNG.integers(0, 256, (12, 16, 20), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, (12, 16, 20, 3), dtype=np.uint8)
NO_AXES = [1.0, 1.0, 1.0]


def _tiff(tmp_path):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, GREY, imagej=True, resolution=(1 / 0.4, 1 / 0.4),
                     metadata={"unit": "um", "finterval": 0.05, "axes": "TYX"})
    return str(path), GREY, [0.05, 0.4, 0.4], ["s", "µm", "µm"]


def _tiff_files(tmp_path):
    folder = tmp_path / "split"
    folder.mkdir()
    for k, part in enumerate(np.split(GREY, 3)):
        tifffile.imwrite(folder / f"part{k + 1}.tif", part, photometric="minisblack")
    return [str(folder / f"part{k + 1}.tif") for k in range(3)], GREY, NO_AXES, ["pixel"] * 3


def _png_glob(tmp_path):
    for i, frame in enumerate(GREY8):
        iio.imwrite(tmp_path / f"frame{i}.png", frame)
    return str(tmp_path / "frame*.png"), GREY8, NO_AXES, ["pixel"] * 3


def _png_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(GREY):
        iio.imwrite(folder / f"f{i}.png", frame)
    return str(folder), GREY, NO_AXES, ["pixel"] * 3


def _png_colour(tmp_path):
    for i, frame in enumerate(COLOUR):
        iio.imwrite(tmp_path / f"c{i}.png", frame)
    return [str(tmp_path / f"c{i}.png") for i in range(len(COLOUR))], COLOUR, NO_AXES, ["pixel"] * 3


def _npy(tmp_path):
    path = tmp_path / "stack.npy"
    np.save(path, GREY)
    return str(path), GREY, NO_AXES, ["pixel"] * 3


def _txt(tmp_path):
    data = GREY[:4].astype(np.float64)
    for i, frame in enumerate(data):
        np.savetxt(tmp_path / f"t{i}.txt", frame)
    return str(tmp_path / "t*.txt"), data, NO_AXES, ["pixel"] * 3


def _hdf5(tmp_path):
    path = tmp_path / "rec.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("data", data=GREY, chunks=(4, 16, 20))
        ds.attrs["element_size_um"] = [1.0, 0.5, 0.5]
    return str(path), GREY, None, None


def _zarr(tmp_path):
    path = tmp_path / "rec.zarr"
    arr = zarr.create_array(str(path), shape=GREY.shape, chunks=(5, 8, 10), dtype=GREY.dtype, zarr_format=2)
    arr[:] = GREY
    return str(path), GREY, NO_AXES, ["pixel"] * 3


FORMATS = {"tiff": _tiff, "tiff-files": _tiff_files, "png-glob": _png_glob, "png-folder": _png_folder,
           "png-colour": _png_colour, "npy": _npy, "txt": _txt, "hdf5": _hdf5, "zarr": _zarr}


@pytest.fixture
def count_reads(monkeypatch):
    """Frames read through any imfun reader (the base class's one road), as a list; a
    reader made of readers (split files) counts once."""
    frames: list[int] = []
    original = Reader.read
    depth = threading.local()

    def counting(self, idx, crop=None):
        depth.n = getattr(depth, "n", 0) + 1
        try:
            block = original(self, idx, crop)
        finally:
            depth.n -= 1
        if depth.n == 0:
            frames.extend([None] * len(block))
        return block

    monkeypatch.setattr(Reader, "read", counting)
    return frames


def _read(source):
    paths = source if isinstance(source, list) else [source]
    return io_utils.read(paths, stack=isinstance(source, list) and len(source) > 1, plugin_name="imfun")


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_every_writable_format_opens_lazily(kind, tmp_path, npe2_plugin, count_reads):
    source, frames, scale, units = FORMATS[kind](tmp_path)
    layers = _read(source)
    assert len(layers) == 1
    data, kwargs, layer_type = layers[0]
    assert layer_type == "image"
    assert len(count_reads) <= SAMPLE_FRAMES  # the contrast-limit sample, no full pass
    assert type(data).__module__.startswith("dask") and data.shape == frames.shape
    assert data.dtype == frames.dtype
    np.testing.assert_array_equal(data[-2].compute(), frames[-2])
    if scale is not None:
        np.testing.assert_allclose(kwargs["scale"], scale)
        assert kwargs["units"] == units
    assert kwargs["metadata"]["imfun"]["frames"] == len(frames)
    sample = frames[np.unique(np.linspace(0, len(frames) - 1, SAMPLE_FRAMES).round().astype(int))]
    if frames.ndim == 4:
        assert kwargs["channel_axis"] == 3 and len(kwargs["name"]) == 3
        expect = np.percentile(sample.reshape(-1, 3).astype(float), [0.5, 99.5], axis=0).T
    else:
        assert "channel_axis" not in kwargs
        expect = np.percentile(sample.astype(float), [0.5, 99.5])
    np.testing.assert_allclose(kwargs["contrast_limits"], expect)


def test_hdf5_element_size_gives_micrometres(tmp_path, npe2_plugin):
    source, *_ = _hdf5(tmp_path)
    _, kwargs, _ = _read(source)[0]
    assert kwargs["scale"][1:] == [0.5, 0.5] and kwargs["units"][1:] == ["µm", "µm"]


def test_opening_reads_only_the_sample_of_a_long_file(tmp_path, npe2_plugin, count_reads):
    path = tmp_path / "long.npy"
    np.save(path, np.zeros((2000, 8, 8), np.uint16))
    data, _, _ = _read(str(path))[0]
    assert len(count_reads) == SAMPLE_FRAMES and data.shape[0] == 2000


def test_unknown_sources_are_left_to_other_plugins(tmp_path):
    (tmp_path / "notes.xyz").write_text("hello")
    (tmp_path / "empty").mkdir()
    assert napari_get_reader(str(tmp_path / "notes.xyz")) is None
    assert napari_get_reader(str(tmp_path / "missing.tif")) is None
    assert napari_get_reader(str(tmp_path / "empty")) is None
    assert napari_get_reader([str(tmp_path / "notes.xyz")]) is None


def test_sample_limits_of_flat_and_nan_frames():
    from imfun.fseq import FSeq_arr

    assert sample_limits(FSeq_arr(np.full((3, 4, 4), 7.0))).tolist() == [7.0, 8.0]
    assert sample_limits(FSeq_arr(np.full((3, 4, 4), np.nan))).tolist() == [0.0, 1.0]


# -- the manifest: one source of truth, valid for npe2 ------------------------------------


def test_committed_manifest_equals_the_registry():
    assert _manifest.MANIFEST.read_text(encoding="utf-8") == _manifest.manifest_text(), (
        "napari.yaml is stale: run `python -m imfun.napari._manifest`")


def test_manifest_patterns_cover_every_registered_ending():
    patterns = set(_manifest.manifest()["contributions"]["readers"][0]["filename_patterns"])
    endings = {e for entry in registry.formats() for e in entry.endings}
    assert patterns == {f"*{e}" for e in endings}
    assert _manifest.manifest()["contributions"]["readers"][0]["accepts_directories"]


def test_npe2_validates_the_manifest_with_imports():
    out = subprocess.run([sys.executable, "-m", "npe2", "validate", str(_manifest.MANIFEST), "--imports"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
