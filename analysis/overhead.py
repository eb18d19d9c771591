"""Scheduler overhead, decomposed along a task's life (all values in seconds).

- engine = ready - max(parents' received): the engine noticing the last parent's result
  and releasing the task (tasks with parents, first attempt).
- queueing = dispatched - ready: waiting in the engine before the executor gets the task
  (a retry: dispatched - the previous attempt's received); 0 for a task the executor
  took before it was ready (Dask, Parsl, Ray get a child with its parents' handles).
- worker_wait = waiting for a free worker: the part of dispatched -> started during which
  every worker slot was running another attempt (from the attempts' run intervals and
  the slot count).
- launch = started - dispatched - worker_wait: the executor delivering the task and its
  inputs to a free worker (launch latency).
- return = received - ended: the result travelling back to the client.

A time a trace does not hold (imported traces may lack some) leaves the component null
for that task; summaries count those as missing and never fill them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from tapstrace.analysis.graph import task_dag
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

COMPONENTS = ("engine", "queueing", "worker_wait", "launch", "return")
QUANTILES = {"median_s": 0.5, "p95_s": 0.95, "p99_s": 0.99}


def _parents_received(tasks: Tasks) -> np.ndarray:
    """Per final attempt: the latest received time among its parents (NaN: no parent
    in the trace, or a parent's time is unknown)."""
    final = tasks.final
    dag = task_dag(tasks)
    received = final["received"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    latest = np.full(final.height, -np.inf)
    with np.errstate(invalid="ignore"):  # NaN (an unknown time) propagates, as it should
        np.maximum.at(latest, dag.target, received[dag.source])
    latest[np.isneginf(latest)] = np.nan
    return latest


def slots_full(tasks: Tasks) -> tuple[np.ndarray, np.ndarray] | None:
    """The running integral of "every worker slot is busy": step times and, at each,
    the seconds since the first step during which all slots ran an attempt (piecewise
    linear in between). None without a slot count or a timeline."""
    slots, _ = tasks.slots
    if not slots or not tasks.timeline:
        return None

    def compute() -> tuple[np.ndarray, np.ndarray]:
        from tapstrace.analysis.utilisation import concurrency

        steps = concurrency(tasks)
        times = steps["time"].to_numpy()
        full = (steps["running"].to_numpy() >= slots).astype(np.float64)
        if times.size == 0:
            return times, np.zeros(0)
        return times, np.concatenate([[0.0], np.cumsum(full[:-1] * np.diff(times))])

    return tasks.cached("slots_full", compute)


def full_between(
    integral: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Seconds within [a, b] during which every worker slot was busy (NaN where a time
    is unknown, 0 where the interval is empty)."""
    times, busy = integral
    if times.size == 0:
        return np.where(np.isnan(a) | np.isnan(b), np.nan, 0.0)
    return np.clip(np.interp(b, times, busy) - np.interp(a, times, busy), 0.0, None)


def _worker_wait(tasks: Tasks) -> np.ndarray:
    """Per attempt: the seconds between its dispatch and its start during which every
    worker slot was running another attempt (NaN without the times or a slot count).

    The "all slots busy" indicator of the running count has a running integral that is
    piecewise linear, so each attempt's wait is that integral at its start minus the
    integral at its dispatch.
    """
    attempts = tasks.attempts
    integral = slots_full(tasks)
    if integral is None:
        return np.full(attempts.height, np.nan)
    dispatched = attempts["dispatched"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    started = attempts["started"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return full_between(integral, dispatched, started)


def task_overheads(trace: Trace | Tasks) -> pl.DataFrame:
    """One row per attempt: the overhead components, execution and round trip (seconds).

    Columns: task_id, attempt, node, name, worker, status, is_final, parents_received,
    engine, queueing, worker_wait, launch, execution, return, round_trip (received -
    dispatched), has_parents (the task has a parent in the trace).
    """
    tasks = as_tasks(trace)
    return tasks.cached("overheads", lambda: _task_overheads(tasks))


def _task_overheads(tasks: Tasks) -> pl.DataFrame:
    attempts = tasks.attempts
    nodes = attempts["node"]
    latest = pl.Series(_parents_received(tasks), nan_to_null=True).gather(nodes)
    # Parents present in the trace (a partial trace may name parents it does not hold).
    dag = task_dag(tasks)
    parented = pl.Series(np.bincount(dag.target, minlength=dag.nodes) > 0).gather(nodes)
    has_parents = pl.lit(parented)
    retry = (pl.col("attempt") > 1) & (pl.col("task_id") == pl.col("task_id").shift(1))
    wait = pl.Series("worker_wait", _worker_wait(tasks), nan_to_null=True)
    launch = pl.col("started") - pl.col("dispatched")
    return attempts.with_columns(wait).select(
        "task_id",
        "attempt",
        "node",
        "name",
        "worker",
        "status",
        "is_final",
        pl.when(has_parents).then(pl.lit(latest)).alias("parents_received"),
        pl.when(has_parents & (pl.col("attempt") == 1))
        .then(pl.col("ready") - pl.lit(latest))
        .alias("engine"),
        pl.when(retry)
        .then(pl.col("dispatched") - pl.col("received").shift(1))
        # An executor that resolves dependencies itself took the task at its submission,
        # before it was ready: it waited in no queue of the engine's.
        .otherwise((pl.col("dispatched") - pl.col("ready")).clip(lower_bound=0.0))
        .alias("queueing"),
        "worker_wait",
        (launch - pl.col("worker_wait").fill_null(0.0)).alias("launch"),
        "execution",
        (pl.col("received") - pl.col("ended")).alias("return"),
        (pl.col("received") - pl.col("dispatched")).alias("round_trip"),
        has_parents.alias("has_parents"),
    )


def _eligible(component: str) -> pl.Expr:
    """Attempts that must hold this component in a complete tapstrace trace."""
    ok = pl.col("status") == "ok"
    if component == "engine":
        return ok & pl.col("has_parents") & (pl.col("attempt") == 1)
    return ok


def overhead_summary(trace: Trace | Tasks, by: str | None = None) -> pl.DataFrame:
    """Median, p95, p99, mean (seconds) and counts of each overhead component.

    One row per component (and per value of ``by``, e.g. "name" for each function).
    ``n``: attempts with a value; ``missing``: completed attempts without one (the
    trace does not hold the times). Quantiles interpolate linearly.
    """
    over = task_overheads(trace)
    keys = [by] if by else []
    frames = []
    for component in COMPONENTS:
        seconds = pl.col(component)
        columns = [
            pl.lit(component).alias("component"),
            seconds.count().alias("n"),
            (_eligible(component) & seconds.is_null()).sum().alias("missing"),
            *(seconds.quantile(q, "linear").alias(k) for k, q in QUANTILES.items()),
            seconds.mean().alias("mean_s"),
        ]
        frames.append(over.group_by(keys).agg(columns) if keys else over.select(columns))
    table = pl.concat(frames, how="vertical_relaxed")
    return table.sort(keys, maintain_order=True) if keys else table
