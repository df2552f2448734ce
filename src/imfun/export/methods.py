"""Export methods of ``FrameSequence`` (images, movies, writers), mixed into the class."""


class ExportMixin:
    """Methods that write a sequence out; they read through ``iter_blocks``."""
