"""The catalogue of bad inputs: each one fails with a class from ``imfun.errors`` whose
message names the problem.

One row per bad input: what is done (a function of a scratch folder), the error
class expected, and a regular expression the message must match.  Every file is
written here with the real libraries (tifffile, h5py, scipy.io, imageio ...).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
import scipy.io
import tifffile
from reliability_kit import make_leica, make_mes, make_mlf, make_tiff, mlf_bytes

from imfun import errors as E
from imfun.fseq import FSeq_arr, open_seq
from imfun.readers.leica import parse_leica_xml


# -- helpers that write the bad inputs ----------------------------------------------
def arr_seq(n=5, rows=4, cols=6):
    return FSeq_arr(np.arange(n * rows * cols, dtype=float).reshape(n, rows, cols))


def pngs(folder: Path, frames) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        iio.imwrite(folder / f"f{k:02d}.png", frame)
    return str(folder / "*.png")


def grey(rows=8, cols=10, dtype=np.uint8):
    return np.zeros((rows, cols), dtype)


def h5(tmp: Path, **datasets) -> Path:
    path = tmp / "rec.h5"
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
    return path


def opened(source, **kwargs):
    """Open and close (the errors in this catalogue come from opening)."""
    open_seq(source, **kwargs).close()


def write_and_open(path: Path, data: bytes, **kwargs) -> None:
    path.write_bytes(data)
    opened(path, **kwargs)


def folder_without_frames(tmp: Path) -> None:
    (tmp / "notes.md").write_text("no frames here")
    opened(tmp)


def truncated_tiff(tmp: Path) -> None:
    path, _ = make_tiff(tmp)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:200])  # the first IFD, but no pixel data
    opened(path)


def unreadable(tmp: Path, monkeypatch) -> None:
    path, _ = make_tiff(tmp)
    os.chmod(path, 0)
    if os.geteuid() == 0:  # root reads anything: deny this one file as the kernel would
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.fspath(p) == path
                            else real(p, mode, **kw))
    opened(path)


def dangling_symlink(tmp: Path) -> None:
    path, _ = make_tiff(tmp)
    link = tmp / "link.tif"
    link.symlink_to(path)
    os.remove(path)
    opened(link)


def mlf_header(tmp: Path, **fields) -> None:
    path = tmp / "bad.mlf"
    path.write_bytes(mlf_bytes(np.zeros((3, 4, 5), np.uint16), **fields))
    opened(path)


def mes_file(tmp: Path, variables: dict) -> None:
    path = tmp / "bad.mes"
    scipy.io.savemat(path, variables, appendmat=False, format="5")
    opened(path)


def leica_export_with_xml(tmp: Path, xml: bytes) -> None:
    pattern, _ = make_leica(tmp, xml=xml)
    opened(pattern)


def own_source(tmp: Path) -> None:
    path, _ = make_tiff(tmp)
    with open_seq(path) as fs:
        fs.to_tiff(path, overwrite=True)


def target_exists(tmp: Path) -> None:
    (tmp / "out.npy").write_bytes(b"keep me")
    arr_seq().to_npy(tmp / "out.npy")


def glob_mixed(tmp: Path, second) -> None:
    """A glob opens at once (no pass over every header); the odd file is named when read."""
    with open_seq(pngs(tmp / "mixed", [grey(), second])) as fs:
        np.asarray(fs)


# -- the catalogue ------------------------------------------------------------------
# (id, action(tmp, monkeypatch), error class, what the message must say)
CATALOGUE = [
    # sources
    ("missing-path", lambda t, m: opened(t / "nope.tif"), E.SourceNotFoundError, "no such file"),
    ("missing-file-in-list", lambda t, m: opened([make_tiff(t)[0], t / "gone.tif"]),
     E.SourceNotFoundError, "file not found: .*gone.tif"),
    ("empty-list", lambda t, m: opened([]), E.SourceNotFoundError, "list of files is empty"),
    ("empty-glob", lambda t, m: opened(str(t / "*.tif")), E.SourceNotFoundError,
     "no files match the pattern"),
    ("folder-without-frames", lambda t, m: folder_without_frames(t),
     E.SourceNotFoundError, "holds no frame files"),
    ("dangling-symlink", lambda t, m: dangling_symlink(t), E.SourceNotFoundError, "no such file"),
    ("unknown-extension", lambda t, m: write_and_open(t / "a.foo", b"abc"),
     E.UnsupportedFormatError, r"no reader .*'\.foo'"),
    ("unreadable-permissions", lambda t, m: unreadable(t, m), E.SourceAccessError, "permission denied"),
    # TIFF
    ("empty-tiff", lambda t, m: write_and_open(t / "e.tif", b""),
     E.CorruptFileError, "not a readable TIFF"),
    ("truncated-tiff", lambda t, m: truncated_tiff(t), E.CorruptFileError, "truncated"),
    ("tiff-without-a-directory", lambda t, m: write_and_open(t / "x.tif", b"II*\0" + b"\xff" * 60),
     E.CorruptFileError, "no readable image"),
    ("tiff-missing-series", lambda t, m: opened(make_tiff(t)[0], series=3), E.DatasetError,
     "series=3 does not exist"),
    ("tiff-z-without-z-axis", lambda t, m: opened(make_tiff(t)[0], z=2), E.InvalidArgumentError, "z=2"),
    # collections of image files
    ("glob-mixed-shapes", lambda t, m: glob_mixed(t, grey(9, 10)), E.ShapeMismatchError,
     "differs from the first file.*same shape"),
    ("glob-mixed-dtypes", lambda t, m: glob_mixed(t, grey(dtype=np.uint16)), E.ShapeMismatchError,
     "uint16 frame instead of .* uint8"),
    ("npy-files-mixed-dtypes", lambda t, m: [np.save(t / "a.npy", grey()),
                                              np.save(t / "b.npy", grey(dtype=np.float32)),
                                              opened(str(t / "*.npy"))],
     E.ShapeMismatchError, "same shape and dtype"),
    # channels
    ("wrong-ch-of-rgb", lambda t, m: opened(pngs(t, [np.zeros((8, 10, 3), np.uint8)] * 2), ch=5),
     E.ChannelError, "ch=5 .* 3 channels"),
    ("unknown-channel-name", lambda t, m: opened(pngs(t, [np.zeros((8, 10, 3), np.uint8)] * 2),
                                                 ch="purple"),
     E.ChannelError, "unknown channel 'purple'"),
    ("colour-channel-of-grey-images", lambda t, m: opened(pngs(t, [grey()] * 2), ch="g"),
     E.ChannelError, "grey"),
    ("colour-channel-of-grey-tiff", lambda t, m: opened(make_tiff(t)[0], ch=2), E.ChannelError,
     "one channel"),
    # HDF5
    ("hdf5-dataset-missing", lambda t, m: opened(h5(t, a=np.zeros((3, 4, 5))), dataset="frames"),
     E.DatasetError, "'frames' does not exist.*holds: /a"),
    ("hdf5-several-datasets-none-named", lambda t, m: opened(h5(t, a=np.zeros((3, 4, 5)),
                                                                b=np.zeros((3, 4, 5)))),
     E.DatasetError, "several data sets .*choose one with dataset="),
    ("hdf5-no-frame-dataset", lambda t, m: opened(h5(t, v=np.zeros(7))), E.DatasetError,
     "no numeric data set of 3 or more dimensions"),
    ("hdf5-zero-length-dataset", lambda t, m: opened(h5(t, a=np.zeros((0, 4, 5))), dataset="a"),
     E.EmptySequenceError, "holds no frames"),
    ("hdf5-not-hdf5", lambda t, m: write_and_open(t / "x.h5", b"\0" * 100),
     E.CorruptFileError, "cannot be read as HDF5"),
    ("hdf5-wrong-axes", lambda t, m: opened(h5(t, a=np.zeros((3, 4, 5))), axes="tyxc"),
     E.InvalidArgumentError, "names 4 axes but .* has 3"),
    # MLF
    ("mlf-foreign-magic", lambda t, m: mlf_header(t, text=b"Some other format"), E.CorruptFileError,
     "not a Moor FLPI"),
    ("mlf-sizes-beyond-file", lambda t, m: mlf_header(t, nframes=1000), E.CorruptFileError,
     "1000 frames .* need .* bytes, the file has"),
    ("mlf-zero-sizes", lambda t, m: mlf_header(t, rows=0), E.CorruptFileError, "must be positive"),
    ("mlf-short-header", lambda t, m: write_and_open(t / "s.mlf", mlf_bytes(np.zeros((1, 2, 2)))[:4000]),
     E.CorruptFileError, "shorter than the .*-byte header"),
    # MES
    ("mes-without-supported-records", lambda t, m: mes_file(t, {"x": np.zeros(3)}),
     E.UnsupportedFormatError, "holds no record that can be read as frames"),
    ("mes-not-matlab", lambda t, m: write_and_open(t / "x.mes", b"hello" * 40),
     E.CorruptFileError, "does not start with a MATLAB header"),
    ("mes-record-missing", lambda t, m: opened(make_mes(t)[0], record=7), E.DatasetError,
     "record 7 .*Df0007.* is not in"),
    ("mes-wrong-channel", lambda t, m: opened(make_mes(t)[0], ch="pmtUR"), E.ChannelError,
     "no channel of pmtUG matches 'pmtUR'"),
    # XML
    ("malformed-xml", lambda t, m: parse_leica_xml(b"<Data><Image>", name="x.xml"), E.CorruptFileError,
     "x.xml is not well-formed XML"),
    ("xml-not-leica", lambda t, m: parse_leica_xml(b"<svg><g/></svg>", name="x.xml"), E.CorruptFileError,
     "no Leica image description"),
    # arguments of the sequence
    ("mask-of-wrong-shape", lambda t, m: arr_seq().mask_reduce(np.ones((3, 3), bool)),
     E.ShapeMismatchError, r"mask has shape \(3, 3\) but frames are \(4, 6\)"),
    ("mask-selects-nothing", lambda t, m: arr_seq().mask_reduce(np.zeros((4, 6), bool)),
     E.InvalidArgumentError, "selects no pixels"),
    ("fslice-selects-nothing", lambda t, m: arr_seq().mean_frame(fslice=(3, 3)),
     E.EmptySequenceError, r"fslice=\(3, 3\) selects no frames"),
    ("crop-selects-nothing", lambda t, m: arr_seq().mean_frame(crop=(slice(2, 2), slice(None))),
     E.EmptySequenceError, "selects no rows"),
    ("index-out-of-range", lambda t, m: arr_seq()[10], E.FrameIndexError,
     "frame index 10 is out of range for 5 frames"),
    ("index-list-out-of-range", lambda t, m: arr_seq()[[0, -9]], E.FrameIndexError,
     "frame index -9 is out of range"),
    ("index-by-tuple", lambda t, m: arr_seq()[0, 1], E.FrameIndexError, "index frames with one int"),
    ("unknown-keyword-open", lambda t, m: opened(make_tiff(t)[0], colour=1), E.UnknownArgumentError,
     "unknown keyword argument.*'colour'"),
    ("unknown-keyword-method", lambda t, m: arr_seq().pix_iter(speed=2), E.UnknownArgumentError,
     "'speed'"),
    ("array-of-wrong-ndim", lambda t, m: FSeq_arr(np.zeros((4, 5))), E.ShapeMismatchError,
     "3-D .* or 4-D"),
    ("percentile-out-of-range", lambda t, m: arr_seq().data_percentile(120), E.InvalidArgumentError,
     r"within \[0, 100\]"),
    # writers
    ("negative-fps", lambda t, m: arr_seq().export_movie_anim(t / "m.mp4", fps=-2), E.InvalidArgumentError,
     "fps must be a positive"),
    ("nan-fps", lambda t, m: arr_seq().export_movie_anim(t / "m.mp4", fps=float("nan")),
     E.InvalidArgumentError, "fps must be a positive finite number, got nan"),
    ("writer-onto-its-own-source", lambda t, m: own_source(t), E.WriteError, "is read from"),
    ("writer-target-exists", lambda t, m: target_exists(t), E.TargetExistsError,
     "exists; pass overwrite=True"),
    ("movie-unknown-container", lambda t, m: arr_seq().export_movie_anim(t / "m.xyz", fps=5),
     E.InvalidArgumentError, "cannot write a movie as '.xyz'"),
    ("imagej-dtype", lambda t, m: arr_seq().to_tiff(t / "o.tif"), E.InvalidArgumentError,
     "ImageJ hyperstack holds uint8"),
]


@pytest.mark.parametrize(("action", "error", "message"),
                         [pytest.param(a, e, msg, id=name) for name, a, e, msg in CATALOGUE])
def test_bad_input(action, error, message, tmp_path, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings before the error are not the point here
        with pytest.raises(error, match=message) as info:
            action(tmp_path, monkeypatch)
    assert isinstance(info.value, E.ImfunError)


def test_catalogue_is_long_and_distinct():
    names = [row[0] for row in CATALOGUE]
    assert len(names) >= 30
    assert len(set(names)) == len(names)


def test_header_claiming_more_images_opens_what_exists(tmp_path):
    """An ImageJ header saying images=3500 in a one-page file: the page, and a warning."""
    page = np.arange(80, dtype=np.uint16).reshape(8, 10)
    path = tmp_path / "claims.tif"
    tifffile.imwrite(path, page, metadata=None,
                     description="ImageJ=1.11a\nimages=3500\nslices=3500\nunit=micron\n")
    with pytest.warns(E.TruncatedFileWarning, match="announces 3500 images but only 1 are in the file"):
        fs = open_seq(path)
    with fs:
        assert len(fs) == 1
        np.testing.assert_array_equal(fs[0], page)


def test_damaged_leica_xml_warns_and_the_frames_open(tmp_path):
    pattern, frames = make_leica(tmp_path, xml=b"<Data><Image><ImageDescription>")
    with pytest.warns(E.MetadataWarning, match="not well-formed XML"):
        fs = open_seq(pattern)
    with fs:
        np.testing.assert_array_equal(np.asarray(fs), frames)


def test_truncated_mlf_names_the_room_left(tmp_path):
    path, _ = make_mlf(tmp_path, n=6, rows=4, cols=5)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:-50])
    with pytest.raises(E.CorruptFileError, match=r"room for 5 full time points"):
        opened(path)
