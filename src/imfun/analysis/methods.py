"""Analysis methods of ``FrameSequence`` (ΔF/F, z-score, binning ...), mixed into the class."""


class AnalysisMixin:
    """Methods that derive new, lazy sequences from a sequence."""
