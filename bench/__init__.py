"""Benchmarks of imfun against bare numpy (and PIMS, dask-image): ``make bench``."""
