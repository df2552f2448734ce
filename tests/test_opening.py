"""open_seq dispatch and the reference's module functions for collections of files."""

from pathlib import Path

import numpy as np
import pytest

from imfun.errors import ChannelError, SourceNotFoundError, UnknownArgumentError, UnsupportedFormatError
from imfun.fseq import fseq_from_glob, img_getter, iter_files, open_seq, sorted_file_names


def _write_npy_frames(folder: Path, n: int) -> np.ndarray:
    frames = np.random.default_rng(0).integers(0, 100, (n, 3, 4)).astype(np.int32)
    for i, f in enumerate(frames):
        np.save(folder / f"frame{i}.npy", f)
    return frames


def test_sorted_file_names_is_natural(tmp_path):
    _write_npy_frames(tmp_path, 12)
    names = [Path(p).name for p in sorted_file_names(tmp_path / "*.npy")]
    assert names == [f"frame{i}.npy" for i in range(12)]
    assert sorted_file_names(str(tmp_path / "nothing*.npy")) == []


def test_iter_files_and_fseq_from_glob(tmp_path):
    frames = _write_npy_frames(tmp_path, 11)
    got = list(iter_files(str(tmp_path / "*.npy"), np.load))
    np.testing.assert_array_equal(np.array(got), frames)
    got = list(fseq_from_glob(str(tmp_path / "*.npy")))
    np.testing.assert_array_equal(np.array(got), frames)
    with pytest.raises(SourceNotFoundError, match="no files match"):
        list(fseq_from_glob(str(tmp_path / "*.nothing")))


def test_fseq_from_glob_never_unpickles(tmp_path):
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        list(fseq_from_glob(str(tmp_path / "evil.npy")))


def test_img_getter():
    rgb = np.arange(2 * 3 * 3).reshape(2, 3, 3)
    np.testing.assert_array_equal(img_getter(rgb, 1), rgb[..., 1])
    np.testing.assert_array_equal(img_getter(rgb, "b"), rgb[..., 2])
    assert img_getter(rgb, None) is not None and img_getter(rgb, None).shape == (2, 3, 3)
    grey = np.zeros((2, 3))
    np.testing.assert_array_equal(img_getter(grey, 0), grey)
    for frame, ch in ((grey, 1), (rgb, 3), (rgb, "q")):
        with pytest.raises(ChannelError):
            img_getter(frame, ch)


def test_open_seq_errors(tmp_path):
    with pytest.raises(SourceNotFoundError, match="no such file"):
        open_seq(tmp_path / "missing.tif")
    with pytest.raises(SourceNotFoundError, match="no files match"):
        open_seq(str(tmp_path / "*.png"))
    (tmp_path / "notes.xyz").write_text("hello")
    with pytest.raises(UnsupportedFormatError, match="Supported"):
        open_seq(tmp_path / "notes.xyz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceNotFoundError, match="no frame files"):
        open_seq(empty)
    with pytest.raises(SourceNotFoundError):
        open_seq([])


def test_open_seq_glob_list_and_path(tmp_path):
    frames = _write_npy_frames(tmp_path, 5)
    for arg in (str(tmp_path / "*.npy"), tmp_path / "*.npy",
                [tmp_path / f"frame{i}.npy" for i in range(5)]):
        fs = open_seq(arg)
        np.testing.assert_array_equal(np.asarray(fs), frames)
        fs.close()
    with pytest.raises(UnknownArgumentError, match="nonsense"):
        open_seq(str(tmp_path / "*.npy"), nonsense=3)
