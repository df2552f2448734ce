"""Reader options are declared once, in the registry: keyword checks, the CLI and help read them."""

import inspect

import numpy as np
import pytest
import tifffile

from imfun.errors import UnknownArgumentError
from imfun.fseq import open_seq
from imfun.readers import registry


@pytest.mark.parametrize("entry", registry.formats(), ids=lambda e: e.name)
def test_declared_options_are_the_classes_keywords(entry):
    params = inspect.signature(entry.seq_class.__init__).parameters
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names = [n for n, p in params.items() if n != "self" and p.kind in kinds]
    assert {o.name for o in entry.options} == set(names[1:]) - {"fns", "meta"}
    for option in entry.options:
        assert option.help and option.flag == "--" + option.name.replace("_", "-")


def test_all_options_once_each():
    names = [o.name for o in registry.all_options()]
    assert len(names) == len(set(names)) and {"ch", "z", "series", "dataset", "axes", "record",
                                                "level", "array", "roi"} <= set(names)


def test_unknown_keyword_names_the_format_and_what_it_takes(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((3, 4, 4), np.uint8))
    with pytest.raises(UnknownArgumentError, match=r"tiff files got unknown.*.dataset.*series= .*z= "):
        open_seq(tmp_path / "a.tif", dataset="x")


def test_option_parsers():
    from imfun.errors import InvalidArgumentError
    from imfun.readers.options import CH, SERIES, Z

    assert CH.parse("2") == 2 and CH.parse("GCaMP") == "GCaMP" and CH.parse("-1") == -1
    assert Z.parse("3") == 3 and Z.parse("MAX") == "max"
    with pytest.raises(InvalidArgumentError):
        Z.parse("top")
    assert SERIES.parse("1") == 1 and SERIES.parse("/acq/data") == "/acq/data"


def test_contents_of_tiff_and_hdf5(tmp_path):
    import h5py

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((7, 5, 6), np.uint8))
    tiff = next(e for e in registry.formats() if e.name == "tiff")
    assert tiff.list_contents(tmp_path / "a.tif") == [
        {"option": "series=0", "axes": "QYX", "shape": [7, 5, 6], "dtype": "uint8", "kind": "shaped"}]
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f["raw"] = np.zeros((5, 6, 7), "u2")
        f["meta/t"] = np.arange(5.0)
    hdf5 = next(e for e in registry.formats() if e.name == "hdf5")
    items = hdf5.list_contents(tmp_path / "b.h5")
    assert {"option": "dataset=/raw", "shape": [5, 6, 7], "dtype": "uint16", "axes": "tyx"} in items
    assert any(i["option"] == "dataset=/meta/t" for i in items)


def test_series_is_the_one_name_for_a_container(tmp_path):
    import h5py

    from imfun.cli import main

    with h5py.File(tmp_path / "b.h5", "w") as f:
        f["a"] = np.zeros((5, 6, 7), "u2")
        f["b"] = np.ones((3, 6, 7), "u2")
    with open_seq(tmp_path / "b.h5", series="b") as fs:
        assert len(fs) == 3 and fs.reader.dataset == "/b"
    with pytest.raises(UnknownArgumentError, match="series= or dataset="):
        open_seq(tmp_path / "b.h5", series="b", dataset="a")
    assert main(["convert", str(tmp_path / "b.h5"), str(tmp_path / "b.npy"), "--series", "/b"]) == 0
    assert np.load(tmp_path / "b.npy").shape == (3, 6, 7)


def test_a_named_series_of_a_tiff_is_a_clear_error(tmp_path):
    from imfun.errors import DatasetError

    tifffile.imwrite(tmp_path / "a.tif", np.zeros((7, 5, 6), np.uint8))
    with pytest.raises(DatasetError, match="numbered 0, 1"):
        open_seq(tmp_path / "a.tif", series="first")
