"""A trace's records made ready for analysis: warm-up dropped, times as seconds, one worker key.

Every metric starts from :class:`Tasks`, built once per trace by :func:`prepare`. Times
become float seconds since the trace's earliest recorded time (its first submission in a
trace recorded by tapstrace), which keeps every later expression plain arithmetic.
Missing timestamps (imported traces may not know them) stay null: no metric invents them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import polars as pl

from tapstrace.analysis.labels import run_name
from tapstrace.analysis.selection import Selection
from tapstrace.trace.schema import TIME_COLUMNS

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

T = TypeVar("T")

#: Times taken by the client (never anchored by an importer).
CLIENT_COLUMNS = ("submitted", "ready", "dispatched", "received")
#: ``metadata["timing"]["started"]`` values of imports whose start times are not measured.
ANCHORED = ("anchored", "mixed")
#: Columns of ``Tasks.client`` (the client phases).
CLIENT_SCHEMA = {"name": pl.String, "start": pl.Float64, "end": pl.Float64}


@dataclass
class Tasks:
    """The records of one trace, prepared for analysis.

    Attributes:
        attempts: one row per attempt (warm-up excluded unless asked); the time columns
            (submitted ... received) are float seconds since ``origin``; added columns:
            ``worker`` (worker_id, else host:pid), ``execution`` (ended - started, s),
            ``is_final`` (the task's last attempt), ``node`` (the task's row in ``final``).
            Sorted by task_id, then attempt.
        final: the final attempt of each task, sorted by task_id (the same frame as
            ``attempts`` when no task was retried); row i is node i of the task graph.
        origin: the earliest recorded time (UTC) or None for a trace without times.
        metadata: the trace's run facts (app, executor, workers ...).
        warmup_excluded: warm-up attempts left out.
        client: the client phases the app marked (schema 1.2 rows of kind "client"):
            name, start, end (seconds since ``origin``); empty when none were recorded.
        client_recorded: whether the trace records the client's control flow (schema 1.2
            columns ``control_parents`` and ``client_seconds``).
        config: the run's full config (TOML tables), shown collapsed in the report.
        selection: the filters applied (``--window``, ``--function``, ...).
    """

    attempts: pl.DataFrame
    final: pl.DataFrame
    origin: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    path: str | None = None
    partial: bool = False
    schema_version: str | None = None
    warmup_excluded: int = 0
    client: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CLIENT_SCHEMA))
    client_recorded: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def app(self) -> str | None:
        """The app that produced the trace, when known."""
        app = self.metadata.get("app")
        return app.get("name") if isinstance(app, dict) else None

    @property
    def executor(self) -> str | None:
        """The executor the trace was recorded on, when known."""
        executor = self.metadata.get("executor")
        return executor.get("name") if isinstance(executor, dict) else None

    @property
    def declared_workers(self) -> int | None:
        """Worker slots the run declared (trace metadata), when known."""
        workers = self.metadata.get("workers")
        return int(workers) if isinstance(workers, int | float) and workers > 0 else None

    @property
    def slots(self) -> tuple[int | None, str]:
        """Worker slots and where the number comes from: the trace metadata ("metadata", or
        "metadata: SETTING" when an importer read it from a run's setting), else the
        distinct workers seen running tasks ("observed")."""
        declared = self.declared_workers
        if declared:
            source = self.metadata.get("workers_from")
            return declared, f"metadata: {source}" if isinstance(source, str) else "metadata"
        seen = self.attempts["worker"].drop_nulls().n_unique()
        return (seen or None), "observed"

    @property
    def timeline(self) -> bool:
        """Whether start times are measurements. An importer that knows only durations
        (WfFormat) anchors starts at one instant and says so in ``metadata["timing"]``:
        then nothing may be read from when tasks ran, only from how long."""
        timing = self.metadata.get("timing")
        return not (isinstance(timing, dict) and timing.get("started") in ANCHORED)

    @property
    def window(self) -> Window:
        """The span of the trace: earliest to latest recorded time (leaving out anchored
        start and end times)."""
        columns = TIME_COLUMNS if self.timeline else CLIENT_COLUMNS
        return self.cached("window", lambda: _window(self.attempts, columns))

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per prepared trace (metrics share intermediate results)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


@dataclass(frozen=True)
class Window:
    """The recorded span of a run, in seconds since the trace's origin.

    ``first``/``last`` name the time columns the ends come from: "submitted" and
    "received" in a trace recorded by tapstrace; an imported trace without those times
    spans from its first start to its last end, and says so.
    """

    start: float | None
    end: float | None
    first: str | None
    last: str | None

    @property
    def seconds(self) -> float | None:
        """Length of the span (the makespan), seconds."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start


def _window(attempts: pl.DataFrame, columns: tuple[str, ...]) -> Window:
    if attempts.height == 0:
        return Window(None, None, None, None)
    row = attempts.select(
        *(pl.col(c).min().alias(f"min:{c}") for c in columns),
        *(pl.col(c).max().alias(f"max:{c}") for c in columns),
    ).row(0, named=True)
    lows = {c: row[f"min:{c}"] for c in columns if row[f"min:{c}"] is not None}
    highs = {c: row[f"max:{c}"] for c in columns if row[f"max:{c}"] is not None}
    if not lows:
        return Window(None, None, None, None)
    first = min(lows, key=lambda c: (lows[c], TIME_COLUMNS.index(c)))
    last = max(highs, key=lambda c: (highs[c], TIME_COLUMNS.index(c)))
    return Window(lows[first], highs[last], first, last)


def _attempts_sorted() -> pl.Expr:
    """Within each task, attempts ascending (given task ids already sorted)."""
    same = pl.col("task_id") == pl.col("task_id").shift(1)
    return (~same | (pl.col("attempt") > pl.col("attempt").shift(1))).fill_null(True).all()


def _seconds(column: str, origin: datetime) -> pl.Expr:
    return ((pl.col(column) - pl.lit(origin)).dt.total_microseconds() / 1e6).alias(column)


#: Columns analyses read; the others (run id, data-layer timings) stay behind.
KEPT = (
    "task_id", "name", "parents", "attempt", "status", "error_type", "error_message",
    *TIME_COLUMNS, "input_bytes", "output_bytes", "oob_bytes",
)  # fmt: skip
#: Schema 1.2 columns on the client's control flow and CPU time, kept when a trace has
#: them (null columns otherwise, except control_parents, which is left out).
CLIENT_FLOW = {
    "client_seconds": pl.Float64,
    "client_busy_seconds": pl.Float64,
    "client_cpu_seconds": pl.Float64,
    "cpu_seconds": pl.Float64,
}


def _worker(rows: pl.DataFrame) -> pl.Expr:
    """worker_id, else host:pid (built only where a worker id is missing)."""
    if rows["worker_id"].null_count() == 0:
        return pl.col("worker_id").alias("worker")
    host_pid = pl.concat_str(pl.col("worker_host"), pl.col("worker_pid"), separator=":")
    return pl.coalesce(pl.col("worker_id"), host_pid).alias("worker")


def _split_kinds(trace: Trace) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Task rows and client-phase rows. Schema 1.2 readers put client phases in
    ``Trace.client``; a frame that still mixes them holds them as ``kind == "client"``."""
    rows = trace.tasks
    client = getattr(trace, "client", None)
    if "kind" in rows.columns:
        mixed = rows.filter(pl.col("kind") == "client")
        if mixed.height:
            client = mixed if client is None or client.height == 0 else client
            rows = rows.filter(pl.col("kind") != "client")
    if client is None or "submitted" not in client.columns:
        client = rows.clear()
    return rows, client


def prepare(
    trace: Trace, *, include_warmup: bool = False, selection: Selection | None = None
) -> Tasks:
    """Prepare a trace's records for analysis (warm-up attempts excluded by default,
    then only the attempts ``selection`` keeps; times stay relative to the run's first
    recorded time whatever is filtered out).

    Eager and column-wise on purpose: a million-attempt trace must stay well within
    memory, so no step copies the whole table more than once.
    """
    selection = selection or Selection()
    rows, client_rows = _split_kinds(trace)
    warmup = int(rows["warmup"].sum()) if rows.height else 0
    if not include_warmup and warmup:
        rows = rows.filter(~pl.col("warmup"))
    if not (rows["task_id"].is_sorted() and rows.select(_attempts_sorted()).item()):
        rows = rows.sort("task_id", "attempt")
    origin: datetime | None = None
    if rows.height:
        origin = rows.select(pl.min_horizontal(pl.col(c).min() for c in TIME_COLUMNS)).item()
    if origin is not None:
        times = [_seconds(c, origin) for c in TIME_COLUMNS]
    else:  # no time recorded at all
        times = [pl.lit(None, pl.Float64).alias(c) for c in TIME_COLUMNS]
    flow = [
        pl.col(c).cast(t) if c in rows.columns else pl.lit(None, t).alias(c)
        for c, t in CLIENT_FLOW.items()
    ]
    control = ["control_parents"] if "control_parents" in rows.columns else []
    recorded = bool(control) and "client_seconds" in rows.columns
    if recorded and rows.height:
        recorded = rows["client_seconds"].null_count() < rows.height
    attempts = rows.select(
        *(c for c in KEPT if c not in TIME_COLUMNS), *times, _worker(rows), *flow, *control
    )
    if selection.active:
        attempts = attempts.filter(selection.expression())
    following = pl.col("task_id").shift(-1)
    attempts = attempts.with_columns(
        (following.is_null() | (following != pl.col("task_id"))).alias("is_final"),
        # Row of the task in ``final``: attempts are sorted by task, then attempt.
        ((pl.col("task_id") != pl.col("task_id").shift(1)).fill_null(True).cum_sum() - 1)
        .cast(pl.Int64)
        .alias("node"),
        (pl.col("ended") - pl.col("started")).alias("execution"),
    )
    retried = attempts.height != int(attempts["is_final"].sum())
    final = attempts.filter(pl.col("is_final")) if retried else attempts
    path = str(trace.path) if trace.path is not None else None
    return Tasks(
        attempts=attempts,
        final=final,
        origin=origin,
        metadata=trace.metadata,
        label=run_name(trace),
        path=path,
        partial=trace.partial,
        schema_version=trace.schema_version,
        warmup_excluded=warmup if not include_warmup else 0,
        client=_client_phases(client_rows, origin, selection),
        client_recorded=recorded,
        config=trace.config,
        selection=selection,
    )


def _client_phases(
    rows: pl.DataFrame, origin: datetime | None, selection: Selection
) -> pl.DataFrame:
    """The client phases as name, start, end (seconds since ``origin``), by start."""
    if rows.height == 0 or origin is None:
        return pl.DataFrame(schema=CLIENT_SCHEMA)
    phases = rows.select(
        "name",
        _seconds("submitted", origin).alias("start"),
        _seconds("received", origin).alias("end"),
    ).sort("start")
    if selection.window:
        start, end = selection.window
        if end is not None:
            phases = phases.filter(pl.col("start") <= end)
        if start is not None:
            phases = phases.filter(pl.col("end").fill_null(float("inf")) >= start)
    return phases


def as_tasks(trace: Trace | Tasks | str | os.PathLike[str]) -> Tasks:
    """The prepared records of ``trace``: Tasks as they are; a Trace, or the path of a
    trace file, prepared now with the defaults."""
    if isinstance(trace, Tasks):
        return trace
    if isinstance(trace, str | os.PathLike):
        from tapstrace.trace.reader import read_trace

        trace = read_trace(trace, warn=False)
    return prepare(trace)
