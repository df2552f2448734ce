"""Analysis on frame sequences: ΔF/F, ROIs from files, lazy geometry transforms."""

from .baseline import dfof_traces

__all__ = ["dfof_traces"]
