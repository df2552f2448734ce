"""The options readers take (``ch=``, ``z=``, ``series=`` ...), declared once.

Each format's registry entry lists the :class:`Option` objects it accepts;
``open_seq`` checks keywords against them, and the command line builds its
``--ch``, ``--z``, ``--series`` ... options from them (names, help texts and
how a command-line word becomes a value), so a new reader's options appear
everywhere without a second list.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import InvalidArgumentError


def int_or_name(text: str) -> int | str:
    """``'2'`` -> 2, ``'-1'`` -> -1, anything else stays a name (``'GCaMP'``, ``'g'``)."""
    try:
        return int(text)
    except ValueError:
        return text


def plane(text: str) -> int | str:
    """A z-plane: an int, or ``'max'`` / ``'mean'`` for a projection over the planes."""
    value = int_or_name(text)
    if isinstance(value, str) and value.lower() not in ("max", "mean"):
        raise InvalidArgumentError(f"a z-plane is an int, 'max' or 'mean', got {text!r}")
    return value.lower() if isinstance(value, str) else value


def series_index(series, source) -> int:
    """A ``series=`` that must be an index (TIFF, vendor files), checked."""
    from ..errors import DatasetError

    if isinstance(series, bool) or not isinstance(series, int):
        try:
            return int(series)
        except (TypeError, ValueError):
            raise DatasetError(f"series={series!r}: the series of {source} are numbered 0, 1, ...; "
                               "give an index") from None
    return series


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidArgumentError(f"expected a whole number, got {text!r}") from None


class Option:
    """A keyword a reader accepts: its name, what it means, and how to read it from text.

    (A plain class: a dataclass would cost the first open in a fresh process a millisecond.)
    """

    __slots__ = ("help", "metavar", "name", "parse")

    def __init__(self, name: str, help: str, parse: Callable[[str], object] = str, metavar: str = "VALUE"):
        self.name, self.help, self.parse, self.metavar = name, help, parse, metavar

    def __repr__(self) -> str:
        return f"Option({self.name!r})"

    @property
    def flag(self) -> str:
        """The command-line spelling: ``--ch``, ``--baseline-frames``."""
        return "--" + self.name.replace("_", "-")


CH = Option("ch", "colour channel: an index, a channel name, or r/g/b; default all (colour frames)",
            int_or_name, "N|NAME")
Z = Option("z", "z-plane of a file with time points and planes: an index, or max/mean for a projection",
           plane, "N|max|mean")
SERIES = Option("series", "which series of a file that holds several: image, scene, stage position (an "
                "index), HDF5 data set, Zarr array or MES record (an index or name)", int_or_name, "N|NAME")
DATASET = Option("dataset", "the HDF5 data set to read, e.g. /acquisition/data", str, "PATH")
ARRAY = Option("array", "the array (or OME-Zarr image) inside a Zarr store", str, "PATH")
LEVEL = Option("level", "resolution level of a multiscale (OME-Zarr) image; 0 is full resolution",
               whole_number, "N")
AXES = Option("axes", "stored axis order, one letter per axis (t z c y x), e.g. yxt or tzcyx", str, "LETTERS")
RECORD = Option("record", "measurement record of a Femtonics MES file: index or name (e.g. F3)",
                int_or_name, "N|NAME")
KIND = Option("kind", "MLF image kind: flux (default) or dc", str, "KIND")
XMLNAME = Option("xmlname", "the Leica XML description to use (found beside the images by default)",
                 str, "FILE")
ROI = Option("roi", "imaging field (ROI) of a multi-ROI ScanImage recording: index or name",
             int_or_name, "N|NAME")

__all__ = [
    "ARRAY",
    "AXES",
    "CH",
    "DATASET",
    "KIND",
    "LEVEL",
    "RECORD",
    "ROI",
    "SERIES",
    "XMLNAME",
    "Option",
    "Z",
    "int_or_name",
    "plane",
    "whole_number",
]
