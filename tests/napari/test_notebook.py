"""Notebook support: where progress bars show, and the HTML display of a sequence.

The IPython kernel is simulated the way IPython itself announces one: while a kernel
runs code, ``builtins.get_ipython`` returns its shell, whose class is
``ZMQInteractiveShell``.  The tests put such a function there (a stand-in shell
class of that name, nothing else of IPython); the terminal is a real pseudo-terminal.
The last test runs the same code in a real IPython kernel (ipykernel, through jupyter_client).
"""

from __future__ import annotations

import base64
import builtins
import io
import os
import re
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image
from tqdm import std as tqdm_std

import imfun
from imfun.display import html_summary
from imfun.engine import progress as prog
from imfun.fseq import FSeq_arr, open_seq
from imfun.readers.base import ArrayReader


class ZMQInteractiveShell:
    """Stands in for the shell of a Jupyter kernel (only its class name matters)."""


class TerminalInteractiveShell:
    """Stands in for IPython on a terminal (no kernel)."""


@pytest.fixture
def kernel(monkeypatch):
    monkeypatch.setattr(builtins, "get_ipython", lambda: ZMQInteractiveShell(), raising=False)


# pytest sets sys.stderr again when a test's call starts, so tests set theirs in the test body


@pytest.fixture
def quiet_stderr(monkeypatch):
    """``use()`` makes stderr a text buffer (neither kernel nor terminal) and returns it."""
    buf = io.StringIO()

    def use():
        monkeypatch.setattr(sys, "stderr", buf)
        return buf

    return use


@pytest.fixture
def tty_stderr(monkeypatch):
    """``use()`` makes stderr a real pseudo-terminal."""
    master, slave = os.openpty()
    with os.fdopen(slave, "w") as term:
        yield lambda: monkeypatch.setattr(sys, "stderr", term)
    os.close(master)


@pytest.fixture(autouse=True)
def _auto_setting(monkeypatch):
    monkeypatch.setattr(imfun.config, "progress", "auto")


def test_under_a_kernel_the_notebook_bar_is_chosen(kernel, quiet_stderr):
    from tqdm.notebook import tqdm as notebook_tqdm

    pytest.importorskip("ipywidgets")
    quiet_stderr()
    assert prog.in_kernel() and prog.where() == "notebook"
    assert prog.bar_class() is notebook_tqdm
    with prog.progress(5, "work", delay=0) as bar:
        assert isinstance(bar, notebook_tqdm) and not bar.disable
        bar.update(5)


def test_ipython_on_a_terminal_is_not_a_kernel(monkeypatch, tty_stderr):
    monkeypatch.setattr(builtins, "get_ipython", lambda: TerminalInteractiveShell(), raising=False)
    tty_stderr()
    assert not prog.in_kernel()
    assert prog.where() == "terminal"
    assert prog.bar_class() is tqdm_std.tqdm
    with prog.progress(5, "work") as bar:
        assert type(bar) is tqdm_std.tqdm and not bar.disable


def test_quiet_when_neither_kernel_nor_terminal(quiet_stderr):
    buf = quiet_stderr()
    assert prog.where() == "quiet"
    with prog.progress(5, "work", delay=0) as bar:
        bar.update(5)
    assert bar.disable and buf.getvalue() == ""


def test_config_false_silences_everything(monkeypatch, kernel, tty_stderr):
    monkeypatch.setattr(imfun.config, "progress", False)
    tty_stderr()
    assert not prog.shown(None) and not prog.shown(True)
    assert prog.progress(5, "work").disable


def test_config_true_shows_bars_off_a_terminal(monkeypatch, quiet_stderr):
    monkeypatch.setattr(imfun.config, "progress", True)
    buf = quiet_stderr()
    with prog.progress(4, "counting", delay=0) as bar:
        bar.update(4)
    assert "counting" in buf.getvalue()
    assert prog.progress(4, "never", enable=False).disable  # a caller's explicit off stays off


def test_a_bad_setting_says_what_is_allowed(monkeypatch):
    monkeypatch.setattr(imfun.config, "progress", "yes")
    with pytest.raises(imfun.errors.InvalidArgumentError, match="'auto', True or False"):
        prog.progress(3)


def test_library_calls_draw_no_bar_when_quiet(quiet_stderr):
    buf = quiet_stderr()
    fs = FSeq_arr(np.ones((6, 4, 4)))
    np.testing.assert_array_equal(fs.mean_frame(), np.ones((4, 4)))
    assert buf.getvalue() == ""


