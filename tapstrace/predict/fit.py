"""Fitting an executor model from traces: calibration runs, or any traces of the executor.

Each parameter is read off the tasks where nothing else explains the time it measures:

- launch: dispatch -> start of tasks whose worker was idle when they were dispatched
  (for executors that resolve dependencies themselves, tasks without parents);
- handoff (those executors): the last parent's end -> start, worker idle by then;
- engine (the others): the last parent's result -> the child's dispatch;
- after: handoff (or engine) by the duration of the parent that ended last, in bins
  at the quartiles of those durations, where the parents' durations spread (a
  calibration chain of spread durations; a chain of equal tasks gives none);
- gap: a worker's end -> its next start, when that next task was already waiting
  (noop_gap: after a task that did no work);
- result: end -> received, every task;
- submit: the time between consecutive submissions of a burst (a calibration bag, or
  the shorter half of a trace's submission gaps);
- service: the densest pace of starts (in a calibration no-op bag, its steady pace);
  work_service: the steady pace of a calibration bag of short tasks that do work;
- startup: each worker's first start after the first submission, less a launch;
- per-byte costs: least-squares slopes of launch/handoff on input bytes (per worker
  count), of result on output bytes (and of the execution overrun on output bytes, in
  calibration runs);
- slot costs (executors whose plugin declares ``inputs_at_slot``): least squares of the
  gap before a waiting task on its input bytes and the previous task's output bytes
  (the calibration's ``queued`` bag): what moving data costs once the slot is free.

Calibration traces say in their metadata which workload they hold (``USES`` below says
what each one measures) and how long each task was asked to run, which gives the
execution overrun and, from the start-up probe, whether workers start on demand
(docs/predict.md).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from tapstrace.errors import TraceError
from tapstrace.formats.frame import final_attempts
from tapstrace.predict.kinds import measure_kind_costs
from tapstrace.predict.model import Distribution, ExecutorModel, Placement, WorkerFit
from tapstrace.trace.reader import Trace
from tapstrace.version import __version__

#: Fewest input-byte spread (bytes) for a per-byte slope to be fitted.
_MIN_SPREAD = 50_000


@dataclass
class Samples:
    """Measurements from the traces of one worker count, in seconds."""

    submit: list[np.ndarray] = field(default_factory=list)
    launch: list[np.ndarray] = field(default_factory=list)
    handoff: list[np.ndarray] = field(default_factory=list)
    engine: list[np.ndarray] = field(default_factory=list)
    #: Beside each sample of handoff and engine: the duration of the parent that ended
    #: last (NaN where unknown).
    handoff_after: list[np.ndarray] = field(default_factory=list)
    engine_after: list[np.ndarray] = field(default_factory=list)
    gap: list[np.ndarray] = field(default_factory=list)
    noop_gap: list[np.ndarray] = field(default_factory=list)
    result: list[np.ndarray] = field(default_factory=list)
    service: list[float] = field(default_factory=list)
    work_service: list[float] = field(default_factory=list)
    #: The short bag's gaps on a worker between tasks (long where they waited for the
    #: scheduler, rather than the scheduler for them).
    short_gap: list[np.ndarray] = field(default_factory=list)
    #: Gaps before a waiting task, with its input bytes and the slot's previous task's
    #: output bytes beside them (the slot costs).
    slot_gap: list[np.ndarray] = field(default_factory=list)
    slot_in: list[np.ndarray] = field(default_factory=list)
    slot_out: list[np.ndarray] = field(default_factory=list)
    startup: list[list[float]] = field(default_factory=list)
    execution: list[np.ndarray] = field(default_factory=list)
    #: Cold probes: (alone, others) = a lone worker's start-up, and the start-ups of the
    #: others when started together afterwards (seconds, less a launch).
    cold: list[tuple[float, list[float]]] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    #: Bytes beside each sample of launch, handoff, result and execution (input bytes
    #: for the first two, output bytes for the others), for the per-byte costs.
    launch_bytes: list[np.ndarray] = field(default_factory=list)
    handoff_bytes: list[np.ndarray] = field(default_factory=list)
    result_bytes: list[np.ndarray] = field(default_factory=list)
    execution_bytes: list[np.ndarray] = field(default_factory=list)
    #: Which of those samples make the distributions (the others, from payload runs,
    #: only give the per-byte costs).
    launch_base: list[bool] = field(default_factory=list)
    handoff_base: list[bool] = field(default_factory=list)
    result_base: list[bool] = field(default_factory=list)
    execution_base: list[bool] = field(default_factory=list)

    def add(self, name: str, values: np.ndarray, size: np.ndarray, base: bool) -> None:
        """Samples of ``name`` with their bytes; ``base``: part of its distribution."""
        getattr(self, name).append(values)
        getattr(self, f"{name}_bytes").append(size)
        getattr(self, f"{name}_base").append(base)


def _pairs(
    rows: pl.DataFrame, value: pl.Expr, size: str, missing: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Values (seconds) and the column ``size`` beside them (bytes; ``missing`` where
    null), rows with a value only."""
    frame = rows.select(
        value.cast(pl.Float64).alias("v"),
        pl.col(size).cast(pl.Float64).fill_null(missing).alias("b"),
    ).filter(pl.col("v").is_not_null() & pl.col("v").is_finite())
    return frame["v"].to_numpy(), frame["b"].to_numpy()


