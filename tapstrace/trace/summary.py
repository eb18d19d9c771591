"""A short summary of a trace, for ``tapstrace show`` and ``Trace.describe``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace


def describe(trace: Trace) -> dict[str, Any]:
    """Tasks by status, makespan (first submission to last result) and the time span."""
    tasks = trace.tasks
    by_status: dict[str, int] = {}
    first = last = None
    if tasks.height:
        counts = tasks.group_by("status").len().sort("status")
        by_status = dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True))
        span = tasks.select(
            pl.col("submitted").min().alias("first"),
            pl.max_horizontal(pl.col("received").max(), pl.col("ended").max()).alias("last"),
        ).row(0, named=True)
        first, last = span["first"], span["last"]
    makespan = (last - first).total_seconds() if first is not None and last is not None else None
    return {
        "path": str(trace.path) if trace.path else None,
        "app": trace.app,
        "executor": trace.executor,
        "run_id": trace.metadata.get("run_id"),
        "records": tasks.height,
        "tasks": tasks["task_id"].n_unique() if tasks.height else 0,
        "by_status": by_status,
        "makespan_s": makespan,
        "first_submitted": first.isoformat() if first else None,
        "last_received": last.isoformat() if last else None,
        "schema_version": trace.schema_version,
        "partial": trace.partial,
    }
