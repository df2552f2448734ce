"""Messages of the command line in its own words, warnings on one line, -q anywhere,
progress bars — in process, and one real `python -m imfun` run per drawing command."""

import subprocess
import sys
import time
import warnings

import h5py
import numpy as np
import pytest
import tifffile

from imfun import config
from imfun.cli import main, warnings_and_bars
from imfun.cli.common import cli_words

DT = 0.1


@pytest.fixture
def movie(tmp_path):
    x = np.random.default_rng(0).poisson(200, (24, 16, 20)).astype(np.uint16)
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, x, imagej=True, resolution=(2, 2),
                     metadata={"finterval": DT, "unit": "um", "axes": "TYX"})
    return path


@pytest.fixture
def warning_file(tmp_path):
    """An HDF5 file whose axes attribute is ignored with a warning."""
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.zeros((4, 5, 6))).attrs["imfun_scales"] = [1.0, 2.0]
    return path


@pytest.mark.parametrize(("library", "cli"), [
    ("out.tif exists; pass overwrite=True to replace it", "out.tif exists; pass --overwrite to replace it"),
    ("choose a plane with z=0 or z='max'", "choose a plane with --z 0 or --z max"),
    ("give the window as baseline_seconds= (or baseline_frames=)",
     "give the window as --baseline-seconds (or --baseline-frames)"),
    ("no time unit: set fs.meta['axes'][0] = (dt, 's') or give baseline_frames=",
     "no time unit: give --dt SECONDS or give --baseline-frames"),
    ("holds uint8; pass dtype='float32' to convert, ome=True for an OME-TIFF, or imagej=False",
     "holds uint8; pass --dtype float32 to convert, or write an OME-TIFF (.ome.tif)"),
    ("series=3 does not exist; ch=1 of 2", "--series 3 does not exist; --ch 1 of 2"),
    ("writer='x' is unknown, a=b", "writer='x' is unknown, a=b"),  # not options of the CLI: unchanged
])
def test_cli_words(library, cli):
    assert cli_words(library) == cli


def test_errors_name_options(movie, tmp_path, capsys):
    out = tmp_path / "p.npy"
    assert main(["project", str(movie), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["project", str(movie), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--overwrite" in err and "overwrite=True" not in err and err.count("\n") == 1
    assert main(["dfof", str(movie), "-o", str(tmp_path / "d.tif")]) == 1
    err = capsys.readouterr().err
    assert "--baseline-seconds" in err and "_seconds" not in err
    assert main(["movie", str(movie), "-o", str(tmp_path / "m.mp4"), "--speed", "fast"]) == 2
    assert "--speed fast: write a factor such as 2x" in capsys.readouterr().err
    assert main(["frames", str(movie), "-o", str(tmp_path / "f"), "--percentiles", "60", "40"]) == 1
    assert "LOW < HIGH" in capsys.readouterr().err


def test_empty_selection_says_which_frames_exist(movie, tmp_path, capsys):
    assert main(["project", str(movie), "-o", str(tmp_path / "p.npy"), "--frames", "100:200"]) == 1
    err = capsys.readouterr().err
    assert "--frames 100:200 selects no frames: the input has 24 frames (0 to 23)" in err


def test_info_failure_prints_nothing_to_stdout(tmp_path, capsys):
    for extra in ([], ["--json"]):
        assert main(["info", str(tmp_path / "missing.tif"), *extra]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("imfun: error:")


def test_warning_is_one_line_and_q_silences_it_anywhere(warning_file, capsys):
    assert main(["info", str(warning_file)]) == 0
    out, err = capsys.readouterr()
    assert err == ("imfun: warning: ignored imfun_scales/imfun_units of data set '/data': "
                   "they need 3 entries\n")
    assert "frames:" in out
    for argv in (["-q", "info", str(warning_file)], ["info", str(warning_file), "-q"]):
        assert main(argv) == 0
        assert capsys.readouterr().err == ""


def test_warnings_in_cli_words_and_bars_off_with_q(capsys):
    with warnings_and_bars(False):
        warnings.warn("two\nlines: pass z=0", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "imfun: warning: two lines: pass --z 0\n"
    before = config.progress
    with warnings_and_bars(True):
        assert config.progress is False
        warnings.warn("hidden", UserWarning, stacklevel=1)
    assert config.progress == before and capsys.readouterr().err == ""


def test_q_after_the_command_silences_the_report(movie, tmp_path, capsys):
    assert main(["project", str(movie), "-o", str(tmp_path / "a.npy")]) == 0
    assert "projection" in capsys.readouterr().out
    assert main(["project", str(movie), "-o", str(tmp_path / "b.npy"), "-q"]) == 0
    assert main(["-q", "project", str(movie), "-o", str(tmp_path / "c.npy")]) == 0
    assert capsys.readouterr().out == ""


def test_time_project_shows_progress_in_frames(capsys, monkeypatch):
    from imfun.fseq import FSeq_arr

    monkeypatch.setattr(config, "progress", True)
    calls = []

    def slow_mean(v, axis):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1.2)  # the bar shows once work has lasted a second
        return np.mean(v, axis=axis)

    data = np.random.default_rng(0).random((20, 64, 64))
    got = FSeq_arr(data).time_project(fn=slow_mean, budget=64 * 1024)
    np.testing.assert_allclose(got, data.mean(0))
    err = capsys.readouterr().err
    assert len(calls) > 1 and "time_project" in err and "/20 " in err and "frame/s" in err


def imfun(*args):
    return subprocess.run([sys.executable, "-m", "imfun", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_subprocess_each_drawing_command(movie, warning_file, tmp_path):
    lab = np.zeros((16, 20), np.uint8)
    lab[2:6, 2:6] = 1
    tifffile.imwrite(tmp_path / "rois.tif", lab)
    runs = {
        "frames": imfun("frames", movie, "-o", tmp_path / "f", "--frames", "5::10", "-q"),
        "project": imfun("-q", "project", movie, "-o", tmp_path / "p.png"),
        "movie": imfun("movie", movie, "-o", tmp_path / "m.gif", "--speed", "2x"),
        "traces": imfun("traces", movie, "--rois", tmp_path / "rois.tif", "-o", tmp_path / "t.csv",
                        "--frames", "10:", "--plot", tmp_path / "t.png", "-q"),
    }
    for name, r in runs.items():
        assert r.returncode == 0, (name, r.stderr)
        assert "Traceback" not in r.stderr and "Warning" not in r.stderr, name
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["frame-005.png", "frame-015.png"]
    assert runs["movie"].stdout.startswith("24 frames at 20 fps (2× speed)")
    assert (tmp_path / "t.csv").read_text().splitlines()[1].startswith("10,1,")
    r = imfun("info", tmp_path / "missing.tif", warning_file)
    error, warning = r.stderr.splitlines()
    assert r.returncode == 1 and error.startswith("imfun: error:") and "no such file" in error
    assert warning.startswith("imfun: warning: ignored")
    assert "missing.tif" not in r.stdout and "odd.h5" in r.stdout