def _seconds(column: str) -> pl.Expr:
    return (pl.col(column).dt.epoch("us") / 1e6).alias(column)


def _tasks(trace: Trace) -> pl.DataFrame:
    """Final, non-warm-up, successful attempts with times as float seconds and the
    latest parent's end and result."""
    where = trace.path or "trace"
    rows = final_attempts(trace.tasks.filter(~pl.col("warmup")))
    times = ("submitted", "ready", "dispatched", "started", "ended", "received")
    rows = rows.with_columns(*(_seconds(c) for c in times)).filter(
        (pl.col("status") == "ok") & pl.col("started").is_not_null() & pl.col("ended").is_not_null()
    )
    if rows.height == 0:
        raise TraceError(f"{where}: no completed task with start and end times to fit from")
    edges = rows.select(pl.col("task_id").alias("child"), pl.col("parents")).explode("parents")
    edges = edges.drop_nulls("parents").join(
        rows.select(
            pl.col("task_id").alias("parents"),
            pl.col("ended").alias("parent_ended"),
            pl.col("received").alias("parent_received"),
            (pl.col("ended") - pl.col("started")).alias("parent_duration"),
        ),
        on="parents",
        how="inner",
    )
    latest = edges.group_by("child").agg(
        pl.col("parent_ended").max().alias("parents_ended"),
        pl.col("parent_received").max().alias("parents_received"),
        # How long the parent that ended last ran.
        pl.col("parent_duration").sort_by("parent_ended").last().alias("parent_duration"),
    )
    rows = rows.join(latest, left_on="task_id", right_on="child", how="left")
    worker = pl.coalesce(
        pl.col("worker_id"),
        pl.concat_str(pl.col("worker_host"), pl.lit(":"), pl.col("worker_pid").cast(pl.String)),
        pl.lit("?"),
    )
    return rows.with_columns(worker.alias("worker")).sort("worker", "started")


def native_dependencies(tasks: pl.DataFrame) -> bool | None:
    """Whether the executor took tasks before their parents were done (Dask, Ray,
    Parsl): most tasks with parents were dispatched before their parents' results.
    None when no task has a parent to tell."""
    child = tasks.filter(
        pl.col("parents_received").is_not_null() & pl.col("dispatched").is_not_null()
    )
    if child.height == 0:
        return None
    early = child.filter(pl.col("dispatched") < pl.col("parents_received")).height
    return early * 2 > child.height


def _array(frame: pl.DataFrame, expr: pl.Expr) -> np.ndarray:
    values = frame.select(expr.cast(pl.Float64)).to_series().drop_nulls().to_numpy()
    return values[np.isfinite(values)]


def _pace(starts: np.ndarray, window: int) -> float | None:
    """The densest pace of starts: the shortest time for ``window`` consecutive starts,
    per start (None with too few starts)."""
    if starts.size <= window:
        return None
    s = np.sort(starts)
    return float(np.min(s[window:] - s[:-window]) / window)


