"""Data movement: bytes per task, along dependencies and out of band, and its cost.

The cost of moving inputs is estimated from the launch latency (started - dispatched)
of completed attempts against their input bytes, by least squares:
``launch = latency + input_bytes / bandwidth``. Launch time also holds any wait for a free
worker, so the fit is sound on runs with no backlog; :class:`TransferFit` says when it
is not meaningful at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from tapstrace.analysis.graph import task_dag
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

#: Fewest distinct input sizes for which a slope says anything.
MIN_DISTINCT_SIZES = 3
#: Below this share of explained variance the fit is reported but called meaningless.
MIN_R2 = 0.1


def task_bytes(trace: Trace | Tasks) -> pl.DataFrame:
    """Bytes of each task's final attempt: input, output, out of band, and from parents.

    ``from_parents``: the sum of its parents' output bytes, i.e. what its dependencies
    carried to it (null when a parent's output size is unknown).
    """
    tasks = as_tasks(trace)
    final = tasks.final
    dag = task_dag(tasks)
    output = final["output_bytes"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    incoming = np.bincount(dag.target, weights=output[dag.source], minlength=final.height)
    return final.select(
        "task_id",
        "name",
        "input_bytes",
        "output_bytes",
        "oob_bytes",
        pl.Series("from_parents", incoming, nan_to_null=True),
    )


def edge_bytes(trace: Trace | Tasks) -> pl.DataFrame:
    """One row per dependency: parent and child task ids and the parent's output bytes."""
    tasks = as_tasks(trace)
    dag = task_dag(tasks)
    ids = tasks.final["task_id"].to_numpy()
    return pl.DataFrame(
        {
            "parent": ids[dag.source],
            "child": ids[dag.target],
            "bytes": tasks.final["output_bytes"].gather(dag.source),
        }
    )


def data_volumes(trace: Trace | Tasks) -> dict[str, Any]:
    """Totals over all attempts (each moved its data) and along dependencies, in bytes.

    ``*_known``: attempts whose size was recorded; ``edge_bytes``: the sum over
    dependencies of the parent's output (data that flowed from task to task).
    """
    tasks = as_tasks(trace)
    sums = tasks.attempts.select(
        *(pl.col(c).sum().alias(c) for c in ("input_bytes", "output_bytes", "oob_bytes")),
        *(
            pl.col(c).is_not_null().sum().alias(f"{c}_known")
            for c in ("input_bytes", "output_bytes", "oob_bytes")
        ),
    ).row(0, named=True)
    edges = task_bytes(tasks)["from_parents"]
    dag = task_dag(tasks)
    return {
        **{k: int(v) for k, v in sums.items()},
        "edges": dag.edges,
        "edge_bytes": int(edges.sum()) if dag.edges else 0,
        "dangling_parents": dag.dangling,
    }


@dataclass(frozen=True)
class TransferFit:
    """``launch_s = latency_s + input_bytes / bandwidth_bytes_per_s`` fitted by least squares.

    Attributes:
        latency_s: intercept, seconds (launch time of an empty input).
        bandwidth_bytes_per_s: 1 / slope (None when the slope is not positive).
        seconds_per_byte: the slope.
        r2: share of the launch-time variance the fit explains.
        points: completed attempts with both launch time and input size.
        distinct_sizes: distinct input sizes among them.
        meaningful: whether the fit says something about transfer cost.
        note: why not, when it does not.
    """

    latency_s: float | None
    bandwidth_bytes_per_s: float | None
    seconds_per_byte: float | None
    r2: float | None
    points: int
    distinct_sizes: int
    meaningful: bool
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def transfer_fit(trace: Trace | Tasks) -> TransferFit:
    """Fit launch latency against input bytes over completed attempts (see module doc)."""
    tasks = as_tasks(trace)
    points = tasks.attempts.filter(
        (pl.col("status") == "ok")
        & pl.col("input_bytes").is_not_null()
        & pl.col("started").is_not_null()
        & pl.col("dispatched").is_not_null()
    ).select(
        pl.col("input_bytes").cast(pl.Float64).alias("x"),
        (pl.col("started") - pl.col("dispatched")).alias("y"),
    )
    n = points.height
    distinct = points["x"].n_unique() if n else 0
    if n < MIN_DISTINCT_SIZES or distinct < MIN_DISTINCT_SIZES:
        why = (
            f"{distinct} distinct input sizes over {n} completed attempts: a fit needs at "
            f"least {MIN_DISTINCT_SIZES}"
        )
        return TransferFit(None, None, None, None, n, distinct, False, why)
    x = points["x"].to_numpy()
    y = points["y"].to_numpy()
    dx = x - x.mean()
    dy = y - y.mean()
    slope = float((dx * dy).sum() / (dx * dx).sum())
    intercept = float(y.mean() - slope * x.mean())
    total = float((dy * dy).sum())
    residual = float(((y - intercept - slope * x) ** 2).sum())
    r2 = 1.0 - residual / total if total > 0 else 0.0
    bandwidth = 1.0 / slope if slope > 0 else None
    note: str | None = None
    if slope <= 0:
        note = "launch time does not grow with input size: bandwidth not measurable"
    elif r2 < MIN_R2:
        note = f"input size explains little of the launch time (r2 = {r2:.3f})"
    return TransferFit(intercept, bandwidth, slope, r2, n, distinct, note is None, note)
