"""Scale-out methods of ``FrameSequence`` (dask arrays, xarray), mixed into the class."""


class DaskMixin:
    """Methods that hand a sequence to dask or xarray."""
