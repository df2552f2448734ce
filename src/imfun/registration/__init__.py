"""Motion correction: rigid and piecewise-rigid registration, lazy, on the block engine.

``fs.register(...)`` estimates the shifts of every frame in one streaming pass
(sub-pixel FFT phase correlation against a template) and returns a lazy
:class:`RegisteredSequence` whose frames are moved back when read;
``fs.apply_shifts(shifts)`` applies known shifts (e.g. another channel's);
:func:`load_shifts` reads shifts saved with ``reg.save_shifts(path)``.

Modules: :mod:`.phasecorr` (estimation), :mod:`.template`, :mod:`.piecewise`,
:mod:`.apply` (moving frames back), :mod:`.reader` (the lazy sequence),
:mod:`.estimate` (the pass on the engine), :mod:`.metrics`, :mod:`.io`.

Examples
--------
>>> import numpy as np
>>> from imfun.synthdata import two_photon_movie
>>> from imfun.fseq import FSeq_arr
>>> fs = FSeq_arr(two_photon_movie(n_frames=30, shape=(64, 64), n_cells=4, seed=0).movie)
>>> reg = fs.register()
>>> reg.shifts.shape, reg.frame_shape
((30, 2), (64, 64))
"""

from __future__ import annotations

# the registered sequence subclasses FrameSequence, whose module imports this package's mixin:
# the names are loaded on first use
_NAMES = {
    "RegisteredSequence": ".reader", "RegisteredReader": ".reader", "Shifts": ".io",
    "load_shifts": ".io", "save_shifts": ".io", "register": ".estimate", "apply_shifts": ".estimate",
    "demo_registration": ".demo",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        import importlib

        return getattr(importlib.import_module(_NAMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
