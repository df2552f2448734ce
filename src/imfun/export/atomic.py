"""Write a file or a folder under a temporary name and rename it into place at the end.

Every exporter goes through :func:`atomic_target`: the data are written to
``.<name>.<random>.partial`` in the target folder, which is renamed onto the
target only when writing succeeded.  Any exception (also ``KeyboardInterrupt``)
removes the partial and re-raises, so a failed or interrupted export never
leaves a half-written file.  The same helper refuses writing onto the files a
sequence is read from, and onto an existing target unless ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import InvalidArgumentError, TargetExistsError, WriteError


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(Path(path).expanduser())).resolve()


def check_target(path: str | os.PathLike, sources: Iterable[str | os.PathLike] = (),
                 overwrite: bool = False, directory: bool = False) -> Path:
    """Validate a target path and return it resolved.

    Raises
    ------
    WriteError
        When the target is (or, for a folder target, contains) one of ``sources``.
    TargetExistsError
        When the target exists and ``overwrite`` is False.
    """
    if path is None or str(path) == "":
        raise InvalidArgumentError("a target path is needed, e.g. 'out/movie.mp4'")
    target = _resolved(path)
    for src in sources:
        src_r = _resolved(src)
        if src_r == target or target in src_r.parents:
            raise WriteError(
                f"refusing to write {target}: the sequence is read from {src_r}; "
                "choose another target path")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise TargetExistsError(
                f"{target} exists; pass overwrite=True to replace it, or choose another path")
        # a folder is replaced only by a folder export (zarr), a file only by a file
        if target.is_dir() and not directory:
            raise WriteError(f"{target} is a folder; refusing to replace a folder with a file")
        if directory and not target.is_dir():
            raise WriteError(f"{target} is a file; a folder store cannot replace it")
    return target


def partial_name(target: Path) -> Path:
    """``<folder>/.<name>.<random>.partial`` beside the target."""
    return target.with_name(f".{target.name}.{os.urandom(4).hex()}.partial")


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            import shutil  # only for a partial directory

            shutil.rmtree(path)
        else:
            path.unlink()


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike, *, overwrite: bool = False,
                  sources: Iterable[str | os.PathLike] = (), directory: bool = False
                  ) -> Iterator[Path]:
    """Yield a temporary path to write to; rename it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : path-like
        The final target.  Its folder is created when missing.
    overwrite : bool
        Replace an existing target (otherwise :class:`~imfun.errors.TargetExistsError`).
    sources : iterable of paths
        Files that must not be overwritten (the sequence's own source).
    directory : bool
        The target is a folder (e.g. a Zarr store); it is renamed as a whole.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_target(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    target = check_target(path, sources, overwrite, directory)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create the folder {target.parent}: {exc}") from exc
    tmp = partial_name(target)
    try:
        yield tmp
        if not tmp.exists():
            raise WriteError(f"the writer produced no output for {target}")
        _commit(tmp, target, directory)
    except BaseException:
        _remove(tmp)
        raise


def _commit(tmp: Path, target: Path, directory: bool) -> None:
    if not directory or not target.exists():
        os.replace(tmp, target)
        return
    # os.replace cannot put a folder over a non-empty folder: move the old one aside first
    old = target.with_name(f".{target.name}.{os.urandom(4).hex()}.old")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    _remove(old)


class Interrupts:
    """A Ctrl-C (SIGINT) noted by :func:`interrupts_deferred`, raised by :meth:`check`."""

    def __init__(self) -> None:
        self.pending = False

    def handler(self, signum, frame) -> None:
        if self.pending:  # a second Ctrl-C does not wait
            raise KeyboardInterrupt
        self.pending = True

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` when a Ctrl-C came since the last check."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[Interrupts]:
    """Note Ctrl-C instead of raising it anywhere; raise it at :meth:`Interrupts.check` or at the end.

    Libraries that run Python code in weakref callbacks or destructors (h5py
    does, for every object it frees) print and *ignore* a ``KeyboardInterrupt``
    raised there, and the write would run on.  Inside this block SIGINT only
    sets a flag; the writer checks it between blocks, and a Ctrl-C still
    pending at the end is raised after the block, so :func:`atomic_target`
    removes the partial.  A second Ctrl-C raises at once.  Only the main thread
    with Python's default handler installed is changed; elsewhere the block
    runs as it is.

    Examples
    --------
    >>> with interrupts_deferred() as interrupts:
    ...     interrupts.check()  # no Ctrl-C came: nothing happens
    """
    state = Interrupts()
    on_main = threading.current_thread() is threading.main_thread()
    if not on_main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield state
        return
    signal.signal(signal.SIGINT, state.handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    state.check()


@contextlib.contextmanager
def atomic_many(paths: list[Path], *, overwrite: bool = False,
                sources: Iterable[str | os.PathLike] = ()) -> Iterator[list[Path]]:
    """Like :func:`atomic_target` for several files that are committed together.

    All targets are checked before anything is written; on failure every
    partial is removed and no target is touched.
    """
    sources = list(sources)
    targets = [check_target(p, sources, overwrite) for p in paths]
    if targets:
        try:
            targets[0].parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"cannot create the folder {targets[0].parent}: {exc}") from exc
    tmps = [partial_name(t) for t in targets]
    try:
        yield tmps
        for tmp, target in zip(tmps, targets, strict=True):
            os.replace(tmp, target)
    except BaseException:
        for tmp in tmps:
            _remove(tmp)
        raise
