"""Where the makespan went: the recorded critical path, cut into what each stretch was.

Walking back from the last result received, every moment of the makespan belongs to one
stretch of one chain of events:

- a task, from the moment it could go (its last data parent's result, or its own
  submission) to its result: engine (ready - release), queueing (dispatched - ready),
  retries (earlier attempts, from the first attempt's ready to the final dispatch),
  waiting for a free worker, launch (the rest of dispatched -> started), execution and
  return;
- the client, before a submission that was not waiting on data: from the results it
  had seen (control parents, schema 1.2) or from its previous submission, to the
  submission. A trace without the client's control flow cannot say why a submission
  came when it did; that time is reported as "not recorded", never as client time.

The walk picks, at each step, the predecessor that came last (the parent whose result
arrived last, or the client's last observation or previous submission, whichever is
later), so the stretches abut and their sum is the makespan exactly: the components
of two runs subtract to the difference of their makespans (``tapstrace compare``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from tapstrace.analysis.graph import edges_from, task_dag
from tapstrace.analysis.overhead import full_between, slots_full
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

#: Components of the makespan, in the order they are shown, with their labels.
PARTS = {
    "client": "client (driver work and pacing)",
    "unrecorded": "before submission (client not recorded)",
    "engine": "engine (releasing ready tasks)",
    "queueing": "queueing (before the executor)",
    "worker_wait": "waiting for a free worker",
    "launch": "launch (executor and input transfer)",
    "execution": "task execution",
    "return": "return (result transfer)",
    "retries": "failed attempts and retries",
    "other": "other (clock skew, outside the path)",
}
#: How the components group into the headline categories (key: label, components).
GROUPS = {
    "client": ("client (or not recorded)", ("client", "unrecorded")),
    "scheduler": ("scheduler: engine and queueing", ("engine", "queueing")),
    "worker_wait": ("waiting for a free worker", ("worker_wait",)),
    "transfer": ("launch and return (executor, transfers)", ("launch", "return")),
    "execution": ("task execution", ("execution",)),
    "failures": ("failed attempts and retries", ("retries",)),
    "other": ("other", ("other",)),
}


@dataclass(frozen=True)
class Breakdown:
    """The makespan of a trace cut into components (seconds) along its recorded path.

    Attributes:
        makespan_s: the makespan being decomposed.
        parts: seconds per component (keys of :data:`PARTS`); they sum to makespan_s.
        client_recorded: whether the trace records the client's control flow; when
            not, ``parts["client"]`` is 0 and time before submissions is "unrecorded".
        path: one row per task on the path, first to last: task_id, name, worker,
            released_by ("data", "client" or "start") and its seconds per component.
        reason: why the breakdown could not be computed (then parts is empty).
    """

    makespan_s: float | None
    parts: dict[str, float] = field(default_factory=dict)
    client_recorded: bool = False
    path: pl.DataFrame = field(default_factory=pl.DataFrame)
    reason: str | None = None

    def groups(self) -> dict[str, float]:
        """Seconds per headline category (client, scheduler, waiting, transfer, ...)."""
        return {g: sum(self.parts.get(p, 0.0) for p in parts) for g, (_, parts) in GROUPS.items()}

    def as_dict(self, path_rows: int = 200) -> dict[str, Any]:
        """JSON-ready form (the first ``path_rows`` path rows)."""
        return {
            "makespan_s": self.makespan_s,
            "parts_s": self.parts,
            "groups_s": self.groups() if self.parts else {},
            "client_recorded": self.client_recorded,
            "path_tasks": self.path.height,
            "path": self.path.head(path_rows).to_dicts() if self.path.height else [],
            "reason": self.reason,
        }


def breakdown(trace: Trace | Tasks) -> Breakdown:
    """The makespan of ``trace`` decomposed along its recorded critical path."""
    tasks = as_tasks(trace)
    return tasks.cached("breakdown", lambda: _breakdown(tasks))


def _array(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()


def _latest(
    source: np.ndarray, target: np.ndarray, times: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per node: the latest time among its parents (NaN: none) and that parent (-1)."""
    latest = np.full(n, -np.inf)
    values = times[source]
    with np.errstate(invalid="ignore"):
        np.maximum.at(latest, target, np.nan_to_num(values, nan=-np.inf))
    which = np.full(n, -1, np.int64)
    hit = values == latest[target]
    which[target[hit]] = source[hit]
    latest[np.isneginf(latest)] = np.nan
    return latest, which


