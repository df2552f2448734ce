"""Per-pixel work on time-contiguous tiles of pixels."""
