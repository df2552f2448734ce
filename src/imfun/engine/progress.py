"""Progress bars on long work: a notebook bar in Jupyter, a terminal bar on a terminal,
quiet otherwise.

Where a bar shows is decided once per bar by :func:`where`: ``'notebook'`` under an
IPython kernel (Jupyter, VS Code notebooks), ``'terminal'`` when stderr is a terminal,
``'quiet'`` otherwise.  ``imfun.config.progress`` overrides it for the whole process:
``'auto'`` (default), ``True`` (show bars even when stderr is not a terminal, e.g. in
logs) or ``False`` (never show one).

>>> import imfun
>>> from imfun.engine.progress import progress
>>> imfun.config.progress
'auto'
>>> with progress(3, "demo", enable=False) as bar:
...     bar.update(3)
>>> bar.disable
True
"""

from __future__ import annotations

import builtins
import sys

from .. import config
from ..errors import InvalidArgumentError

# the shells of IPython kernels (Jupyter's, and the same for Colab's and VS Code's)
KERNEL_SHELLS = ("ZMQInteractiveShell", "Shell")


def _ipython_shell():
    """The running IPython shell, or None: the one IPython puts in ``builtins`` while it
    runs code, else the one of an imported ``IPython`` module."""
    getter = getattr(builtins, "get_ipython", None)
    if getter is None and "IPython" in sys.modules:
        getter = getattr(sys.modules["IPython"], "get_ipython", None)
    try:
        return getter() if getter is not None else None
    except Exception:  # a broken or half-shut shell: no kernel to draw in
        return None


def in_kernel() -> bool:
    """Whether this process runs code for a notebook (under an IPython kernel)."""
    shell = _ipython_shell()
    return shell is not None and type(shell).__name__ in KERNEL_SHELLS


def where() -> str:
    """Where a bar would show now: ``'notebook'``, ``'terminal'`` or ``'quiet'``."""
    if in_kernel():
        return "notebook"
    try:
        return "terminal" if sys.stderr is not None and sys.stderr.isatty() else "quiet"
    except (AttributeError, ValueError):  # a replaced or closed stderr
        return "quiet"


def _setting() -> str | bool:
    value = getattr(config, "progress", "auto")
    if not (isinstance(value, bool) or value == "auto"):
        raise InvalidArgumentError(
            f"imfun.config.progress must be 'auto', True or False, got {value!r}")
    return value


def shown(enable: bool | None = None) -> bool:
    """Whether a bar shows: ``enable=False`` or ``config.progress = False`` never;
    ``enable=True`` or ``config.progress = True`` always; else only in a notebook or on
    a terminal."""
    setting = _setting()
    if setting is False or enable is False:
        return False
    return enable is True or setting is True or where() != "quiet"


def bar_class() -> type:
    """The tqdm class for a bar now: tqdm's notebook bar under a kernel (when ipywidgets,
    which draws it, is installed), else the terminal bar."""
    import importlib.util

    if in_kernel() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm
    from tqdm import std

    return std.tqdm


class QuietBar:
    """The bar of work that shows nothing: the part of tqdm's interface the library uses,
    without importing tqdm (which costs a fresh process tens of milliseconds)."""

    disable = True

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> QuietBar:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress(total: int | None = None, desc: str = "", enable: bool | None = None, unit: str = "frame",
             delay: float = 1.0):
    """A tqdm bar for long work, shown where :func:`shown` says, once the work has
    lasted ``delay`` seconds.

    Parameters
    ----------
    total : int or None
        The number of steps.
    desc : str
        The bar's label.
    enable : bool or None
        ``None``: show in a notebook or on a terminal; ``True``: show; ``False``: never.
    unit : str
        The name of a step.
    delay : float
        Seconds before the bar appears (short work shows nothing).

    Returns
    -------
    tqdm.tqdm or QuietBar
        A bar (a context manager); a bar that does not show is a :class:`QuietBar`, which
        costs nothing.
    """
    if not shown(enable):
        return QuietBar()
    cls = bar_class()
    kwargs = {} if cls.__module__ != "tqdm.std" else {"dynamic_ncols": True}
    return cls(total=total, desc=desc, disable=False, unit=unit, leave=False, delay=delay, **kwargs)