def _breakdown(tasks: Tasks) -> Breakdown:
    window = tasks.window
    span = window.seconds
    recorded = tasks.client_recorded
    final = tasks.final
    n = final.height
    if n == 0 or span is None or window.start is None or window.end is None:
        return Breakdown(span, reason="no timed tasks")
    submitted, received = _array(final, "submitted"), _array(final, "received")
    if np.isnan(submitted).any() or np.isnan(received).any():
        return Breakdown(
            span, reason="the trace does not record every submission and result (imported?)"
        )
    ended = _array(final, "ended")
    dispatched = _array(final, "dispatched")
    # Data parents: the client-side view (the last parent result the client received)
    # and, for tasks the executor resolved itself (dispatched before their parents were
    # done: Dask, Ray, Parsl), the worker-side one (the last parent's end).
    dag = task_dag(tasks)
    parents_at, parent = _latest(dag.source, dag.target, received, n)
    ended_or_received = np.where(np.isnan(ended), received, ended)
    parents_end, parent_end = _latest(dag.source, dag.target, ended_or_received, n)
    native = dispatched < parents_at  # NaN compares False
    release_at = np.where(native, parents_end, parents_at)
    release_by = np.where(native, parent_end, parent)
    if recorded:
        c_source, c_target, _ = edges_from(final, "control_parents")
        seen_at, seen = _latest(c_source, c_target, received, n)
    else:
        seen_at, seen = np.full(n, np.nan), np.full(n, -1, np.int64)
    order = np.argsort(submitted, kind="stable")
    position = np.empty(n, np.int64)
    position[order] = np.arange(n)
    previous_at = np.full(n, -np.inf)
    previous_at[order[1:]] = submitted[order[:-1]]
    by_data = release_at >= submitted  # NaN compares False: no parent
    by_client = seen_at >= previous_at  # the client's observation came after it
    # For each position in submission order, the latest position at or before it whose
    # submission waited on the client's observations (-1: none).
    marks = np.where(by_client[order], np.arange(n), -1)
    last_mark = np.maximum.accumulate(marks)

    # Each task's predecessor event, vectorised: its data parent (kind 0), the result
    # the client saw last before submitting it (1), or none: back to the start (2).
    k = last_mark[position]
    via = order[np.clip(k, 0, None)]
    kind = np.where(by_data, 0, np.where(k >= 0, 1, 2))
    nxt = np.where(kind == 0, release_by, np.where(kind == 1, seen[via], -1))
    nxt_end = (kind == 0) & native
    # The walk: a pointer chase from the last result (events: a task's result received
    # by the client, or only its end on a worker when a child took it from there).
    chain: list[int] = []
    follow = nxt.tolist()
    node = int(np.argmax(received))
    for _ in range(n + 1):
        chain.append(node)
        node = follow[node]
        if node < 0:
            break
    else:
        return Breakdown(span, reason="the dependencies and control edges form a cycle")
    nodes = np.array(chain[::-1], np.int64)
    at_end = np.concatenate([nxt_end[nodes[1:]], [False]])
    first = float(submitted[order[0]])
    end = float(received[nodes[-1]])
    start = first
    release = np.where(kind[nodes] == 0, release_at[nodes], submitted[nodes])
    before = np.select(
        [kind[nodes] == 1, kind[nodes] == 2],
        [submitted[nodes] - seen_at[via[nodes]], submitted[nodes] - first],
        0.0,
    )
    steps = (nodes, at_end, kind[nodes], release, before)
    path = _segments(tasks, steps)
    parts = {p: 0.0 for p in PARTS}
    for column in (
        "engine",
        "queueing",
        "worker_wait",
        "launch",
        "execution",
        "return",
        "retries",
        "other",
    ):
        parts[column] = float(path[column].sum())
    parts["client" if recorded else "unrecorded"] = float(path["before_submission"].sum())
    parts["other"] += (start - window.start) + (window.end - end)
    path = path.rename({"before_submission": "client" if recorded else "unrecorded"})
    return Breakdown(span, parts, recorded, path)


