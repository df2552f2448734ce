"""atomic_target: rename at the end, clean up on failure, refuse sources and existing targets."""

from __future__ import annotations

import pytest

from imfun.errors import TargetExistsError, WriteError
from imfun.export.atomic import atomic_many, atomic_target


def test_commit_and_partial_name(tmp_path):
    with atomic_target(tmp_path / "a.bin") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".a.bin.") and tmp.name.endswith(".partial")
        tmp.write_bytes(b"x")
        assert not (tmp_path / "a.bin").exists()
    assert (tmp_path / "a.bin").read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_failure_removes_partial_file_and_folder(tmp_path, exc):
    with pytest.raises(exc), atomic_target(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"x")
        raise exc()
    with pytest.raises(exc), atomic_target(tmp_path / "d.zarr", directory=True) as tmp:
        (tmp / "0").mkdir(parents=True)
        (tmp / "0" / "c").write_bytes(b"x")
        raise exc()
    assert list(tmp_path.iterdir()) == []


def test_overwrite_and_folder_replacement(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"old")
    with pytest.raises(TargetExistsError), atomic_target(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"new")
    assert (tmp_path / "a.bin").read_bytes() == b"old"
    with atomic_target(tmp_path / "a.bin", overwrite=True) as tmp:
        tmp.write_bytes(b"new")
    assert (tmp_path / "a.bin").read_bytes() == b"new"
    store = tmp_path / "s.zarr"
    (store / "old").mkdir(parents=True)
    with atomic_target(store, overwrite=True, directory=True) as tmp:
        (tmp / "new").mkdir(parents=True)
    assert [p.name for p in store.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "s.zarr"]
    with pytest.raises(WriteError, match="folder"), atomic_target(store, overwrite=True) as tmp:
        pass
    with pytest.raises(WriteError, match="file"), atomic_target(tmp_path / "a.bin", overwrite=True,
                                                                directory=True):
        pass


def test_refuses_sources(tmp_path):
    src = tmp_path / "src.tif"
    src.write_bytes(b"data")
    with pytest.raises(WriteError, match="read from"), atomic_target(
            tmp_path / "sub" / ".." / "src.tif", overwrite=True, sources=[src]):
        pass
    link = tmp_path / "link.tif"
    link.symlink_to(src)
    with pytest.raises(WriteError), atomic_target(link, overwrite=True, sources=[src]):
        pass
    assert src.read_bytes() == b"data"


def test_many_all_or_nothing(tmp_path):
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    with pytest.raises(ValueError), atomic_many(paths) as tmps:
        tmps[0].write_bytes(b"0")
        raise ValueError
    assert list(tmp_path.iterdir()) == []
    with atomic_many(paths) as tmps:
        for t in tmps:
            t.write_bytes(b"1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.png", "1.png", "2.png"]
