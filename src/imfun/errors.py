"""The exception and warning hierarchy of imfun.

Every error the library raises on purpose derives from :class:`ImfunError`
and also from the builtin exception a caller would expect (``ValueError``,
``IndexError``, ``FileNotFoundError`` ...), so both ``except ImfunError`` and
``except ValueError`` work.
"""

from __future__ import annotations


class ImfunError(Exception):
    """Base class of all errors raised by imfun."""


class SourceNotFoundError(ImfunError, FileNotFoundError):
    """A path, glob or directory named no existing frames."""


class SourceAccessError(ImfunError, PermissionError):
    """A source exists but cannot be read (permissions)."""


class UnsupportedFormatError(ImfunError, ValueError):
    """No reader knows the format of this source."""


class CorruptFileError(ImfunError, ValueError):
    """A file is truncated, malformed, or its header contradicts its content."""


class MissingDependencyError(ImfunError, ImportError):
    """An optional package needed for this format or feature is not installed."""


class EmptySequenceError(ImfunError, ValueError):
    """A sequence or a frame selection holds no frames."""


class FrameIndexError(ImfunError, IndexError):
    """A frame index or frame range is outside the sequence."""


class ShapeMismatchError(ImfunError, ValueError):
    """Frames, masks or arrays whose shapes (or dtypes) do not agree."""


class ChannelError(ImfunError, ValueError):
    """A colour channel that the data does not have."""


class DatasetError(ImfunError, KeyError):
    """A named data set, record or series is missing or ambiguous."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class UnknownArgumentError(ImfunError, TypeError):
    """A keyword argument that the function does not accept."""


class InvalidArgumentError(ImfunError, ValueError):
    """An argument with a value the function cannot use."""


class TargetExistsError(ImfunError, FileExistsError):
    """A writer's target exists and ``overwrite`` was not given."""


class WriteError(ImfunError, OSError):
    """A writer could not write its target (e.g. it is the sequence's source)."""


class ImfunWarning(UserWarning):
    """Base class of imfun's warnings."""


class TruncatedFileWarning(ImfunWarning):
    """A file holds fewer frames than its header claims; the existing ones are used."""


class MetadataWarning(ImfunWarning):
    """Metadata was missing, malformed or unrelated and was ignored."""
