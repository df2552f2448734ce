"""The layers stay layers: readers never import the façade, and readers, fseq and engine form
no import cycle; third-party readers plug in through entry points."""

import ast
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import imfun
from imfun.errors import ImfunWarning
from imfun.fseq import FrameSequence, open_seq
from imfun.readers import registry

SRC = Path(imfun.__file__).parent


def imports_of(package: str) -> set[str]:
    """The imfun subpackages (or top-level modules) that modules of ``package`` import, lazily or not."""
    found = set()
    for path in (SRC / package).rglob("*.py"):
        parts = (package, *path.relative_to(SRC / package).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = parts[:len(parts) - node.level] if path.name != "__init__.py" else \
                    parts[:len(parts) - node.level + 1]
                target = (*base, *(node.module or "").split(".")) if node.module else base
                found.add(target[0] if target else "")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("imfun."):
                found.add(node.module.split(".")[1])
    return found - {package}


def test_readers_never_import_the_facade_or_the_engine():
    assert not imports_of("readers") & {"fseq", "engine", "analysis", "export", "cli", "dist"}


def test_no_cycle_between_readers_fseq_and_engine():
    # (the dask executor, dist, sits above fseq: the engine reaches it only when asked for dask)
    assert "fseq" not in imports_of("engine") and "fseq" not in imports_of("readers")
    assert "readers" in imports_of("fseq") and "engine" in imports_of("fseq")


PLUGIN = '''
import numpy as np
from imfun.readers.base import ArrayReader
from imfun.readers.options import Option
from imfun.readers.registry import register

SCALE = Option("scale", "multiply the frames by this", float, "X")


@register("testplug", (".tplug",), options=(SCALE,), description="a plug-in written by a test")
def open_tplug(source, scale=1.0):
    """A made-up text format: the first line is the shape, the rest the values."""
    lines = source.files[0].read_text().split("\\n")
    shape = tuple(int(n) for n in lines[0].split())
    data = np.array(lines[1].split(), float).reshape(shape) * scale
    return ArrayReader(data, source=str(source.files[0]))
'''


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """An installed distribution (a .dist-info on sys.path) whose entry points name two readers:
    one that works and one whose module does not exist."""
    (tmp_path / "imfun_testplug.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "imfun_testplug-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: imfun-testplug\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[imfun.readers]\ntestplug = imfun_testplug\n"
                                           "broken = imfun_no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    registry.unregister("testplug")
    sys.modules.pop("imfun_testplug", None)


def test_a_reader_from_an_entry_point_opens_with_open_seq(plugin_dist, tmp_path):
    with pytest.warns(ImfunWarning, match="plug-in 'broken' .* could not be loaded"):
        registry.load_plugins(again=True)
    data = np.arange(24.0).reshape(2, 3, 4)
    (tmp_path / "x.tplug").write_text("2 3 4\n" + " ".join(map(str, data.ravel())))
    fs = open_seq(tmp_path / "x.tplug", scale=2.0)
    assert type(fs) is FrameSequence
    np.testing.assert_array_equal(np.asarray(fs), 2 * data)
    assert "testplug" in [e.name for e in registry.formats()]
    assert "scale" in [o.name for o in registry.all_options()]


# -- what a fresh process imports ----------------------------------------------------------

_IMPORTS_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy
    before = set(sys.modules)
    import imfun.fseq
    at_import = sorted(set(sys.modules) - before)
    opened = {}
    for path in sys.argv[1:]:
        before = set(sys.modules)
        fs = imfun.fseq.open_seq(path)
        fs.mean_frame(), fs[0], fs.mask_reduce(numpy.ones(fs.frame_shape[:2], bool))
        opened[path] = sorted(set(sys.modules) - before)
    print(json.dumps({"import": at_import, "open": opened}))
""")


def test_a_fresh_process_imports_only_what_its_format_needs(tmp_path):
    """``import imfun.fseq`` imports no reader, codec or heavy library (not even pathlib, ~5 ms),
    and opening and reducing a TIFF, a glob of PNG files or a folder of TIFF frames imports only
    those readers: not the Leica or Zarr readers their claims tests belong to, nor pathlib."""
    import subprocess

    import tifffile
    from PIL import Image

    frames = np.arange(3 * 8 * 10, dtype=np.uint16).reshape(3, 8, 10)
    tifffile.imwrite(tmp_path / "stack.tif", frames, photometric="minisblack")
    (tmp_path / "png").mkdir()
    (tmp_path / "tifs").mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f.astype(np.uint8)).save(tmp_path / "png" / f"f{i}.png")
        tifffile.imwrite(tmp_path / "tifs" / f"f{i}.tif", f)
    paths = [str(tmp_path / "stack.tif"), str(tmp_path / "png" / "*.png"), str(tmp_path / "tifs")]
    done = subprocess.run([sys.executable, "-c", _IMPORTS_SCRIPT, *paths], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    report = json.loads(done.stdout)
    heavy = ("pathlib", "scipy", "tifffile", "PIL", "tqdm", "dask", "threading", "dataclasses", "glob")
    from imfun.readers.catalog import BUILTIN

    readers = {ref.partition(":")[0] for spec in BUILTIN for ref in (spec["opener"], spec.get("claims"))
               if isinstance(ref, str)}
    assert not [m for m in report["import"] if m.split(".")[0] in heavy or m in readers]
    for path, modules in report["open"].items():
        unwanted = [m for m in modules if m.split(".")[0] in ("pathlib", "scipy", "zarr", "h5py")
                    or m in ("imfun.readers.leica", "imfun.readers.zarr", "imfun.readers.scanimage")]
        assert not unwanted, (path, unwanted)
    assert "imfun.readers.tiff" in report["open"][paths[0]]
    assert "imfun.readers.images" in report["open"][paths[1]]
    assert "imfun.readers.leica_files" in report["open"][paths[1]]  # its claims test ran


_CLI_SCRIPT = "import sys, imfun.cli; code = imfun.cli.main(sys.argv[1:]); " \
              "print('entry points looked up:', 'importlib.metadata' in sys.modules); sys.exit(code)"


def test_the_command_line_takes_a_plug_ins_options_and_looks_plug_ins_up_only_then(plugin_dist, tmp_path):
    """A fresh ``imfun`` builds the parser of its command from the built-in formats' options;
    an option it does not know (a plug-in's ``--scale``) or ``--help`` brings the plug-ins in."""
    import subprocess

    data = np.arange(24.0).reshape(2, 3, 4)
    (tmp_path / "x.tplug").write_text("2 3 4\n" + " ".join(map(str, data.ravel())))
    np.save(tmp_path / "plain.npy", data)
    env = {**__import__("os").environ, "PYTHONPATH": str(plugin_dist)}

    def imfun_cli(*argv):
        done = subprocess.run([sys.executable, "-c", _CLI_SCRIPT, *argv], capture_output=True,
                              text=True, timeout=120, env=env)
        return done.returncode, done.stdout, done.stderr

    code, out, _ = imfun_cli("-q", "project", str(tmp_path / "plain.npy"), "-o", str(tmp_path / "a.npy"))
    assert code == 0 and "entry points looked up: False" in out
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), data.mean(0))
    code, out, _ = imfun_cli("-q", "project", str(tmp_path / "x.tplug"), "--scale", "2", "-o",
                             str(tmp_path / "b.npy"))
    assert code == 0 and "entry points looked up: True" in out
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), 2 * data.mean(0))
    code, out, _ = imfun_cli("project", "--help")
    assert code == 0 and "--scale" in out and "testplug" in out
    code, _, err = imfun_cli("project", str(tmp_path / "plain.npy"), "-o", "c.npy", "--no-such-option")
    assert code == 2 and "unrecognized arguments: --no-such-option" in err
    # the broken plug-in is one warning line in the command line's words
    assert "imfun: warning: the imfun reader plug-in 'broken'" in err and "registry.py" not in err
