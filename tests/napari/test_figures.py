"""docs/make_figures.py makes the guide's figures (without the viewer, on a short movie)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "make_figures.py"


def test_the_figures_script_makes_non_blank_pngs(tmp_path):
    spec = importlib.util.spec_from_file_location("make_figures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.main(["--out", str(tmp_path), "--frames", "220", "--no-napari"])
    assert [p.name for p in made] == ["projections.png", "traces.png"]
    for path in made:
        pixels = np.asarray(Image.open(path).convert("L"))
        assert pixels.shape[1] > 600 and pixels.std() > 10


def test_the_committed_figures_are_there():
    for name in ("projections.png", "traces.png", "napari.png"):
        assert (SCRIPT.parent / "img" / name).stat().st_size > 10_000
