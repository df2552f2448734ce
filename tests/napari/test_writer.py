"""The napari writers through npe2's writing API (no Qt): round trips through imfun's readers."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from imfun.analysis.rois import load_rois
from imfun.errors import ShapeMismatchError
from imfun.fseq import open_seq
from imfun.napari._writer import write_roiset

npe2 = pytest.importorskip("npe2")
from npe2 import io_utils  # noqa: E402

RNG = np.random.default_rng(3)
FRAMES = RNG.integers(0, 5000, (9, 12, 14), dtype=np.uint16)


def _axes(fs):
    return [(round(s, 9), u) for s, u in fs.meta["axes"]]


@pytest.mark.parametrize("name", ["out.tif", "out.ome.zarr", "out.h5"])
def test_image_layer_scale_becomes_the_axes(name, tmp_path, npe2_plugin):
    meta = {"name": "movie", "scale": [0.1, 0.5, 0.5]}
    written = io_utils.write(str(tmp_path / name), [(FRAMES, meta, "image")], plugin_name="imfun")
    assert written == [str(tmp_path / name)]
    with open_seq(written[0]) as fs:
        np.testing.assert_array_equal(np.asarray(fs), FRAMES)
        assert _axes(fs) == [(0.1, "s"), (0.5, "µm"), (0.5, "µm")]


def test_read_then_write_keeps_imfun_axes(tmp_path, npe2_plugin):
    src = tmp_path / "src.tif"
    tifffile.imwrite(src, FRAMES, imagej=True, resolution=(1 / 0.25, 1 / 0.25),
                     metadata={"unit": "um", "finterval": 0.2, "axes": "TYX"})
    data, meta, kind = io_utils.read([str(src)], stack=False, plugin_name="imfun")[0]
    meta["scale"] = [1.0, 1.0, 1.0]  # the stored imfun axes win over the layer's scale
    (out,) = io_utils.write(str(tmp_path / "copy.h5"), [(data, meta, kind)], plugin_name="imfun")
    with open_seq(out) as fs:
        np.testing.assert_array_equal(np.asarray(fs), FRAMES)
        assert _axes(fs) == [(0.2, "s"), (0.25, "µm"), (0.25, "µm")]


def test_a_layer_without_scale_gets_unitless_axes_and_2d_is_one_frame(tmp_path, npe2_plugin):
    (out,) = io_utils.write(str(tmp_path / "one.tif"), [(FRAMES[0], {}, "image")], plugin_name="imfun")
    with open_seq(out) as fs:
        assert len(fs) == 1 and [u for _, u in fs.meta["axes"]] == ["", "", ""]
        np.testing.assert_array_equal(fs[0], FRAMES[0])


def test_rgb_layer_keeps_its_channels(tmp_path, npe2_plugin):
    rgb = RNG.integers(0, 256, (4, 6, 7, 3), dtype=np.uint8)
    (out,) = io_utils.write(str(tmp_path / "rgb.ome.zarr"), [(rgb, {"rgb": True}, "image")],
                            plugin_name="imfun")
    with open_seq(out) as fs:
        np.testing.assert_array_equal(np.asarray(fs), rgb)


def test_a_4d_layer_is_refused_with_what_to_do(tmp_path, npe2_plugin):
    with pytest.raises(ShapeMismatchError, match="slice it to 3 dimensions"):
        io_utils.write(str(tmp_path / "x.tif"), [(np.zeros((2, 3, 4, 5, 6)), {}, "image")],
                       plugin_name="imfun")


def _labels() -> np.ndarray:
    lab = np.zeros((20, 24), np.uint16)
    lab[2:6, 3:9] = 1
    lab[10:18, 10:18] = 5
    lab[13:15, 13:15] = 0  # a hole
    lab[0, 23] = lab[19, 0] = 7  # two separate pixels, one ROI
    return lab


def test_labels_layer_to_label_tiff(tmp_path, npe2_plugin):
    lab = _labels()
    (out,) = io_utils.write(str(tmp_path / "labels.tif"), [(lab, {}, "labels")], plugin_name="imfun")
    np.testing.assert_array_equal(tifffile.imread(out), lab)
    _, names = load_rois(out, lab.shape)
    assert names == ["1", "5", "7"]


def test_labels_layer_to_roiset_gives_the_same_pixels(tmp_path, npe2_plugin):
    lab = _labels()
    (out,) = io_utils.write(str(tmp_path / "RoiSet.zip"), [(lab, {}, "labels")], plugin_name="imfun")
    masks, names = load_rois(out, lab.shape)
    assert names == ["1", "5", "7"]
    for mask, name in zip(masks, names, strict=True):
        np.testing.assert_array_equal(mask, lab == int(name))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 0.6))
def test_roiset_round_trip_of_random_labels(tmp_path_factory, seed, density):
    rng = np.random.default_rng(seed)
    lab = (rng.random((12, 15)) < density) * rng.integers(1, 4, (12, 15))
    if not lab.any():
        lab[0, 0] = 1
    path = tmp_path_factory.mktemp("rois") / "RoiSet.zip"
    write_roiset(str(path), lab.astype(np.int32), {})
    masks, names = load_rois(path, lab.shape)
    assert sorted(map(int, names)) == np.unique(lab[lab > 0]).tolist()
    for mask, name in zip(masks, names, strict=True):
        np.testing.assert_array_equal(mask, lab == int(name))
