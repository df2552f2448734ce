"""One owner for open files: a bounded number of handles in the process, none closed under a read."""

import threading

import numpy as np
import psutil
import pytest
import tifffile

from imfun.fseq import open_seq
from imfun.readers import files
from imfun.readers.files import FileManager


@pytest.fixture
def few_open(monkeypatch):
    monkeypatch.setattr(files, "MAX_OPEN", 4)


def test_at_most_max_open_handles_across_managers(tmp_path, few_open):
    paths = []
    for i in range(10):
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(bytes([i]) * 8)
    managers = [FileManager(open, p, "rb") for p in paths]
    for i, m in enumerate(managers):
        with m.acquire() as fh:
            assert fh.read(1) == bytes([i])
    assert files.open_count() <= 4 and sum(m.is_open for m in managers) <= 4
    with managers[0].acquire() as fh:  # evicted earlier: reopened
        assert fh.read(1) == b"\0"
    for m in managers:
        m.close()
    assert not any(m.is_open for m in managers)


def test_a_handle_in_use_is_not_evicted(tmp_path, few_open):
    (tmp_path / "a.bin").write_bytes(b"abc")
    busy = FileManager(open, tmp_path / "a.bin", "rb")
    with busy.acquire() as fh:
        others = [FileManager(open, tmp_path / "a.bin", "rb") for _ in range(8)]
        for m in others:
            with m.acquire():
                pass
        assert not fh.closed and fh.read() == b"abc"
    for m in [busy, *others]:
        m.close()


def test_compressed_split_tiffs_keep_few_descriptors(tmp_path, few_open):
    """A 40-file acquisition of compressed TIFFs (read through tifffile handles): all frames right,
    never more than MAX_OPEN of its files open, none after close."""
    data = np.random.default_rng(0).integers(0, 999, (40, 5, 8, 9)).astype(np.uint16)
    for i, part in enumerate(data):
        tifffile.imwrite(tmp_path / f"p{i:03d}.tif", part, compression="zlib")
    proc = psutil.Process()

    def ours():
        return [f for f in proc.open_files() if f.path.startswith(str(tmp_path))]

    with open_seq(str(tmp_path / "p*.tif")) as fs:
        assert fs.reader.parts[0].cheap_crop is False
        np.testing.assert_array_equal(np.asarray(fs), data.reshape(200, 8, 9))
        assert len(ours()) <= 4
        threads = [threading.Thread(target=lambda: np.asarray(fs[::-1])) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert ours() == []


@pytest.mark.parametrize("kind", ["tiff", "tiff-zlib", "hdf5"])
def test_unpickling_does_not_parse_the_headers_again(tmp_path, kind):
    """A reader travels with its parsed layout: unpickling opens nothing (here, the file is even
    moved away meanwhile), and reading after it gives the frames."""
    import pickle

    import h5py

    data = np.random.default_rng(1).integers(0, 999, (6, 8, 9)).astype(np.uint16)
    path = tmp_path / ("a.h5" if kind == "hdf5" else "a.tif")
    if kind == "hdf5":
        with h5py.File(path, "w") as f:
            f["d"] = data
    else:
        tifffile.imwrite(path, data, compression="zlib" if kind == "tiff-zlib" else None)
    with open_seq(path) as fs:
        blob = pickle.dumps(fs)
    path.rename(tmp_path / "away")
    fs2 = pickle.loads(blob)  # no file needed: nothing is parsed
    assert len(fs2) == 6 and fs2.frame_shape == (8, 9)
    (tmp_path / "away").rename(path)
    np.testing.assert_array_equal(np.asarray(fs2), data)
    fs2.close()
