"""The critical path: the chain of dependent tasks that bounds the makespan.

Two weightings over the final attempt of every task, along data dependencies and, where
the trace records the client (schema 1.2), its control edges: a task the client submitted
only after seeing some results follows them, the client's time in between (its
``client_seconds``) weighing the edge.

- ``execution``: each task weighs its execution time (ended - started); the path is
  the makespan's lower bound on unlimited workers with free scheduling.
- ``overheads``: each task also carries its measured engine, queueing, launch and return
  times (the time from its last parent's result, or its own submission for a task without
  parents, to its own result). Along the path, these are the overheads and transfers on
  the edges between tasks; the path is the chain of last-arriving dependencies that set
  the makespan in the recorded run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from tapstrace.analysis.graph import LongestPath, flow_dag, longest_path
from tapstrace.analysis.overhead import COMPONENTS, task_overheads
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

Weighting = Literal["execution", "overheads"]


@dataclass(frozen=True)
class CriticalPath:
    """The critical path of a trace under one weighting.

    Attributes:
        weighting: "execution" or "overheads" (see the module docstring).
        length_s: total weight of the path, seconds (None when it cannot be computed).
        task_ids: the tasks on the path, first to last.
        levels: depth of the task graph, in tasks.
        components: for the overheads weighting, how the length splits into execution,
            engine, queueing, launch and return seconds (with executors that resolve
            dependencies themselves a child's stretch starts at its parents' results
            while it ran from their ends, so the parts need not sum to the length:
            :func:`tapstrace.analysis.breakdown.breakdown` splits the makespan exactly).
        unknown: final attempts whose needed times are missing (weighted 0 when they
            did not run, else the path is not computed: see ``reason``).
        reason: why ``length_s`` is None.
    """

    weighting: Weighting
    length_s: float | None
    task_ids: list[int] = field(default_factory=list)
    levels: int = 0
    components: dict[str, float] = field(default_factory=dict)
    unknown: int = 0
    reason: str | None = None

    @property
    def tasks(self) -> int:
        """Number of tasks on the path."""
        return len(self.task_ids)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "weighting": self.weighting,
            "length_s": self.length_s,
            "tasks": self.tasks,
            "levels": self.levels,
            "components_s": self.components,
            "unknown": self.unknown,
            "reason": self.reason,
            "task_ids": self.task_ids,
        }


def _ran() -> pl.Expr:
    """Attempts that ran on a worker (a start or an end was recorded)."""
    return pl.col("started").is_not_null() | pl.col("ended").is_not_null()


def _weights(tasks: Tasks, weighting: Weighting) -> tuple[np.ndarray | None, int, str | None]:
    """Each node's weight (rows of ``final``), how many needed times are missing, and
    why the path cannot be computed (or None)."""
    if weighting == "execution":
        frame = tasks.final.select(pl.col("execution").alias("w"), _ran().alias("needed"))
    else:
        over = task_overheads(tasks).filter(pl.col("is_final"))  # rows aligned with final
        times = pl.concat(
            [
                tasks.final.select("received", "submitted", "status"),
                over.select("has_parents", "parents_received"),
            ],
            how="horizontal",
        )
        since = pl.when("has_parents").then("parents_received").otherwise("submitted")
        frame = times.select(
            (pl.col("received") - since).alias("w"), (pl.col("status") == "ok").alias("needed")
        )
    missing = frame.filter(pl.col("needed") & pl.col("w").is_null()).height
    if missing and weighting == "overheads":
        return None, missing, f"{missing} completed tasks lack the times it needs"
    weights = frame["w"].fill_null(0.0).to_numpy()
    return weights, missing, None


def critical_path(trace: Trace | Tasks, weighting: Weighting = "execution") -> CriticalPath:
    """The critical path of ``trace`` under ``weighting`` ("execution" or "overheads").

    Failed-and-not-run tasks weigh 0. Execution times missing for tasks that ran are
    counted in ``unknown`` (and weigh 0); the overheads weighting needs every completed
    task's times and is not computed (``length_s`` None, ``reason`` set) without them.
    """
    tasks = as_tasks(trace)
    key = f"critical_path:{weighting}"
    return tasks.cached(key, lambda: _critical_path(tasks, weighting))


def _critical_path(tasks: Tasks, weighting: Weighting) -> CriticalPath:
    if tasks.final.height == 0:
        return CriticalPath(weighting, None, reason="no tasks")
    weights, unknown, reason = _weights(tasks, weighting)
    if weights is None:
        return CriticalPath(weighting, None, unknown=unknown, reason=reason)
    graph = flow_dag(tasks)
    result: LongestPath = longest_path(graph, weights)
    on_path = tasks.final[result.path]
    components: dict[str, float] = {}
    if weighting == "overheads":
        parts = task_overheads(tasks).filter(pl.col("is_final"))[result.path]
        components = {
            f"{c}_s": float(parts[c].fill_null(0.0).sum()) for c in ("execution", *COMPONENTS)
        }
    return CriticalPath(
        weighting,
        result.length,
        on_path["task_id"].to_list(),
        graph.depth,
        components,
        unknown,
    )


def on_critical_path(trace: Trace | Tasks) -> pl.Series:
    """A boolean per final attempt (rows of ``final``): is the task on the execution path."""
    tasks = as_tasks(trace)
    path = critical_path(tasks)
    return tasks.final["task_id"].is_in(path.task_ids)