def _steady_pace(starts: np.ndarray) -> float | None:
    """The pace of the middle 80 % of starts (a bag: the scheduler's steady pace)."""
    if starts.size < 10:
        return None
    s = np.sort(starts)
    lo, hi = int(0.1 * s.size), int(0.9 * s.size)
    return float((s[hi] - s[lo]) / (hi - lo))


#: Which calibration workloads measure each parameter (a trace that is not a
#: calibration run measures everything it can).
USES = {
    "submit": ("noop",),
    "service": ("noop",),
    "work_service": ("short",),
    "launch": ("single", "chain", "payload"),
    "handoff": ("chain", "payload"),
    "engine": ("chain", "payload"),
    "gap": ("busy",),
    "noop_gap": ("noop",),
    "result": ("single", "chain", "payload"),
    "startup": ("startup",),
    # Not the start-up probe's tasks: workers starting up load the machine meanwhile.
    "execution": ("busy", "chain", "payload"),
}


def measure(trace: Trace, samples: Samples, native: bool, requested: dict[str, float]) -> None:
    """Add what ``trace`` shows to ``samples`` (those of its worker count)."""
    tasks = _tasks(trace)
    calibration = trace.metadata.get("calibration") or {}
    workload = calibration.get("workload")

    def uses(what: str) -> bool:
        return workload is None or workload in USES[what]

    # Payload runs move data across workers on purpose: they give the per-byte costs,
    # not the latencies of ordinary tasks.
    base = workload != "payload"

    prev_end = pl.col("ended").shift(1).over("worker")
    if native:
        runnable = pl.max_horizontal(pl.col("dispatched"), pl.col("parents_ended"))
    else:
        runnable = pl.col("dispatched")
    tasks = tasks.with_columns(prev_end.alias("prev_end"), runnable.alias("runnable"))
    # An idle worker (and not its first task, which may wait for the worker to start).
    idle = pl.col("prev_end").is_not_null() & (pl.col("prev_end") <= pl.col("runnable"))
    if uses("launch"):
        roots = pl.col("parents_ended").is_null() if native else pl.lit(True)
        rows = tasks.filter(idle & roots)
        launch, size = _pairs(rows, pl.col("started") - pl.col("dispatched"), "input_bytes")
        samples.add("launch", launch, size, base)
    if native and uses("handoff"):
        rows = tasks.filter(
            idle
            & pl.col("parents_ended").is_not_null()
            & (pl.col("parents_ended") >= pl.col("dispatched"))
        )
        handoff, size = _pairs(rows, pl.col("started") - pl.col("parents_ended"), "input_bytes")
        samples.add("handoff", handoff, size, base)
        samples.handoff_after.append(_pairs(rows, pl.col("started") - pl.col("parents_ended"),
                                            "parent_duration", missing=math.nan)[1])  # fmt: skip
    if not native and uses("engine"):
        engine, after = _pairs(
            tasks, pl.col("ready") - pl.col("parents_received"), "parent_duration", missing=math.nan
        )
        samples.engine.append(engine)
        # The bins by parent duration come from the chain, not the payload fan-ins.
        samples.engine_after.append(after if base else np.full(after.size, math.nan))
    backlog = tasks.with_columns(
        (pl.col("ended") - pl.col("started")).shift(1).over("worker").alias("prev_exec"),
        pl.col("output_bytes").shift(1).over("worker").alias("prev_out"),
    ).filter(pl.col("prev_end").is_not_null() & (pl.col("runnable") < pl.col("prev_end")))
    gap = pl.col("started") - pl.col("prev_end")
    # Outside calibration runs, a task that ran under 0.5 ms counts as a no-op.
    noop = pl.col("prev_exec") < 0.0005
    if uses("gap"):
        samples.gap.append(_array(backlog.filter(~noop if workload is None else pl.lit(True)), gap))
    if uses("noop_gap"):
        samples.noop_gap.append(
            _array(backlog.filter(noop if workload is None else pl.lit(True)), gap)
        )
    if workload == "short":
        samples.short_gap.append(_array(backlog, gap))
    # Only the queued calibration: in other traces, and on executors that move inputs
    # while a task waits, the gaps' growth with bytes is not what moving them costs.
    if native and workload == "queued":
        rows = backlog.select(
            gap.cast(pl.Float64).alias("gap"),
            pl.col("input_bytes").cast(pl.Float64).fill_null(0.0),
            pl.col("prev_out").cast(pl.Float64).fill_null(0.0),
        ).filter(pl.col("gap").is_finite())
        samples.slot_gap.append(rows["gap"].to_numpy())
        samples.slot_in.append(rows["input_bytes"].to_numpy())
        samples.slot_out.append(rows["prev_out"].to_numpy())
    if uses("result"):
        result, size = _pairs(tasks, pl.col("received") - pl.col("ended"), "output_bytes")
        samples.add("result", result, size, base)
    if requested and uses("execution"):
        sleeping = [name for name, seconds in requested.items() if seconds > 0]
        # Tasks asked to run other than their name's duration (the calibration chain's
        # spread durations), by source id; the others by name.
        own = {str(k): float(v) for k, v in (calibration.get("asked") or {}).items()}
        by_name = pl.col("name").replace_strict(
            {k: requested[k] for k in sleeping}, default=None, return_dtype=pl.Float64
        )
        by_source = pl.col("source_id").replace_strict(
            own or {"": 0.0}, default=None, return_dtype=pl.Float64
        )
        asked = pl.coalesce(by_source, by_name) if own else by_name
        known = tasks.with_columns(asked.alias("asked")).filter(
            pl.col("asked").is_not_null() & (pl.col("asked") > 0)
        )
        extra, size = _pairs(
            known, pl.col("ended") - pl.col("started") - pl.col("asked"), "output_bytes"
        )
        samples.add("execution", extra, size, base)
    diffs = np.diff(np.sort(_array(tasks, pl.col("submitted"))))
    starts = _array(tasks, pl.col("started"))
    if workload is None:
        if diffs.size:
            samples.submit.append(diffs[diffs <= np.median(diffs)])
        pace = _pace(starts, min(100, max(10, starts.size // 4)))
        if pace is not None:
            samples.service.append(pace)
        _startup(tasks, samples)
    if workload in ("noop", "short"):
        pace = _steady_pace(starts)
        if pace is not None:
            (samples.service if workload == "noop" else samples.work_service).append(pace)
    if workload == "noop":
        samples.submit.append(diffs)
    if workload == "startup":
        _cold_startup(tasks, samples)
    load = calibration.get("load")
    if isinstance(load, int | float):
        samples.loads.append(float(load))


def _startup(tasks: pl.DataFrame, samples: Samples) -> None:
    first = tasks.select(pl.col("submitted").min()).item()
    starts = tasks.group_by("worker").agg(pl.col("started").min())["started"].to_numpy()
    if first is not None and starts.size:
        samples.startup.append(sorted(float(v) for v in starts - first))


def _cold_startup(tasks: pl.DataFrame, samples: Samples) -> None:
    """A calibration start-up probe: one task alone on the fresh executor
    (``calibrate_cold``), then a bag that keeps every worker busy."""
    cold = tasks.filter(pl.col("name") == "calibrate_cold")
    bag = tasks.filter(pl.col("name") != "calibrate_cold")
    if cold.height != 1 or bag.height == 0:
        _startup(tasks, samples)
        return
    t0: float = cold["submitted"].item(0)
    alone: float = cold["started"].item(0) - t0
    t_bag: float = bag["submitted"].min()  # type: ignore[assignment]
    first = tasks.group_by("worker").agg(pl.col("started").min())
    samples.startup.append(sorted(float(v) - t0 for v in first["started"]))
    others = first.filter(pl.col("worker") != cold["worker"][0])["started"].to_numpy()
    samples.cold.append((alone, sorted(float(v) - t_bag for v in others)))


def _slope(x: list[np.ndarray], y: list[np.ndarray]) -> float:
    """Least-squares slope of y on x (with an intercept), at least 0; 0 without spread."""
    if not x:
        return 0.0
    xs, ys = np.concatenate(x), np.concatenate(y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[ok], ys[ok]
    if xs.size < 3 or np.ptp(xs) < _MIN_SPREAD:
        return 0.0
    slope = np.polyfit(xs, ys, 1)[0]
    return max(0.0, float(slope))


def _slot_slopes(s: Samples) -> tuple[float, float]:
    """Seconds per byte of a waiting task's inputs and of its slot's previous output
    that the gap between them grows by: least squares with an intercept, a regressor
    without spread left out, one whose slope comes out negative left out and the rest
    fitted again (0 for those left out)."""
    y = _join(s.slot_gap)
    x = np.column_stack([_join(s.slot_in), _join(s.slot_out)])
    use = [j for j in range(2) if y.size >= 5 and np.ptp(x[:, j]) >= _MIN_SPREAD]
    slopes = [0.0, 0.0]
    while use:
        design = np.column_stack([np.ones(y.size), x[:, use]])
        coef = np.linalg.lstsq(design, y, rcond=None)[0][1:]
        if (coef >= 0).all():
            for j, c in zip(use, coef, strict=True):
                slopes[j] = float(c)
            break
        use = [j for j, c in zip(use, coef, strict=True) if c >= 0]
    return slopes[0], slopes[1]


def _join(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _workers(trace: Trace) -> int:
    declared = trace.metadata.get("workers")
    if isinstance(declared, int) and declared > 0:
        return declared
    seen = trace.tasks["worker_id"].drop_nulls().n_unique()
    if not seen:
        raise TraceError(f"{trace.path or 'trace'}: no worker count in the metadata or the tasks")
    return int(seen)


def fit_model(
    traces: Iterable[Trace],
    *,
    executor: str | None = None,
    params: dict[str, Any] | None = None,
    native: bool | None = None,
    placement: Placement | None = None,
    source: dict[str, Any] | None = None,
) -> ExecutorModel:
    """An executor model fitted from ``traces`` (all of one executor), one WorkerFit per
    worker count they cover. ``native`` overrides what the traces suggest; ``placement``
    defaults to what the executor's plugin declares (``fifo`` for one not installed)."""
    traces = list(traces)
    if not traces:
        raise TraceError("no traces to fit a model from")
    names = {t.executor for t in traces if t.executor}
    if executor is None:
        if len(names) > 1:
            raise TraceError(
                f"the traces come from several executors ({', '.join(sorted(names))}); "
                "fit one model per executor"
            )
        executor = names.pop() if names else "unknown"
    if native is None:
        votes = [v for t in traces if (v := native_dependencies(_tasks(t))) is not None]
        native = sum(votes) * 2 > len(votes) if votes else False
    by_workers: dict[int, Samples] = defaultdict(Samples)
    for trace in traces:
        calibration = trace.metadata.get("calibration") or {}
        requested = {str(k): float(v) for k, v in (calibration.get("durations") or {}).items()}
        measure(trace, by_workers[_workers(trace)], native, requested)
    groups = list(by_workers.values())

    def slope(values: str) -> float:
        return _slope(
            [b for g in groups for b in getattr(g, f"{values}_bytes")],
            [v for g in groups for v in getattr(g, values)],
        )

    slopes = {"result": slope("result"), "execution": slope("execution")}
    fits = [_worker_fit(w, s, slopes, native) for w, s in sorted(by_workers.items())]
    first = traces[0]
    recorded = first.metadata.get("executor") or {}
    return ExecutorModel(
        executor=executor,
        params=params if params is not None else dict(recorded.get("params") or {}),
        native_dependencies=native,
        on_demand=_on_demand(list(by_workers.values())),
        placement=placement or _placement(executor),
        seconds_per_output_byte=slopes["execution"],
        seconds_per_result_byte=slopes["result"],
        kind_costs=measure_kind_costs(),
        fits=fits,
        source=source or {"kind": "traces", "traces": [str(t.path) for t in traces]},
        created=datetime.now().astimezone().isoformat(timespec="seconds"),
        host=first.metadata.get("host"),
        cpu_count=first.metadata.get("cpu_count") or os.cpu_count(),
        tapstrace_version=__version__,
    )


def _placement(executor: str) -> Placement:
    """What the plugin named ``executor`` declares (ExecutorConfig.placement)."""
    from tapstrace.plugins.registry import plugins

    config = plugins("executor").get(executor)
    return config.placement if config is not None else "fifo"


def _on_demand(groups: list[Samples]) -> bool:
    """Whether workers start when tasks demand them: in the cold probes, the workers
    started after the lone one took about as long again (rather than being up
    already). Decided by the majority of probes with more than one worker."""
    votes = [
        float(np.mean(others)) > 0.5 * alone
        for s in groups
        for alone, others in s.cold
        if others and alone > 0.02
    ]
    return sum(votes) * 2 > len(votes) if votes else False


def _distribution(parts: list[np.ndarray], fallback: float = 0.0) -> Distribution:
    values = _join(parts)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Distribution.fixed(fallback)
    return Distribution.of(np.maximum(values, 0.0))


def _less_bytes(s: Samples, name: str, per_byte: float) -> list[np.ndarray]:
    """The samples of ``name`` less their per-byte cost (the simulator adds it back)."""
    values, sizes, bases = (getattr(s, f"{name}{x}") for x in ("", "_bytes", "_base"))
    return [v - per_byte * b for v, b, base in zip(values, sizes, bases, strict=True) if base]


#: Bins of the dependency latency by the parent's duration, and the fewest samples each.
_AFTER_BINS, _AFTER_SAMPLES = 4, 8
#: Least ratio of the parents' 75 % to 25 % duration quantiles for bins to be made.
_AFTER_SPREAD = 2.0
#: The bins are kept only where they differ: a Kruskal-Wallis H above the chi-squared
#: distribution's 99 % quantile with _AFTER_BINS - 1 = 3 degrees of freedom.
_AFTER_H = 11.345


def kruskal_h(groups: list[np.ndarray]) -> float:
    """The Kruskal-Wallis H statistic of ``groups``: how far their mean ranks in the
    pooled samples are apart (tied values share their mean rank; no further correction
    for ties)."""
    pooled = np.concatenate(groups)
    _, inverse, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    n, h, at = pooled.size, 0.0, 0
    for g in groups:
        r = ranks[at : at + g.size]
        at += g.size
        h += r.sum() ** 2 / g.size
    return 12.0 / (n * (n + 1)) * h - 3.0 * (n + 1)


def _by_parent(
    s: Samples, name: str, slopes: dict[str, float]
) -> tuple[list[float], list[Distribution]]:
    """The dependency latency (``handoff`` or ``engine``) in bins by the duration of the
    parent that ended last, edges at its quartiles; none where the parents' durations do
    not spread (a chain of equal tasks), there are too few samples, or the bins do not
    differ (a Kruskal-Wallis test at 1 %)."""
    if name == "handoff":
        values = _less_bytes(s, "handoff", slopes["handoff"])
        afters = [a for a, base in zip(s.handoff_after, s.handoff_base, strict=True) if base]
    else:
        values, afters = s.engine, s.engine_after
    v, a = _join(values), _join(afters)
    ok = np.isfinite(v) & np.isfinite(a)
    v, a = v[ok], a[ok]
    if v.size < _AFTER_BINS * _AFTER_SAMPLES:
        return [], []
    q1, q3 = np.quantile(a, [0.25, 0.75])
    if q1 <= 0 or q3 / q1 < _AFTER_SPREAD:
        return [], []
    edges = np.quantile(a, np.arange(1, _AFTER_BINS) / _AFTER_BINS)
    bins = np.searchsorted(edges, a, side="right")
    if (
        np.any(np.diff(edges) <= 0)
        or np.bincount(bins, minlength=_AFTER_BINS).min() < _AFTER_SAMPLES
    ):
        return [], []
    groups = [v[bins == k] for k in range(_AFTER_BINS)]
    if kruskal_h(groups) < _AFTER_H:  # alike: one distribution serves
        return [], []
    return [float(e) for e in edges], [_distribution([g]) for g in groups]


def _worker_fit(workers: int, s: Samples, slopes: dict[str, float], native: bool) -> WorkerFit:
    # Inputs: per worker count (more workers, more of a task's inputs on other workers).
    moved = "handoff" if native else "launch"
    per_input = _slope(getattr(s, f"{moved}_bytes"), getattr(s, moved))
    slopes = {**slopes, "launch": 0.0, "handoff": 0.0, moved: per_input}
    launch = _distribution(_less_bytes(s, "launch", slopes["launch"]))
    startup: list[float] = []
    if s.startup:
        # Each curve less a launch (the slot was up a launch before its first start),
        # the median curve over the traces that have one.
        curves = [np.maximum(np.array(c) - launch.median, 0.0) for c in s.startup]
        length = max(len(c) for c in curves)
        grid = (np.arange(length) + 0.5) / length
        resampled = [
            np.interp(grid, (np.arange(len(c)) + 0.5) / len(c), c)
            if len(c) > 1
            else np.full(length, c[0])
            for c in curves
        ]
        startup = [float(v) for v in np.median(np.vstack(resampled), axis=0)]
    spawn = step = 0.0
    if s.cold:
        spawn = max(0.0, float(np.median([a for a, _ in s.cold])) - launch.median)
        steps = []
        for alone, others in s.cold:
            if len(others) > 1:
                # m workers started together come up together, spawn + (m - 1) x step.
                mean = float(np.mean(others)) - launch.median
                steps.append((mean - (alone - launch.median)) / (len(others) - 1))
        step = max(0.0, float(np.median(steps))) if steps else 0.0
    after_edges, after = _by_parent(s, moved if native else "engine", slopes)
    gap = _distribution(s.gap)
    # The short bag paces the scheduler only if its workers waited for it: gaps on a
    # worker more than twice those with work queued (else its pace is the workers').
    work_service = 0.0
    if s.work_service and s.short_gap:
        waited = np.concatenate(s.short_gap)
        if waited.size and float(np.median(waited)) > 2 * gap.median:
            work_service = float(np.median(s.work_service))
    slot_in, slot_out = _slot_slopes(s)
    return WorkerFit(
        workers=workers,
        submit=_distribution(s.submit),
        service=float(np.median(s.service)) if s.service else 0.0,
        launch=launch,
        handoff=_distribution(_less_bytes(s, "handoff", slopes["handoff"]), launch.median),
        engine=_distribution(s.engine),
        after_edges=after_edges,
        after=after,
        gap=gap,
        noop_gap=_distribution(s.noop_gap, gap.median),
        result=_distribution(_less_bytes(s, "result", slopes["result"])),
        # Its median only: the overruns' tail comes from tasks that wake up together in
        # the busy bag and fight for the CPU (or a GIL), which is not every task's lot.
        execution=Distribution.fixed(
            _distribution(_less_bytes(s, "execution", slopes["execution"])).median
        ),
        startup=startup,
        spawn=spawn,
        spawn_step=step,
        input_per_byte=per_input,
        slot_per_input_byte=slot_in,
        slot_per_output_byte=slot_out,
        work_service=work_service,
        load=float(np.mean(s.loads)) if s.loads else None,
    )


def describe_fit(model: ExecutorModel) -> list[dict[str, Any]]:
    """One row per worker count: the median of each latency and the ceilings (for the
    calibrate command's table)."""
    rows = []
    for f in model.fits:
        rows.append(
            {
                "workers": f.workers,
                "submit_ms": f.submit.median * 1e3,
                "service_ms": f.service * 1e3,
                "ceiling_per_s": (1 / f.service) if f.service > 0 else math.inf,
                "work_ceiling_per_s": (1 / f.work_service if f.work_service > 0 else None),
                "launch_ms": f.launch.median * 1e3,
                "handoff_ms": f.handoff.median * 1e3,
                "engine_ms": f.engine.median * 1e3,
                "gap_ms": f.gap.median * 1e3,
                "noop_gap_ms": f.noop_gap.median * 1e3,
                "result_ms": f.result.median * 1e3,
                "execution_ms": f.execution.median * 1e3,
                "spawn_s": f.spawn,
                "input_ms_per_mb": f.input_per_byte * 1e9,
                "slot_in_ms_per_mb": f.slot_per_input_byte * 1e9,
                "slot_out_ms_per_mb": f.slot_per_output_byte * 1e9,
                "startup_s": max(f.startup, default=0.0),
                "load": f.load,
            }
        )
    return rows
