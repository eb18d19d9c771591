"""Compact plot datasets of one trace, bounded in size whatever the number of tasks.

Built while the trace is in memory (``plot_data(tasks)``) and kept after it is dropped.
Small traces keep every task; big ones are aggregated into time bins (Gantt), quantile
points (CDFs), log-size bins and a fixed-size sample (payload): never more than
:data:`MAX_MARKS` rows per dataset, under altair's 5000-row guard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tapstrace.analysis.client import client_segments
from tapstrace.analysis.critical import critical_path
from tapstrace.analysis.metrics import makespan, workers
from tapstrace.analysis.overhead import COMPONENTS, task_overheads
from tapstrace.analysis.tasks import Tasks
from tapstrace.analysis.utilisation import concurrency_binned, runs

#: Most rows handed to one chart layer.
MAX_MARKS = 4000
#: Most Gantt rows: more workers are drawn as groups of workers.
MAX_GANTT_ROWS = 64
#: Most critical-path tasks drawn over an aggregated Gantt (evenly thinned beyond).
MAX_PATH_MARKS = 1000
#: Points per overhead CDF.
CDF_POINTS = 101
#: Tasks sampled for the payload scatter.
PAYLOAD_SAMPLE = 1500
CONCURRENCY_BINS = 400


@dataclass
class TracePlots:
    """Plot datasets of one trace (times: seconds since its first submission).

    Attributes:
        gantt: row, start, end, function (+ task_id, attempt, status and error, or busy:
            share of the bin's worker time when aggregated).
        gantt_aggregated: whether ``gantt`` holds time bins instead of tasks.
        gantt_rows: what a Gantt row is: "worker" or "group of N workers".
        critical: the execution critical path's tasks, as Gantt bars.
        concurrency: start, end, mean_running, peak_running per time bin.
        overheads: component, seconds, fraction: CDF points of each component.
        payload: payload_bytes, round_trip_s of sampled attempts.
        payload_medians: payload_bytes, round_trip_s, attempts per power-of-two size bin.
        failures: attempts that did not succeed and ran on a worker, as Gantt bars with
            their status and error (drawn over an aggregated Gantt too).
        client: the client's lanes (lane, state, start, end: tapstrace.analysis.client).
        client_recorded: whether the trace records the client's control flow.
        makespan: the makespan (s), for time axes shared between traces.
        end: the latest recorded time (s since the trace's origin).
    """

    label: str
    app: str | None
    executor: str | None
    workers: int | None
    tasks: int
    gantt: pl.DataFrame
    gantt_aggregated: bool
    gantt_rows: str
    critical: pl.DataFrame
    concurrency: pl.DataFrame
    overheads: pl.DataFrame
    payload: pl.DataFrame
    payload_medians: pl.DataFrame
    failures: pl.DataFrame
    client: pl.DataFrame
    client_recorded: bool
    makespan: float | None
    end: float | None


def _runs(tasks: Tasks) -> pl.DataFrame:
    """Attempts that ran on a known worker, as Gantt bars."""
    return (
        runs(tasks)
        .filter(pl.col("worker").is_not_null())
        .select(
            "task_id",
            "attempt",
            "is_final",
            "worker",
            "started",
            "ended",
            pl.col("name").alias("function"),
            "status",
            _error().alias("error"),
        )
    )


#: A Gantt bar of one attempt.
BAR_COLUMNS = (
    "row",
    pl.col("started").alias("start"),
    pl.col("ended").alias("end"),
    "function",
    "task_id",
    "attempt",
    "status",
    "error",
)


def _error() -> pl.Expr:
    """The error of an attempt as one short line for tooltips ("" when it succeeded)."""
    message = pl.col("error_message").fill_null("").str.split("\n").list.first().str.slice(0, 200)
    kind = pl.col("error_type").fill_null("")
    return (
        pl.when(pl.col("status") == "ok")
        .then(pl.lit(""))
        .otherwise(
            pl.concat_str(
                kind, pl.when(message != "").then(pl.lit(": ") + message).otherwise(pl.lit(""))
            )
        )
    )


def _rows(bars: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Each run's Gantt row (its worker, or a group of workers) and the row's size."""
    names = bars["worker"].unique().sort()
    if names.len() <= MAX_GANTT_ROWS:
        return bars.with_columns(pl.col("worker").alias("row"), pl.lit(1).alias("size")), "worker"
    per = -(-names.len() // MAX_GANTT_ROWS)  # ceiling division
    groups = pl.DataFrame({"worker": names, "rank": np.arange(names.len())}).with_columns(
        (pl.col("rank") // per).alias("group")
    )
    labels = groups.group_by("group").agg(
        pl.col("worker").first().alias("first"), pl.len().alias("size")
    )
    groups = groups.join(labels, on="group").with_columns(
        pl.format("{} (+{})", "first", pl.col("size") - 1).alias("row")
    )
    return bars.join(groups.select("worker", "row", "size"), on="worker"), f"group of {per} workers"


def _aggregate(bars: pl.DataFrame, start: float, end: float, rows: int) -> pl.DataFrame:
    """Per row and time bin: the function that ran longest and the busy share."""
    bins = int(np.clip(MAX_MARKS // max(rows, 1), 10, 300))
    width = (end - start) / bins or 1.0
    first = ((pl.col("started") - start) / width).floor().cast(pl.Int64).clip(0, bins - 1)
    last = ((pl.col("ended") - start) / width).floor().cast(pl.Int64).clip(0, bins - 1)
    edge = pl.col("bin").cast(pl.Float64) * width + start
    return (
        bars.lazy()
        .with_columns(pl.int_ranges(first, last + 1).alias("bin"))
        .explode("bin")
        .with_columns(
            (pl.min_horizontal("ended", edge + width) - pl.max_horizontal("started", edge)).alias(
                "overlap"
            )
        )
        .group_by("row", "size", "bin", "function")
        .agg(pl.col("overlap").sum())
        .group_by("row", "bin")
        .agg(
            pl.col("function").sort_by("overlap", descending=True).first(),
            (pl.col("overlap").sum() / (width * pl.col("size").first())).alias("busy"),
        )
        .select("row", edge.alias("start"), (edge + width).alias("end"), "function", "busy")
        .sort("row", "start")
        .collect()
    )


def _cdf(tasks: Tasks) -> pl.DataFrame:
    over = task_overheads(tasks)
    fractions = np.linspace(0.0, 1.0, CDF_POINTS)
    frames = []
    for component in COMPONENTS:
        values = over[component].drop_nulls().to_numpy()
        if values.size == 0:
            continue
        points = np.quantile(values, fractions)
        frames.append(
            pl.DataFrame({"component": component, "seconds": points, "fraction": fractions})
        )
    if not frames:
        return pl.DataFrame(
            schema={"component": pl.String, "seconds": pl.Float64, "fraction": pl.Float64}
        )
    return pl.concat(frames)


def _payload(tasks: Tasks) -> tuple[pl.DataFrame, pl.DataFrame]:
    points = tasks.attempts.filter(
        pl.col("input_bytes").is_not_null()
        & pl.col("output_bytes").is_not_null()
        & pl.col("received").is_not_null()
        & pl.col("dispatched").is_not_null()
        & (pl.col("status") == "ok")
    ).select(
        (pl.col("input_bytes") + pl.col("output_bytes")).alias("payload_bytes"),
        (pl.col("received") - pl.col("dispatched")).alias("round_trip_s"),
    )
    sample = points.sample(min(PAYLOAD_SAMPLE, points.height), seed=0) if points.height else points
    medians = (
        points.group_by((pl.col("payload_bytes") + 1).log(2).floor().alias("bin"))
        .agg(
            pl.col("payload_bytes").median(),
            pl.col("round_trip_s").median(),
            pl.len().alias("attempts"),
        )
        .sort("bin")
        .drop("bin")
    )
    return sample, medians


def _thin(frame: pl.DataFrame, most: int) -> pl.DataFrame:
    """Evenly spaced rows, at most ``most`` of them."""
    if frame.height <= most:
        return frame
    return frame[np.linspace(0, frame.height - 1, most).round().astype(np.int64)]


def plot_data(tasks: Tasks) -> TracePlots:
    """The plot datasets of one prepared trace."""
    bars, rows_are = _rows(_runs(tasks))
    window = tasks.window
    aggregated = bars.height > MAX_MARKS
    if aggregated and window.start is not None and window.end is not None:
        gantt = _aggregate(bars, window.start, window.end, bars["row"].n_unique())
    else:
        gantt = bars.select(*BAR_COLUMNS)
    failures = bars.filter(pl.col("status") != "ok").select(*BAR_COLUMNS)
    path = critical_path(tasks).task_ids
    critical = (
        bars.filter(pl.col("is_final") & pl.col("task_id").is_in(path))
        .sort("started")
        .select(
            "row",
            pl.col("started").alias("start"),
            pl.col("ended").alias("end"),
            "function",
            "task_id",
        )
    )
    payload, medians = _payload(tasks)
    return TracePlots(
        label=tasks.label,
        app=tasks.app,
        executor=tasks.executor,
        workers=workers(tasks)[0],
        tasks=tasks.final.height,
        gantt=gantt,
        gantt_aggregated=aggregated,
        gantt_rows=rows_are,
        critical=_thin(critical, MAX_PATH_MARKS),
        concurrency=concurrency_binned(tasks, CONCURRENCY_BINS),
        overheads=_cdf(tasks),
        payload=payload,
        payload_medians=medians,
        failures=_thin(failures, MAX_MARKS),
        client=client_segments(tasks) if tasks.timeline else client_segments(tasks).clear(),
        client_recorded=tasks.client_recorded,
        makespan=makespan(tasks),
        end=window.end,
    )
