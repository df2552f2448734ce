"""Moved to :mod:`imfun.selection` (frame and crop selections are shared by every layer)."""

from ..selection import *  # noqa: F403
from ..selection import __all__  # noqa: F401
