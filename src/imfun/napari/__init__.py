"""imfun's napari plugin (npe2): a reader for every format imfun opens, writers, the Summary
images and ROI traces widgets, and a synthetic two-photon sample.

Install with ``pip install 'imfun[napari]'``; napari then finds the plugin through the
``napari.manifest`` entry point (``imfun.napari:napari.yaml``).  The modules import napari
and Qt only where they need them.
"""
