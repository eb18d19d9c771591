"""Utilisation over time: tasks running in total and per worker, and idle time per worker.

A task runs from its ``started`` to its ``ended`` time (every attempt counts). A worker
is identified by ``worker_id``, else ``host:pid``. The idle fraction of a worker is the
share of the run's span (first submission to last result) during which it ran nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace


def runs(tasks: Tasks) -> pl.DataFrame:
    """Attempts that ran: those with both a start and an end time. None when the start
    times are not measurements (``Tasks.timeline``): no timeline is drawn from them."""
    if not tasks.timeline:
        return tasks.attempts.clear()
    return tasks.attempts.filter(pl.col("started").is_not_null() & pl.col("ended").is_not_null())


def concurrency(trace: Trace | Tasks) -> pl.DataFrame:
    """The number of tasks running, as a step function: one row per distinct start or
    end time.

    Columns: time (seconds since the trace's origin), running (after every start and end
    at that time, until the next row's time).
    """
    tasks = as_tasks(trace)
    return tasks.cached("concurrency", lambda: _concurrency(tasks))


def _concurrency(tasks: Tasks) -> pl.DataFrame:
    ran = runs(tasks)
    starts = np.sort(ran["started"].to_numpy())
    ends = np.sort(ran["ended"].to_numpy())
    times = np.unique(np.concatenate([starts, ends]))
    running = np.searchsorted(starts, times, "right") - np.searchsorted(ends, times, "right")
    return pl.DataFrame({"time": times, "running": running.astype(np.int64)})


def concurrency_binned(trace: Trace | Tasks, bins: int = 400) -> pl.DataFrame:
    """Time-weighted mean number of running tasks in ``bins`` equal intervals of the span.

    Exact whatever the number of tasks: the step function's running integral is
    piecewise linear, so interpolating it at the bin edges gives each bin's mean.
    Columns: start, end (seconds since origin), mean_running, peak_running.
    """
    tasks = as_tasks(trace)
    window = tasks.window
    steps = concurrency(tasks)
    if window.start is None or window.end is None or window.end <= window.start or not steps.height:
        return pl.DataFrame(
            schema={
                "start": pl.Float64,
                "end": pl.Float64,
                "mean_running": pl.Float64,
                "peak_running": pl.Int64,
            }
        )
    times = steps["time"].to_numpy()
    running = steps["running"].to_numpy().astype(np.float64)
    area = np.concatenate([[0.0], np.cumsum(running[:-1] * np.diff(times))])
    edges = np.linspace(window.start, window.end, bins + 1)
    integral = np.interp(edges, times, area, left=0.0, right=area[-1])
    mean = np.diff(integral) / np.diff(edges)
    # Peak: the highest count reached in each bin, or held into it from before.
    held = np.searchsorted(times, edges[:-1], side="right") - 1
    peak_at_start = np.where(held >= 0, running[np.clip(held, 0, None)], 0.0)
    which = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, bins - 1)
    peak = peak_at_start.copy()
    np.maximum.at(peak, which, running)
    return pl.DataFrame(
        {
            "start": edges[:-1],
            "end": edges[1:],
            "mean_running": mean,
            "peak_running": peak.astype(np.int64),
        }
    )


def worker_utilisation(trace: Trace | Tasks) -> pl.DataFrame:
    """One row per worker: attempts run, busy seconds (sum of execution times), the
    seconds and fraction of the run's span with nothing running on it, and its mean
    number of running tasks over the span."""
    tasks = as_tasks(trace)
    return tasks.cached("workers", lambda: _worker_utilisation(tasks))


def _worker_utilisation(tasks: Tasks) -> pl.DataFrame:
    window = tasks.window
    span = window.seconds
    schema = {
        "worker": pl.String,
        "tasks": pl.UInt32,
        "busy_s": pl.Float64,
        "idle_s": pl.Float64,
        "idle_fraction": pl.Float64,
        "mean_running": pl.Float64,
    }
    if span is None or span <= 0 or window.start is None or window.end is None:
        return pl.DataFrame(schema=schema)
    ran = runs(tasks).filter(pl.col("worker").is_not_null())
    # Sort by worker, then start, with one integer key (a worker code and the start in
    # microseconds), which sorts much faster than a string column.
    code = pl.col("worker").cast(pl.Categorical).to_physical().cast(pl.Int64)
    micros = ((pl.col("started") - window.start) * 1e6).round().cast(pl.Int64)
    ordered = ran.select(
        "worker", "started", "ended", "execution", (code * (1 << 42) + micros).alias("key")
    ).sort("key")
    # Time with nothing running on a worker: before its first start, after its last end,
    # and every start later than all the ends before it (overlapping tasks count once).
    reach = pl.col("ended").cum_max().shift(1).over("worker")
    idle = ((pl.col("first") - window.start) + (window.end - pl.col("last")) + pl.col("gaps")).clip(
        0.0, span
    )
    return (
        ordered.lazy()
        .with_columns((pl.col("started") - reach).clip(lower_bound=0.0).alias("gap"))
        .group_by("worker")
        .agg(
            pl.len().alias("tasks"),
            pl.col("execution").sum().alias("busy_s"),
            pl.col("started").min().alias("first"),
            pl.col("ended").max().alias("last"),
            pl.col("gap").sum().alias("gaps"),
        )
        .select(
            "worker",
            "tasks",
            "busy_s",
            idle.alias("idle_s"),
            (idle / span).alias("idle_fraction"),
            (pl.col("busy_s") / span).alias("mean_running"),
        )
        .sort("worker")
        .collect()
        .cast({"tasks": pl.UInt32})
    )
