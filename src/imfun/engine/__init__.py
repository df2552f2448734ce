"""The block engine: every computation over frames runs here, block by block."""
