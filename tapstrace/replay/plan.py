"""Planning a replay: the synthetic task graph a trace describes, in submission order.

One planned task per source task (its final attempt; warm-up tasks are planned apart).
Its duration is the recorded execution time (ended - started) x time-scale, its output
the recorded output bytes x data-scale, its external input the recorded input bytes not
delivered by its parents (input - sum of the parents' outputs, at least 0; or the exact
figure an importer states in the metadata's ``external_input_bytes``) x data-scale.
Tasks are ordered by source submission time (then task id), moved later only where a
parent comes after them, so the order is the source's wherever the DAG allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from tapstrace.errors import TraceError
from tapstrace.formats.dag import topological_order
from tapstrace.formats.frame import final_attempts
from tapstrace.trace.reader import Trace

Failures = Literal["replay", "skip", "succeed"]
_FAILED = ("failed", "cancelled")
_DID_NOT_RUN = ("dependency-failed",)


@dataclass
class Plan:
    """The replay as columns, one entry per task, in submission order.

    ``parents`` holds positions in this plan (always earlier ones); ``children`` counts
    each task's children, so the submitter can drop a future once its last child is in.
    """

    names: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    externals: list[int] = field(default_factory=list)
    failures: list[str | None] = field(default_factory=list)
    parents: list[list[int]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    #: The source's warm-up tasks as (source id, name, duration): replayed first, apart.
    warmup: list[tuple[str, str, float]] = field(default_factory=list)
    #: Source tasks left out (--failures skip, --limit).
    skipped: int = 0
    #: Makespan of the planned tasks in the source (first submitted -> last result),
    #: or the makespan the source states when it has no client times (WfFormat).
    source_makespan: float | None = None

    def __len__(self) -> int:
        return len(self.names)


def _seconds(column: str) -> pl.Expr:
    return (pl.col(column).dt.epoch("us") / 1e6).alias(column)


def _failure_text(error_type: str | None, message: str | None, status: str) -> str:
    if error_type:
        return f"{error_type}: {message}" if message else error_type
    return f"the source task ended {status}"


def build_plan(
    trace: Trace,
    *,
    time_scale: float = 1.0,
    data_scale: float = 1.0,
    limit: int | None = None,
    failures: Failures = "replay",
) -> Plan:
    """The replay plan of ``trace``; problems (a missing or negative duration, a
    dangling parent, a cycle) raise a TraceError naming the trace file."""
    where: Path | str = trace.path or "trace"
    tasks = trace.tasks
    warm = final_attempts(tasks.filter(pl.col("warmup")))
    rows = final_attempts(tasks.filter(~pl.col("warmup")))
    rows = rows.with_columns(
        ((pl.col("ended") - pl.col("started")).dt.total_microseconds() / 1e6).alias("duration"),
        _seconds("submitted"),
        _seconds("received"),
        _seconds("ended").alias("ended_s"),
    ).sort("submitted", "task_id", nulls_last=True)
    task_ids: list[int] = rows["task_id"].to_list()
    status: list[str] = rows["status"].to_list()
    duration: list[float | None] = rows["duration"].to_list()
    sources = [
        s if s is not None else str(t)
        for s, t in zip(rows["source_id"].to_list(), task_ids, strict=True)
    ]
    position = {t: i for i, t in enumerate(task_ids)}
    parents: list[list[int]] = []
    for task, names in zip(sources, rows["parents"].to_list(), strict=True):
        row = []
        for p in names:
            if p not in position:
                raise TraceError(
                    f"{where}: task {task} names parent {p}, which is not in the trace"
                )
            if position[p] not in row:
                row.append(position[p])
        parents.append(row)
    order = topological_order(where, sources, parents)
    dropped = [False] * len(task_ids)
    selected: list[int] = []
    for i in order:
        if failures == "skip" and (
            status[i] in _FAILED + _DID_NOT_RUN or any(dropped[p] for p in parents[i])
        ):
            dropped[i] = True
            continue
        if limit is not None and len(selected) >= limit:
            dropped[i] = True
            continue
        d = duration[i]
        if d is not None and d < 0:
            raise TraceError(f"{where}: task {sources[i]} ends before it starts")
        if d is None and status[i] == "ok":
            raise TraceError(f"{where}: task {sources[i]} has no recorded execution time")
        selected.append(i)
    plan = Plan(skipped=len(task_ids) - len(selected))
    in_plan = {i: k for k, i in enumerate(selected)}
    inputs = rows["input_bytes"].to_list()
    outputs = rows["output_bytes"].to_list()
    names = rows["name"].to_list()
    error_types = rows["error_type"].to_list()
    messages = rows["error_message"].to_list()
    plan.children = [0] * len(selected)
    exact = trace.metadata.get("external_input_bytes") or {}
    for i in selected:
        ps = [in_plan[p] for p in parents[i]]
        for p in ps:
            plan.children[p] += 1
        delivered = sum(outputs[p] or 0 for p in parents[i])
        external = exact.get(sources[i], max(0, (inputs[i] or 0) - delivered))
        failure = None
        if status[i] in _FAILED and failures == "replay":
            failure = _failure_text(error_types[i], messages[i], status[i])
        plan.names.append(names[i])
        plan.source_ids.append(sources[i])
        plan.durations.append((duration[i] or 0.0) * time_scale)
        plan.outputs.append(round((outputs[i] or 0) * data_scale) if failure is None else 0)
        plan.externals.append(round(external * data_scale))
        plan.failures.append(failure)
        plan.parents.append(ps)
    warm = warm.sort("submitted", "task_id", nulls_last=True).with_columns(
        ((pl.col("ended") - pl.col("started")).dt.total_microseconds() / 1e6).alias("duration")
    )
    plan.warmup = [
        (s if s is not None else str(t), name, max(0.0, d or 0.0) * time_scale)
        for t, s, name, d in warm.select("task_id", "source_id", "name", "duration").iter_rows()
    ]
    plan.source_makespan = _makespan(trace, rows, selected, plan.skipped == 0)
    return plan


def _makespan(trace: Trace, rows: pl.DataFrame, selected: list[int], whole: bool) -> float | None:
    """First submitted -> last result (or end) over the selected source tasks."""
    submitted = rows["submitted"].to_list()
    finished: list[float | None] = [
        max(known) if (known := [v for v in pair if v is not None]) else None
        for pair in zip(rows["received"].to_list(), rows["ended_s"].to_list(), strict=True)
    ]
    starts = [submitted[i] for i in selected if submitted[i] is not None]
    ends = [end for i in selected if (end := finished[i]) is not None]
    if starts and ends:
        return max(ends) - min(starts)
    stated = trace.metadata.get("makespan_s")
    return float(stated) if whole and isinstance(stated, int | float) else None
