"""Whether the napari GUI tests can run here (napari, Qt, a display, OpenGL), in one line."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys

# what a viewer needs: Qt starts on the display and makes an OpenGL context (run in a
# child process: a Qt that cannot start aborts the process it runs in)
_GL_PROBE = """
from qtpy.QtWidgets import QApplication
from qtpy.QtGui import QOffscreenSurface, QOpenGLContext
app = QApplication([])
ctx = QOpenGLContext()
surface = QOffscreenSurface()
surface.create()
assert ctx.create() and ctx.makeCurrent(surface), "no OpenGL context"
print("ok")
"""


@functools.cache
def gui_missing() -> str | None:
    """Why GUI tests cannot run here (one line), or None when they can."""
    needed = (("napari", "napari"), ("qtpy", "qtpy"), ("PyQt6", "PyQt6"), ("pytestqt", "pytest-qt"))
    for module, what in needed:
        if importlib.util.find_spec(module) is None:
            return f"GUI tests need {what}: pip install 'imfun[napari]' pytest-qt"
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "GUI tests need an X display with OpenGL: run them under `xvfb-run -a` (see .ci/run)"
    try:
        out = subprocess.run([sys.executable, "-c", _GL_PROBE], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "GUI tests skipped: starting Qt on the display took over 60 s"
    if out.returncode != 0 or "ok" not in out.stdout:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return f"GUI tests need Qt's X libraries and OpenGL (Debian packages in .ci/run): {last[:160]}"
    return None
