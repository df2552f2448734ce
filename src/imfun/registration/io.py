"""Saving and loading shifts: ``.npz`` (everything) or ``.csv`` (a table, one row per frame).

The CSV has the columns ``frame, dy, dx`` and, for piecewise-rigid shifts,
``b{i}_{j}_dy, b{i}_{j}_dx`` for block row ``i`` and column ``j``; comment
lines (``# key: value``) above the header hold the bidi phase and the block
size.  The ``.npz`` also holds the template.

Examples
--------
>>> import numpy as np, tempfile, os
>>> s = Shifts(np.array([[0.5, -1.0], [0.0, 2.25]]), bidi_phase=1.0)
>>> path = os.path.join(tempfile.mkdtemp(), "shifts.csv")
>>> _ = s.save(path)
>>> back = load_shifts(path)
>>> back.shifts.tolist(), back.bidi_phase
([[0.5, -1.0], [0.0, 2.25]], 1.0)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InvalidArgumentError, SourceNotFoundError
from ..export.atomic import atomic_target


@dataclass
class Shifts:
    """Shifts of a registration, as plain arrays (see :class:`~imfun.registration.RegisteredSequence`)."""

    shifts: np.ndarray
    block_shifts: np.ndarray | None = None
    block_size: tuple[int, int] | None = None
    block_centers: np.ndarray | None = None
    bidi_phase: float = 0.0
    template: np.ndarray | None = None

    @classmethod
    def of(cls, reg) -> Shifts:
        """The shifts of a registered sequence."""
        return cls(reg.shifts, reg.block_shifts, reg.block_size, reg.block_centers, reg.bidi_phase,
                   reg.template)

    def save(self, path, overwrite: bool = False) -> str:
        return save_shifts(path, self, overwrite)


def _kind(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise InvalidArgumentError(f"shifts are saved as .npz or .csv, not {str(path)!r}")
    return suffix


def save_shifts(path, shifts, overwrite: bool = False) -> str:
    """Write :class:`Shifts` (or a registered sequence's) to ``path`` (``.npz`` or ``.csv``), atomically."""
    s = shifts if isinstance(shifts, Shifts) else Shifts.of(shifts)
    kind = _kind(path)
    with atomic_target(path, overwrite=overwrite) as tmp:
        if kind == ".npz":
            arrays = {"shifts": s.shifts, "bidi_phase": np.float64(s.bidi_phase)}
            if s.block_shifts is not None:
                arrays.update(block_shifts=s.block_shifts, block_size=np.asarray(s.block_size),
                              block_centers=s.block_centers)
            if s.template is not None:
                arrays["template"] = s.template
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        else:
            _write_csv(tmp, s)
    return str(path)


def _write_csv(tmp, s: Shifts) -> None:
    n = len(s.shifts)
    cols, names = [np.arange(n), s.shifts[:, 0], s.shifts[:, 1]], ["frame", "dy", "dx"]
    header = [f"# bidi_phase: {s.bidi_phase!r}"]
    if s.block_shifts is not None:
        nby, nbx = s.block_shifts.shape[1:3]
        header.append(f"# block_size: {json.dumps(list(map(int, s.block_size)))}")
        for i in range(nby):
            for j in range(nbx):
                cols += [s.block_shifts[:, i, j, 0], s.block_shifts[:, i, j, 1]]
                names += [f"b{i}_{j}_dy", f"b{i}_{j}_dx"]
    table = np.column_stack(cols)
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(header) + "\n" + ",".join(names) + "\n")
        np.savetxt(fh, table, delimiter=",", fmt=["%d"] + ["%.6f"] * (table.shape[1] - 1))


def load_shifts(path) -> Shifts:
    """Read shifts written by :func:`save_shifts` (``.npz`` or ``.csv``)."""
    kind = _kind(path)
    if not os.path.exists(path):
        raise SourceNotFoundError(f"no shifts file at {str(path)!r}")
    try:
        if kind == ".npz":
            return _load_npz(path)
        return _load_csv(path)
    except (KeyError, ValueError, IndexError) as exc:
        raise CorruptFileError(f"{str(path)!r} is not a shifts file written by imfun: {exc}") from exc


def _load_npz(path) -> Shifts:
    with np.load(path, allow_pickle=False) as z:
        block = z.get("block_shifts")
        size = tuple(int(v) for v in z["block_size"]) if block is not None else None
        return Shifts(z["shifts"], block, size, z["block_centers"] if block is not None else None,
                      float(z["bidi_phase"]), z.get("template"))


def _load_csv(path) -> Shifts:
    meta = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                names = line.strip().split(",")
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
        table = np.loadtxt(fh, delimiter=",", ndmin=2)
    if names[:3] != ["frame", "dy", "dx"]:
        raise ValueError(f"the header is {names[:3]}, expected frame, dy, dx")
    block, size = None, None
    if len(names) > 3:
        last = names[-1].split("_")  # b{i}_{j}_dx
        nby, nbx = int(last[0][1:]) + 1, int(last[1]) + 1
        block = table[:, 3:].reshape(len(table), nby, nbx, 2)
        size = tuple(json.loads(meta["block_size"]))
    return Shifts(table[:, 1:3].copy(), block, size, None, float(meta.get("bidi_phase", 0.0)))
