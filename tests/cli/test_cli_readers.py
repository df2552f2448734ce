"""Every file the library opens, the command line opens: reader options made from the readers'
declarations, and ``imfun info`` describing a file without any option."""

import json

import h5py
import numpy as np
import pytest
import tifffile

from imfun.cli import main
from imfun.readers import registry


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    tzc = rng.integers(0, 999, (4, 3, 2, 6, 7)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "h.tif", tzc, imagej=True, metadata={"axes": "TZCYX", "finterval": 0.5})
    yxt = rng.integers(0, 999, (6, 7, 9)).astype(np.uint16)
    with h5py.File(tmp_path / "two.h5", "w") as f:
        f["raw"] = yxt
        f["ref/img"] = yxt[..., :3] + 1
    return tmp_path, tzc, yxt


def test_every_reader_option_is_on_every_reading_command(capsys):
    for command in ("project", "convert", "traces", "dfof", "frames", "movie", "info"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        for option in registry.all_options():
            assert option.flag in text, (command, option.flag)


def test_info_describes_a_file_that_needs_a_choice(files, capsys):
    tmp, _, _ = files
    assert main(["info", str(tmp / "two.h5")]) == 0
    out = capsys.readouterr().out
    assert "--dataset /raw: tyx 6 x 7 x 9 uint16" in out and "--dataset /ref/img" in out
    assert "--dataset" in out.split("to open it:")[1]
    assert main(["info", str(tmp / "h.tif"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)[0]
    assert info["contents"][0]["axes"] == "TZCYX" and "--z 0..2" in info["needs"]


def test_reader_options_reach_the_reader(files, capsys):
    tmp, tzc, yxt = files
    out = tmp / "z1c1.npy"
    assert main(["convert", str(tmp / "h.tif"), str(out), "--z", "1", "--ch", "1"]) == 0
    np.testing.assert_array_equal(np.load(out), tzc[:, 1, 1])
    assert main(["convert", str(tmp / "h.tif"), str(tmp / "max.npy"), "--z", "max", "--ch", "0"]) == 0
    np.testing.assert_array_equal(np.load(tmp / "max.npy"), tzc[:, :, 0].max(axis=1))
    assert main(["convert", str(tmp / "two.h5"), str(tmp / "yxt.npy"), "--dataset", "/raw",
                 "--axes", "yxt"]) == 0
    np.testing.assert_array_equal(np.load(tmp / "yxt.npy"), np.moveaxis(yxt, -1, 0))
    capsys.readouterr()
    assert main(["info", str(tmp / "two.h5"), "--dataset", "raw", "--axes", "yxt", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["frames"] == 9


def test_an_option_the_format_does_not_take_is_an_error_in_cli_words(files, capsys):
    tmp, _, _ = files
    assert main(["info", str(tmp / "h.tif"), "--dataset", "x"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--dataset does not apply to tiff files" in captured.err and "--z" in captured.err
    assert main(["project", str(tmp / "h.tif"), "-o", str(tmp / "p.png")]) == 1
    assert "choose a plane with --z 0..2, or --z max" in capsys.readouterr().err
    assert main(["project", str(tmp / "h.tif"), "--z", "top", "-o", str(tmp / "p.png")]) == 2
    assert "'max' or 'mean'" in capsys.readouterr().err


def test_real_nd2_needs_no_option_to_be_described(shared_data, capsys):
    path = shared_data / "pims" / "cluster.nd2"
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "T=3 Z=10 C=2 Y=31 X=38" in out and "--z 0..9" in out
    assert main(["info", str(path), "--z", "max", "--ch", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["frames"] == 3
