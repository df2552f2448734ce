"""The dask engine: the same reductions as the local engine, with blocks as tasks."""

from __future__ import annotations


def wants_dask(engine) -> bool:
    """Whether a call should run on dask: ``engine='dask'``, a distributed Client
    passed as ``engine``, or (with ``engine=None``) an active distributed client."""
    return engine not in (None, "local")


def run(seq, reduction, fslice, crop, budget, engine):
    from ..errors import MissingDependencyError

    raise MissingDependencyError("the dask engine is not available yet")
