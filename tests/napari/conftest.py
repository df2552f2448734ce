"""Fixtures of the napari plugin's tests.

Non-GUI tests (manifest, reader and writer through npe2, notebook) need only npe2.
GUI tests live in ``test_gui.py``, which skips as a whole, with one line naming what is
missing (``napari_gui_probe.gui_missing``), unless napari, Qt and an X display with OpenGL
are all there (``xvfb-run -a`` gives one; ``.ci/run`` installs the system libraries).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def npe2_plugin():
    """npe2's plugin manager with imfun's manifest registered (from the package's entry
    point when installed, else straight from the file)."""
    npe2 = pytest.importorskip("npe2")
    from imfun.napari._manifest import MANIFEST

    pm = npe2.PluginManager.instance()
    pm.discover()
    try:
        pm.get_manifest("imfun")
    except KeyError:
        pm.register(npe2.PluginManifest.from_file(MANIFEST))
    return pm