# -- _repr_html_ -----------------------------------------------------------------------


class CountingReader(ArrayReader):
    """An array reader that counts the frames read."""

    def __init__(self, arr, **kwargs):
        super().__init__(arr, **kwargs)
        self.frames_read: list[int] = []

    def _read(self, frames, crop):
        self.frames_read.extend(np.arange(self.shape[0])[frames].tolist())
        return super()._read(frames, crop)


def _table(html: str) -> dict[str, str]:
    return dict(re.findall(r"<th[^>]*>([^<]*)</th><td[^>]*>([^<]*)</td>", html))


def _thumb(html: str) -> np.ndarray:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))


def _expected_thumb(frame: np.ndarray, step: int) -> np.ndarray:
    f = frame[::step, ::step].astype(float)
    lo, hi = np.percentile(f, [1, 99.5])
    return np.round(np.clip((f - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)


def test_repr_html_of_a_tiff(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (20, 40, 30), dtype=np.uint16)
    path = tmp_path / "rec<1>.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"unit": "um", "finterval": 0.1, "axes": "TYX"})
    with open_seq(str(path)) as fs:
        html = fs._repr_html_()
    rows = _table(html)
    assert rows["format"] == "tiff (FSeq_tiff)"
    assert rows["frames"] == "20"
    assert rows["frame shape"] == "40 × 30"
    assert rows["dtype"] == "uint16"
    assert rows["axes"] == "t: 0.1 s, y: 0.5 µm, x: 0.5 µm"
    assert rows["duration"] == "2 s"
    assert "rec&lt;1&gt;.tif" in rows["source"]  # escaped, never raw HTML
    np.testing.assert_array_equal(_thumb(html), _expected_thumb(data[10], 1))


def test_thumbnail_reads_one_frame_and_shrinks_big_frames():
    rng = np.random.default_rng(1)
    data = rng.normal(100, 10, (50, 400, 320)).astype(np.float32)
    data[25, 7, 9] = 1e9  # a hot pixel does not wash out the picture
    reader = CountingReader(data)
    fs = imfun.fseq.FrameSequence(reader)
    html = html_summary(fs)
    assert reader.frames_read == [25]
    thumb = _thumb(html)
    assert thumb.shape == (134, 107)  # a stride of 3: at most 160 pixels on the long side
    np.testing.assert_array_equal(thumb, _expected_thumb(data[25], 3))
    assert thumb.std() > 30
    assert "frame interval not stated" in _table(html)["duration"]


def test_colour_frames_give_an_rgb_thumbnail_and_nan_is_black():
    data = np.zeros((3, 8, 8, 3), np.float64)
    data[1, :, :, 0] = np.arange(8)
    data[1, 0, 0, 1] = np.nan
    html = FSeq_arr(data)._repr_html_()
    thumb = _thumb(html)
    assert thumb.shape == (8, 8, 3)
    assert thumb[0, 0, 1] == 0
    assert thumb[:, 7, 0].tolist() == [255] * 8 and thumb[:, 0, 0].tolist() == [0] * 8
    assert _table(html)["frame shape"] == "8 × 8 × 3"


def test_a_frame_that_cannot_be_read_gives_a_note_not_an_error():
    def broken(frame):
        raise ValueError("pipeline broke")

    fs = FSeq_arr(np.zeros((4, 5, 5)), fns=[broken])
    html = html_summary(fs)
    assert "no thumbnail: ValueError: pipeline broke" in html
    assert _table(html)["frame shape"] == "? (ValueError: pipeline broke)"


def test_in_a_real_jupyter_kernel():
    """A real IPython kernel (ipykernel, driven by jupyter_client as a notebook drives it)
    chooses the notebook bar and displays a sequence as HTML."""
    manager = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    km, kc = manager.start_new_kernel(kernel_name="python3")
    out: list[dict] = []
    try:
        code = ("from imfun.engine.progress import where, bar_class\n"
                "print(where(), bar_class().__module__)\n"
                "import numpy as np\nfrom imfun.fseq import FSeq_arr\nFSeq_arr(np.zeros((3, 4, 4)))")
        kc.execute_interactive(code, output_hook=out.append, timeout=120)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    printed = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
    assert printed.split() == ["notebook", "tqdm.notebook"]
    (result,) = [m["content"]["data"] for m in out if m["msg_type"] == "execute_result"]
    assert "<table>" in result["text/html"] and "data:image/png;base64," in result["text/html"]
