"""export_img: every format, names, global range, titles, folder creation, safety."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imfun.errors import InvalidArgumentError, TargetExistsError, UnknownArgumentError
from imfun.fseq import FSeq_arr

HEADERS = {"png": b"\x89PNG", "svg": b"<?xml", "eps": b"%!PS", "pdf": b"%PDF", "bmp": b"BM",
           "tif": (b"II*\x00", b"MM\x00*")}


def seq(n=4):
    data = np.stack([np.full((12, 16), 10.0 * (i + 1)) for i in range(n)])
    return FSeq_arr(data, meta={"axes": [(0.5, "s"), (1, "µm"), (1, "µm")]})


@pytest.mark.parametrize("fmt", ["png", ".svg", "eps", "PDF", ".bmp", "tif"])
def test_formats(fmt, tmp_path):
    fs = seq(3)
    names = fs.export_img(tmp_path / "out" / "sub", format=fmt, figsize=(2, 2))
    ext = fmt.lower().lstrip(".")
    assert [n.rsplit("/", 1)[1] for n in names] == [f"fseq-export-{i:03d}.{ext}" for i in range(3)]
    for name in names:
        head = Path(name).read_bytes()[:8]
        assert head.startswith(HEADERS[ext])
    if ext in ("png", "bmp", "tif"):
        with Image.open(names[0]) as im:
            assert im.size == (200, 200)
    assert sorted(p.name for p in (tmp_path / "out" / "sub").iterdir()) == sorted(
        n.rsplit("/", 1)[1] for n in names)


def test_global_range_title_and_range_of_frames(tmp_path):
    fs = seq(4)  # frames are constant: 10, 20, 30, 40
    names = fs.export_img(tmp_path, base="f", start=0, stop=4, show_title=False, figsize=(1, 1))
    centres = []
    for name in names:
        with Image.open(name) as im:
            centres.append(np.asarray(im.convert("L"))[50, 50])
    assert centres[0] < 5 and centres[-1] > 250 and centres[0] < centres[1] < centres[2] < centres[3]
    # explicit vmin/vmax override the global range
    names = fs.export_img(tmp_path / "v", start=1, stop=3, vmin=0, vmax=20, show_title=False, figsize=(1, 1))
    assert [n.rsplit("/", 1)[1] for n in names] == ["fseq-export-001.png", "fseq-export-002.png"]
    with Image.open(names[0]) as im:
        assert np.asarray(im.convert("L"))[50, 50] > 250
    names = fs.export_img(tmp_path / "t", format="svg", stop=2)
    assert "frame 1, 0.500 s" in Path(names[1]).read_text(encoding="utf-8")


def test_colour_and_imshow_kwargs(tmp_path):
    data = np.zeros((2, 10, 10, 3), np.uint8)
    data[..., 0] = 255
    names = FSeq_arr(data).export_img(tmp_path, show_title=False, figsize=(1, 1), vmin=0, vmax=255)
    with Image.open(names[0]) as im:
        assert tuple(np.asarray(im.convert("RGB"))[50, 50]) == (255, 0, 0)
    assert len(seq(2).export_img(tmp_path / "k", interpolation="nearest", cmap="magma")) == 2
    with pytest.raises(UnknownArgumentError, match="imshow"):
        seq(2).export_img(tmp_path / "bad", no_such_thing=1)


def test_errors_and_overwrite(tmp_path):
    fs = seq(3)
    with pytest.raises(InvalidArgumentError, match="png"):
        fs.export_img(tmp_path, format="gif")
    with pytest.raises(InvalidArgumentError):
        fs.export_img(tmp_path, start=2, stop=2)
    fs.export_img(tmp_path, stop=2)
    with pytest.raises(TargetExistsError):
        fs.export_img(tmp_path, stop=3)
    # nothing was written by the refused call (frame 2 is checked with the others first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fseq-export-000.png", "fseq-export-001.png"]
    assert len(fs.export_img(tmp_path, overwrite=True)) == 3


def test_failure_midway_leaves_nothing(tmp_path):
    calls = {"n": 0}

    def boom(frame):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("broken pipeline")
        return frame

    fs = FSeq_arr(np.zeros((6, 8, 8)), fns=[boom])
    with pytest.raises(RuntimeError):
        fs.export_img(tmp_path, vmin=0, vmax=1)
    assert list(tmp_path.iterdir()) == []
