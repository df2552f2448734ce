"""ROIs from label images, mask images, .npy files and ImageJ ROI files."""

import imageio.v3 as iio
import numpy as np
import pytest
import roifile
import tifffile

from imfun.analysis.rois import imagej_masks, load_rois, masks_to_labels
from imfun.errors import InvalidArgumentError, ShapeMismatchError, SourceNotFoundError, UnsupportedFormatError
from imfun.fseq import FSeq_arr

SHAPE = (20, 30)


def labels():
    lab = np.zeros(SHAPE, np.uint16)
    lab[2:6, 3:9] = 4
    lab[10:15, 20:28] = 9
    lab[16:19, 1:3] = 2
    return lab


def test_label_tif_and_png(tmp_path):
    lab = labels()
    for name, write in (("l.tif", tifffile.imwrite), ("l.png", iio.imwrite)):
        write(tmp_path / name, lab.astype(np.uint8) if name.endswith("png") else lab)
        masks, names = load_rois(tmp_path / name, SHAPE)
        assert names == ["2", "4", "9"]
        np.testing.assert_array_equal(masks, lab[None] == np.array([2, 4, 9])[:, None, None])


def test_mask_png_one_roi_or_components(tmp_path):
    mask = (labels() > 0).astype(np.uint8) * 255
    iio.imwrite(tmp_path / "m.png", mask)
    masks, names = load_rois(tmp_path / "m.png", SHAPE)
    assert masks.shape == (1, *SHAPE) and names == ["1"]  # a mask, not label 255
    masks, names = load_rois(tmp_path / "m.png", SHAPE, components=True)
    assert len(masks) == 3 and names == ["1", "2", "3"]
    assert sorted(m.sum() for m in masks) == sorted([24, 40, 6])
    rgb = np.stack([mask] * 3, -1)
    iio.imwrite(tmp_path / "rgb.png", rgb)
    assert load_rois(tmp_path / "rgb.png")[0].shape == (1, *SHAPE)


def test_npy_labels_and_mask_stack(tmp_path):
    np.save(tmp_path / "l.npy", labels().astype(np.int32))
    masks, names = load_rois(tmp_path / "l.npy", SHAPE)
    assert names == ["2", "4", "9"]
    stack = np.zeros((2, *SHAPE), bool)
    stack[0, :5, :5] = stack[1, 3:8, 3:8] = True  # overlapping is fine for masks
    np.save(tmp_path / "s.npy", stack)
    masks, names = load_rois(tmp_path / "s.npy", SHAPE)
    np.testing.assert_array_equal(masks, stack)
    with pytest.raises(InvalidArgumentError, match="overlap"):
        masks_to_labels(masks)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        load_rois(tmp_path / "obj.npy")


def test_errors(tmp_path):
    with pytest.raises(SourceNotFoundError):
        load_rois(tmp_path / "none.tif")
    (tmp_path / "x.csv").write_text("1")
    with pytest.raises(UnsupportedFormatError):
        load_rois(tmp_path / "x.csv")
    np.save(tmp_path / "l.npy", labels())
    with pytest.raises(ShapeMismatchError):
        load_rois(tmp_path / "l.npy", (10, 10))
    np.save(tmp_path / "z.npy", np.zeros(SHAPE, int))
    with pytest.raises(InvalidArgumentError, match="no ROIs"):
        load_rois(tmp_path / "z.npy")
    np.save(tmp_path / "f.npy", np.full(SHAPE, 0.5))
    with pytest.raises(InvalidArgumentError, match="integer"):
        load_rois(tmp_path / "f.npy")


def test_imagej_rect_oval_polygon_zip(tmp_path):
    rect = roifile.ImagejRoi(roitype=roifile.ROI_TYPE.RECT, top=2, left=3, bottom=6, right=9, name="rect")
    oval = roifile.ImagejRoi(roitype=roifile.ROI_TYPE.OVAL, top=8, left=10, bottom=18, right=20, name="oval")
    poly = roifile.ImagejRoi.frompoints(np.array([[20, 2], [29, 2], [29, 7]], float), name="tri")
    roifile.roiwrite(tmp_path / "set.zip", [rect, oval, poly])
    masks, names = load_rois(tmp_path / "set.zip", SHAPE)
    assert names == ["rect", "oval", "tri"]
    expect = np.zeros(SHAPE, bool)
    expect[2:6, 3:9] = True
    np.testing.assert_array_equal(masks[0], expect)
    # the oval: pixel centres inside the ellipse inscribed in its box
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]] + 0.5
    np.testing.assert_array_equal(masks[1], ((xx - 15) / 5) ** 2 + ((yy - 13) / 5) ** 2 <= 1)
    assert masks[1].sum() > 60
    # the triangle: pixel centres inside (x from 20 to 29, y from 2 up to the hypotenuse)
    tri = masks[2]
    assert tri[2, 28] and not tri[6, 21] and tri.sum() > 15
    assert not tri[:, :20].any()
    rect.tofile(tmp_path / "one.roi")
    m1, n1 = load_rois(tmp_path / "one.roi", SHAPE)
    assert n1 == ["rect"] and np.array_equal(m1[0], expect)
    with pytest.raises(InvalidArgumentError, match="frame_shape"):
        load_rois(tmp_path / "one.roi")
    far = roifile.ImagejRoi(roitype=roifile.ROI_TYPE.RECT, top=50, left=50, bottom=60, right=60)
    far.tofile(tmp_path / "far.roi")
    with pytest.raises(InvalidArgumentError, match="covers no pixel"):
        imagej_masks(tmp_path / "far.roi", SHAPE)


