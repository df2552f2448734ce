"""Analysis on frame sequences: ΔF/F, ROIs from files, lazy geometry transforms."""
