"""Streaming reductions over blocks of frames ``(n, rows, cols[, c])``."""
