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


def test_open_seq_wraps_chunked_arrays(tmp_path):
    """h5py, zarr and dask arrays open through FSeq_arr, read in their time chunks."""
    import dask.array as da
    import h5py
    import zarr

    a = np.arange(6 * 5 * 4, dtype=np.uint16).reshape(6, 5, 4)
    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=a.shape, chunks=(2, 5, 4), dtype=a.dtype)
    z[:] = a
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("d", data=a, chunks=(3, 5, 4))
        for arr, chunk in ((da.from_array(a, chunks=(4, 5, 4)), 4), (z, 2), (f["d"], 3)):
            fs = open_seq(arr)
            assert fs.reader.natural_block == chunk
            np.testing.assert_array_equal(np.asarray(fs), a)
            np.testing.assert_array_equal(np.asarray(fs[[4, 1, 1]]), a[[4, 1, 1]])
            np.testing.assert_allclose(fs.mean_frame(), a.mean(0))
            np.testing.assert_allclose(fs.mask_reduce((slice(1, 3), slice(0, 2))),
                                       a[:, 1:3, 0:2].mean((1, 2)))
            np.testing.assert_array_equal(fs.as3darray(crop=(slice(None, None, -1),), dtype=None), a[:, ::-1])