def _first_ready(tasks: Tasks) -> np.ndarray:
    """Each task's first kept attempt's ready time (rows of ``final``)."""
    attempts = tasks.attempts
    if attempts.height == tasks.final.height:  # no retries
        return _array(tasks.final, "ready")
    first = attempts.filter(pl.col("node") != pl.col("node").shift(1).fill_null(-1))
    return _array(first, "ready")


#: Codes of the walk's steps: what released each task on the path, and where its result
#: was taken from.
RELEASED_BY = {0: "data", 1: "client", 2: "start"}
RESULT = {True: "on worker", False: "at client"}

Steps = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _segments(tasks: Tasks, steps: Steps) -> pl.DataFrame:
    """Per task on the path: seconds per component, from its release to its event.

    The task's times are clamped into [release, event] in life order (ready, dispatch,
    start, end, result): with executors that resolve dependencies themselves, a task is
    dispatched before its parents finish, so the stretch from the release on is what
    counts. Waiting for a free worker is the time in [dispatch or release, start] when
    every slot was busy. A task lacking a needed time is not split: its whole stretch
    goes to "other".
    """
    final = tasks.final
    nodes, at_end, labels, release, before = steps
    rows = final.select("task_id", "name", "worker", "attempt")[nodes]
    t = {
        c: _array(final, c)[nodes] for c in ("ready", "dispatched", "started", "ended", "received")
    }
    first_ready = (
        (tasks.attempts.group_by("node", maintain_order=True).agg(pl.col("ready").first()))["ready"]
        .cast(pl.Float64)
        .fill_null(np.nan)
        .to_numpy()[nodes]
    )
    event = np.where(at_end, t["ended"], t["received"])
    needed = [event, t["ended"], t["started"], t["dispatched"], first_ready]
    known = ~np.isnan(np.vstack(needed)).any(axis=0)
    # Latest first, each boundary within [release, the later boundary].
    later = np.where(np.isnan(event), release, event)
    bounds = []
    for b in needed[1:]:
        b = np.where(np.isnan(b), later, b)
        later = np.minimum(np.maximum(b, release), later)
        bounds.append(later)
    ended, started, dispatched, ready = bounds
    integral = slots_full(tasks)
    wait = np.zeros(nodes.size) if integral is None else full_between(integral, dispatched, started)
    wait = np.minimum(np.nan_to_num(wait, nan=0.0), started - dispatched)
    retried = rows["attempt"].to_numpy() > 1
    zero = np.zeros(nodes.size)
    top = np.where(np.isnan(event), release, event)
    parts = {
        "return": top - ended,
        "execution": ended - started,
        "launch": started - dispatched - wait,
        "worker_wait": wait,
        "queueing": np.where(retried, zero, dispatched - ready),
        "retries": np.where(retried, dispatched - ready, zero),
        "engine": ready - release,
    }
    other = np.where(known, zero, top - release)
    for key in parts:
        parts[key] = np.where(known, parts[key], zero)
    return rows.drop("attempt").with_columns(
        pl.Series("released_by", labels).replace_strict(RELEASED_BY, return_dtype=pl.String),
        pl.Series("result", at_end).replace_strict(RESULT, return_dtype=pl.String),
        pl.Series("before_submission", before),
        *(pl.Series(k, v) for k, v in parts.items()),
        pl.Series("other", other),
    )