def test_roi_traces_method(tmp_path):
    x = np.random.default_rng(0).random((7, *SHAPE))
    fs = FSeq_arr(x)
    lab = labels()
    tifffile.imwrite(tmp_path / "l.tif", lab)
    measured = fs.roi_traces(tmp_path / "l.tif")
    traces, names = measured.F, measured.names
    ref = np.array([x[:, lab == v].mean(1) for v in (2, 4, 9)])
    np.testing.assert_allclose(traces, ref)
    assert names == ["2", "4", "9"]
    np.testing.assert_allclose(fs.labels_reduce(masks_to_labels(load_rois(tmp_path / "l.tif")[0])), ref)
    measured = fs.roi_traces(lab)
    t2, n2 = measured.F, measured.names
    assert n2 == names
    np.testing.assert_allclose(t2, ref)


# -- a binary mask is one ROI named "1", label images keep their values (issue 11, item 8) ----------
@pytest.mark.parametrize("value, dtype, write", [(255, np.uint8, iio.imwrite), (1, np.uint8, iio.imwrite),
                                                 (65535, np.uint16, tifffile.imwrite),
                                                 (True, bool, tifffile.imwrite)])
def test_a_binary_mask_is_roi_1_whatever_value_marks_it(tmp_path, value, dtype, write):
    mask = np.zeros(SHAPE, dtype)
    mask[3:8, 4:12] = value
    path = tmp_path / ("m.png" if write is iio.imwrite else "m.tif")
    write(path, mask)
    masks, names = load_rois(path, SHAPE)
    assert names == ["1"]
    np.testing.assert_array_equal(masks[0], mask != 0)


def test_a_label_image_with_one_label_keeps_its_value(tmp_path):
    lab = np.zeros(SHAPE, np.uint8)
    lab[3:8, 4:12] = 7
    iio.imwrite(tmp_path / "l.png", lab)
    assert load_rois(tmp_path / "l.png", SHAPE)[1] == ["7"]


def test_traces_of_a_mask_png_are_named_1_in_the_csv(tmp_path):
    from imfun.cli import main

    data = np.random.default_rng(4).integers(0, 1000, (6, *SHAPE)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "movie.tif", data, imagej=True)
    mask = np.zeros(SHAPE, np.uint8)
    mask[3:8, 4:12] = 255
    iio.imwrite(tmp_path / "mask.png", mask)
    out = tmp_path / "traces.csv"
    assert main(["-q", "traces", str(tmp_path / "movie.tif"), "--rois", str(tmp_path / "mask.png"),
                 "-o", str(out)]) == 0
    header = out.read_text().splitlines()[0].split(",")
    assert header[-1] == "1" and "255" not in header
    rows = np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(rows[:, -1], data[:, 3:8, 4:12].mean(axis=(1, 2)))


def test_the_readme_rois_line_works_after_a_bare_import_imfun_and_the_import_stays_instant():
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys, time
        t = time.perf_counter()
        import imfun
        took = time.perf_counter() - t
        heavy = [m for m in ("numpy", "imfun.fseq", "imfun.analysis") if m in sys.modules]
        from imfun.fseq import FSeq_arr  # imports imfun.analysis, but not its rois module
        assert imfun.analysis.rois.load_rois.__name__ == "load_rois"
        assert imfun.config.budget and imfun.lib.DFoF and imfun.fseq.open_seq
        for name in ("nothing", "_private"):
            try:
                getattr(imfun, name)
            except AttributeError:
                pass
            else:
                raise SystemExit(f"imfun.{name} should not exist")
        print(took, heavy)
    """)
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
            for _ in range(3)]
    for done in runs:
        assert done.returncode == 0, done.stderr[-2000:]
    took = min(float(done.stdout.split()[0]) for done in runs)
    assert runs[0].stdout.split(maxsplit=1)[1].strip() == "[]"  # nothing heavy at import
    assert took < 0.030, f"import imfun took {took * 1000:.1f} ms"
