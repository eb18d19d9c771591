"""Per-trace metrics, each callable on a Trace (or on its prepared Tasks).

    from tapstrace import read_trace
    from tapstrace.analysis import metrics
    trace = read_trace("traces/run.arrow")
    metrics.makespan(trace), metrics.critical_path(trace).length_s

Pass ``prepare(trace)`` (tapstrace.analysis.tasks) instead of the trace to compute many
metrics without preparing the records again; ``prepare(trace, include_warmup=True)``
keeps warm-up tasks. Every metric's definition and unit: docs/analysis.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from tapstrace.analysis.critical import CriticalPath, critical_path, on_critical_path
from tapstrace.analysis.overhead import overhead_summary, task_overheads
from tapstrace.analysis.tasks import Tasks, as_tasks, prepare
from tapstrace.analysis.transfer import (
    TransferFit,
    data_volumes,
    edge_bytes,
    task_bytes,
    transfer_fit,
)
from tapstrace.analysis.utilisation import concurrency, concurrency_binned, worker_utilisation

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

__all__ = [
    "CriticalPath",
    "TransferFit",
    "concurrency",
    "concurrency_binned",
    "critical_path",
    "data_volumes",
    "edge_bytes",
    "efficiency",
    "error_examples",
    "failure_groups",
    "failures",
    "functions",
    "makespan",
    "makespan_basis",
    "on_critical_path",
    "overhead_summary",
    "parallelism",
    "prepare",
    "status_counts",
    "task_bytes",
    "task_overheads",
    "throughput",
    "total_work",
    "transfer_fit",
    "worker_utilisation",
    "workers",
]


def makespan(trace: Trace | Tasks) -> float | None:
    """Seconds from the first submission to the last result received; for a trace without
    those times, from the first start to the last end, else the makespan its source
    states (``metadata["makespan_s"]``, e.g. a WfFormat instance's); None when unknown."""
    tasks = as_tasks(trace)
    measured = tasks.window.seconds
    if measured is not None:
        return measured
    stated = tasks.metadata.get("makespan_s")
    return float(stated) if isinstance(stated, int | float) else None


def makespan_basis(trace: Trace | Tasks) -> str | None:
    """Where :func:`makespan` comes from: "submitted to received" for a tapstrace trace,
    the time columns it spans otherwise, or "stated by the source"."""
    tasks = as_tasks(trace)
    window = tasks.window
    if window.seconds is not None:
        return f"{window.first} to {window.last}"
    return "stated by the source" if makespan(tasks) is not None else None


def total_work(trace: Trace | Tasks) -> float:
    """Sum of execution times (ended - started) over all attempts, seconds."""
    value = as_tasks(trace).attempts["execution"].sum()
    return float(value or 0.0)


def workers(trace: Trace | Tasks) -> tuple[int | None, str]:
    """Worker slots and where the number comes from: the trace metadata ("metadata", or
    the setting an importer read it from), else the distinct workers seen running tasks
    ("observed")."""
    return as_tasks(trace).slots


def throughput(trace: Trace | Tasks) -> float | None:
    """Tasks completed successfully per second of makespan."""
    tasks = as_tasks(trace)
    span = makespan(tasks)
    if not span:
        return None
    return status_counts(tasks).get("ok", 0) / span


def efficiency(trace: Trace | Tasks) -> float | None:
    """Work / (makespan x workers): the share of the workers' time spent executing."""
    tasks = as_tasks(trace)
    span = makespan(tasks)
    slots, _ = workers(tasks)
    if not span or not slots:
        return None
    return total_work(tasks) / (span * slots)


def parallelism(trace: Trace | Tasks) -> float | None:
    """Work / critical path (execution weighting): the mean number of tasks that could
    run at once on unlimited workers."""
    tasks = as_tasks(trace)
    length = critical_path(tasks).length_s
    if not length:
        return None
    return total_work(tasks) / length


def status_counts(trace: Trace | Tasks) -> dict[str, int]:
    """Tasks by the status of their final attempt."""
    counts = as_tasks(trace).final.group_by("status").len().sort("status")
    return dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True))


def failures(trace: Trace | Tasks) -> dict[str, object]:
    """Failed attempts (retried or final), retried tasks, and errors by type."""
    attempts = as_tasks(trace).attempts
    failed = attempts.filter(pl.col("status") != "ok")
    errors = failed.group_by("error_type").len().sort("len", "error_type", descending=True)
    return {
        "failed_attempts": failed.filter(pl.col("status") == "failed").height,
        "retried_tasks": attempts.filter(pl.col("attempt") > 1)["task_id"].n_unique(),
        "errors": {
            str(k): int(v)
            for k, v in zip(errors["error_type"].to_list(), errors["len"].to_list(), strict=True)
        },
    }


def functions(trace: Trace | Tasks) -> pl.DataFrame:
    """One row per function name: tasks, attempts, tasks ok, work and mean execution
    (seconds), and the median of each overhead component (seconds)."""
    tasks = as_tasks(trace)
    counts = (
        tasks.attempts.group_by("name")
        .agg(
            pl.col("task_id").n_unique().alias("tasks"),
            pl.len().alias("attempts"),
            (pl.col("is_final") & (pl.col("status") == "ok")).sum().alias("ok"),
            pl.col("execution").sum().alias("work_s"),
            pl.col("execution").mean().alias("mean_execution_s"),
        )
        .sort("name")
    )
    medians = (
        overhead_summary(tasks, by="name")
        .pivot("component", index="name", values="median_s")
        .rename(lambda c: c if c == "name" else f"{c}_median_s")
    )
    return counts.join(medians, on="name", how="left")


def failure_groups(trace: Trace | Tasks) -> pl.DataFrame:
    """Attempts that did not succeed, by status, error type and function: attempts, tasks,
    whether the task finally succeeded (retried), and the first error message."""
    attempts = as_tasks(trace).attempts
    recovered = (
        attempts.filter(pl.col("is_final") & (pl.col("status") == "ok"))
        .select("task_id")
        .with_columns(pl.lit(True).alias("recovered"))
    )
    failed = attempts.filter(pl.col("status") != "ok").join(recovered, on="task_id", how="left")
    return (
        failed.group_by("status", "error_type", "name")
        .agg(
            pl.len().alias("attempts"),
            pl.col("task_id").n_unique().alias("tasks"),
            pl.col("recovered").fill_null(False).sum().alias("retried_ok"),
            pl.col("error_message").drop_nulls().first().alias("first_message"),
        )
        .sort("attempts", "status", "error_type", "name", descending=[True, False, False, False])
    )


def error_examples(trace: Trace | Tasks, most: int = 10) -> pl.DataFrame:
    """The first ``most`` attempts that did not succeed, by time: task, attempt,
    function, status, error type and message, worker and when (seconds)."""
    attempts = as_tasks(trace).attempts
    when = pl.coalesce("received", "ended", "started", "dispatched", "submitted")
    return (
        attempts.filter(pl.col("status") != "ok")
        .with_columns(when.alias("at"))
        .sort("at", nulls_last=True)
        .head(most)
        .select(*EXAMPLE_COLUMNS)
    )


EXAMPLE_COLUMNS = ("task_id", "attempt", "name", "status", "error_type", "error_message",
                   "worker", "at")  # fmt: skip
