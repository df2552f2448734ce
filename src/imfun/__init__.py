"""imfun: time-lapse microscopy frame sequences."""
__version__ = "0.1.0"
