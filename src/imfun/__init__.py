"""imfun: time-lapse microscopy frame sequences.

``import imfun`` is instant: submodules are imported when first used, so
``imfun.fseq.open_seq(...)``, ``imfun.config.budget(...)`` and
``imfun.analysis.rois.load_rois(...)`` work after a bare ``import imfun``
(also the submodules of a subpackage, however it was imported).

Examples
--------
>>> import imfun
>>> imfun.analysis.rois.load_rois.__name__
'load_rois'
"""

import importlib
import sys
import types

__version__ = "0.1.0"


def _child(package: types.ModuleType, name: str) -> types.ModuleType:
    """The submodule ``name`` of ``package``, imported on first use (AttributeError when none)."""
    full = f"{package.__name__}.{name}"
    if not name.startswith("_"):
        try:
            return importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:  # the submodule exists but needs something missing
                raise
    raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")


def _lazy_children(module: types.ModuleType) -> None:
    """Let a subpackage import its submodules on first use, as this package does."""
    if hasattr(module, "__path__") and "__getattr__" not in vars(module):
        module.__getattr__ = lambda attr, pkg=module: _child(pkg, attr)


class _Package(types.ModuleType):
    """This package: the subpackages it hands out find their submodules lazily too."""

    def __getattribute__(self, name: str):
        value = super().__getattribute__(name)
        if isinstance(value, types.ModuleType) and value.__name__.startswith("imfun."):
            _lazy_children(value)
        return value

    def __getattr__(self, name: str) -> types.ModuleType:
        module = _child(self, name)
        _lazy_children(module)
        return module


sys.modules[__name__].__class__ = _Package
