"""Planning a replay: the synthetic task graph a trace describes, in submission order.

One planned task per source task (its final attempt; warm-up tasks are planned apart).
Its duration is the recorded execution time (ended - started) x time-scale, its output
the recorded output bytes x data-scale, its external input the recorded input bytes not
delivered by its parents (input - sum of the parents' outputs, at least 0; or the exact
figure an importer states in the metadata's ``external_input_bytes``) x data-scale.
Tasks are ordered by source submission time (then task id), moved later only where a
parent comes after them, so the order is the source's wherever the DAG allows.

Schema 1.2 traces add what the task did with the CPU (``cpu_seconds``), its payload
kinds, its failed attempts before the final one, and the client's control flow: the
control parents the client waited on before each submission and its client time
(scaled as ``client_time`` says). docs/replay.md gives the rules.
"""

from __future__ import annotations

import bisect
import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from tapstrace.errors import TraceError
from tapstrace.formats.dag import topological_order
from tapstrace.formats.frame import final_attempts
from tapstrace.trace.reader import Trace

Failures = Literal["replay", "skip", "succeed"]
ClientTime = Literal["keep", "scale", "zero"]
#: auto: the recorded flow where there is one; infer: else inferred from submit and
#: receive times; none: no client pacing (tasks go as early as the DAG allows).
ClientFlow = Literal["auto", "infer", "none"]
#: What a task's wall time is made of in a replay (--mode recorded): ``rebuild``: the
#: source's CPU time is spun on the thread's CPU clock and its off-CPU time slept, so the
#: replay meets the contention of its own run; ``copy``: each task takes its source wall
#: time (the source run's contention, whatever the replay's).
Contention = Literal["rebuild", "copy"]
#: A pause between two submissions longer than this, with results received in it, is
#: taken for a client wait when inferring the flow.
INFER_GAP = 0.005
#: Where a plan's client control flow came from.
Flow = Literal["recorded", "inferred", "absent"]
_FAILED = ("failed", "cancelled")
_DID_NOT_RUN = ("dependency-failed",)


@dataclass
class Plan:
    """The replay as columns, one entry per task, in submission order.

    ``parents`` and ``control`` hold positions in this plan (always earlier ones);
    ``children`` counts each task's data and control children, so the submitter can drop
    a future once its last child is in.
    """

    names: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    externals: list[int] = field(default_factory=list)
    failures: list[str | None] = field(default_factory=list)
    parents: list[list[int]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    #: CPU seconds of each task's final attempt (x time-scale), None where not recorded.
    cpus: list[float | None] = field(default_factory=list)
    #: Off-CPU time of each task's final attempt (wall - CPU - run-queue wait, x
    #: time-scale) where the source measured its run-queue wait (schema 1.3, Linux) and
    #: contention is rebuilt; None: the task keeps its source wall time.
    blocked: list[float | None] = field(default_factory=list)
    #: How long each task's final attempt held the GIL (x time-scale), where recorded.
    gil: list[float | None] = field(default_factory=list)
    #: First-use imports: the outermost modules the source tasks of each task's function
    #: imported (empty: none, or not recorded), and the CPU seconds the task's own
    #: imports took (x time-scale: part of its scaled time, taken off it).
    imported_modules: list[tuple[str, ...]] = field(default_factory=list)
    import_cpu: list[float] = field(default_factory=list)
    #: What importing each first-use tuple cost in the source (the most a task that
    #: imported it recorded), not scaled: a replay imports the modules for real, and a
    #: library takes as long to load whatever --time-scale does to the tasks' work.
    import_cost: dict[tuple[str, ...], float] = field(default_factory=dict)
    #: Module of each task's result type, where a library's (imported on unpickling).
    output_modules: list[str | None] = field(default_factory=list)
    output_kinds: list[str | None] = field(default_factory=list)
    #: Module of each source task's function (imported on first use on each worker).
    modules: list[str | None] = field(default_factory=list)
    external_kinds: list[str | None] = field(default_factory=list)
    #: Error type of a final failure (replayed as its kind: docs/replay.md).
    error_types: list[str | None] = field(default_factory=list)
    #: Failed attempts before the final one: (duration, cpu, error type, message).
    attempts: list[tuple[tuple[float, float | None, str | None, str], ...]] = field(
        default_factory=list
    )
    #: Client control flow: the tasks the client waited on before submitting each task,
    #: its client time after the last of them, and its busy time (CPU) since the
    #: previous submission.
    control: list[list[int]] = field(default_factory=list)
    client: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    busy_cpu: list[float] = field(default_factory=list)
    flow: Flow = "absent"
    #: The source's warm-up tasks as (source id, name, duration, module): replayed first,
    #: apart (importing their modules on the workers, as the source's warm-ups did).
    warmup: list[tuple[str, str, float, str | None]] = field(default_factory=list)
    #: Source tasks left out (--failures skip, --limit).
    skipped: int = 0
    #: Makespan of the planned tasks in the source (first submitted -> last result),
    #: or the makespan the source states when it has no client times (WfFormat).
    source_makespan: float | None = None
    #: How long after its run started the source client submitted its first task (the
    #: executor's start-up, the client's set-up: generating or loading input) x the
    #: client-time scale; None where the trace does not say when its run started.
    lead: float | None = None

    def __len__(self) -> int:
        return len(self.names)

    def input_modules(self, parents: Sequence[int]) -> tuple[str, ...]:
        """The modules of a task's inputs' types where a library's (its ``parents``'
        results' modules): unpickling them imports those on the task's worker."""
        outs = self.output_modules
        return tuple(sorted({m for p in parents if (m := outs[p]) is not None}))


def _client_flow(
    rows: pl.DataFrame, position: dict[int, int], mode: ClientFlow
) -> tuple[list[list[int]], list[float | None], list[float | None], list[float | None], Flow]:
    """Control parents (positions), client, busy and busy-CPU seconds of each row (rows
    sorted by submission), and where they came from."""
    n = rows.height
    nothing: list[float | None] = [None] * n
    recorded = mode != "none" and rows["client_busy_seconds"].is_not_null().any()
    if recorded:
        # Control parents the trace does not hold (a crash, --limit at record time) are
        # dropped: they constrain nothing the replay can wait on.
        control = [
            [position[c] for c in names if c in position and position[c] < i]
            for i, names in enumerate(rows["control_parents"].to_list())
        ]
        return (control, rows["client_seconds"].to_list(), rows["client_busy_seconds"].to_list(),
                rows["client_cpu_seconds"].to_list(), "recorded")  # fmt: skip
    if mode != "infer":
        return [[] for _ in range(n)], nothing, nothing, nothing, "absent"
    return (*_inferred_flow(rows["submitted"].to_list(), rows["received"].to_list()), "inferred")


def _inferred_flow(
    submitted: list[float | None], received: list[float | None]
) -> tuple[list[list[int]], list[float | None], list[float | None], list[float | None]]:
    """The client's waits inferred from submit and receive times (docs/replay.md): a
    submission that comes more than INFER_GAP after the previous one, with results received
    in between, waited for those results (its control parents), then worked from the last
    of them; a pause with no result received in it was client work. CPU is unknown."""
    n = len(submitted)
    control: list[list[int]] = [[] for _ in range(n)]
    client: list[float | None] = [None] * n
    busy: list[float | None] = [None] * n
    by_receipt = sorted((r, i) for i, r in enumerate(received) if r is not None)
    times = [r for r, _ in by_receipt]
    previous = submitted[0] if n else None
    for i in range(1, n):
        now = submitted[i]
        if now is None or previous is None:
            continue
        pause = now - previous
        first, last = bisect.bisect_right(times, previous), bisect.bisect_right(times, now)
        seen = [j for _, j in by_receipt[first:last] if j < i]
        if pause > INFER_GAP and seen:
            control[i] = sorted(seen)
            client[i] = now - times[last - 1]
            busy[i] = client[i]
        else:
            client[i] = busy[i] = max(0.0, pause)
        previous = now
    return control, client, busy, [None] * n


def _duration() -> pl.Expr:
    return ((pl.col("ended") - pl.col("started")).dt.total_microseconds() / 1e6).alias("duration")


def _failed_attempts(
    tasks: pl.DataFrame, finals: pl.DataFrame
) -> dict[int, list[tuple[float, float | None, str | None, str]]]:
    """Each retried task's attempts before its final one, in order."""
    last = finals.select("task_id", pl.col("attempt").alias("final_attempt"))
    early = (
        tasks.join(last, on="task_id")
        .filter(pl.col("attempt") < pl.col("final_attempt"))
        .sort("task_id", "attempt")
        .with_columns(_duration())
    )
    found: dict[int, list[tuple[float, float | None, str | None, str]]] = {}
    for task_id, duration, cpu, error_type, message, status in early.select(
        "task_id", "duration", "cpu_seconds", "error_type", "error_message", "status"
    ).iter_rows():
        text = _failure_text(error_type, message, status)
        found.setdefault(task_id, []).append((max(0.0, duration or 0.0), cpu, error_type, text))
    return found


def _seconds(column: str) -> pl.Expr:
    return (pl.col(column).dt.epoch("us") / 1e6).alias(column)


def _failure_text(error_type: str | None, message: str | None, status: str) -> str:
    if error_type:
        return f"{error_type}: {message}" if message else error_type
    return f"the source task ended {status}"


def _first_use(rows: pl.DataFrame) -> pl.DataFrame:
    """Add ``first_use``: the modules any source task of the same function imported on
    first use. Which task pays for them depends on where tasks land: each replayed task
    of the function makes sure they are imported (once per worker process, whichever
    task comes first), and takes its own recorded import time off its own time."""
    first_use = (
        rows.select("module", "name", "imported_modules")
        .explode("imported_modules")
        .drop_nulls("imported_modules")
        .group_by("module", "name", maintain_order=True)
        .agg(pl.col("imported_modules").unique(maintain_order=True).alias("first_use"))
    )
    return rows.join(
        first_use, on=["module", "name"], how="left", nulls_equal=True, maintain_order="left"
    )


def _own_gil(rows: pl.DataFrame, tasks: pl.DataFrame) -> pl.DataFrame:
    """Add ``own_gil``: each task's share of the GIL time recorded for it, and
    ``beside``: how many other tasks its process ran on average while it ran.

    ``gil_seconds`` is the process's GIL time while the task ran. Where a process ran one
    task at a time (process pools, Parsl, Ray) that is the task's own; where it ran
    several (a thread pool, a Dask worker's threads) the neighbours' Python counted too,
    and a replay holding all of it would serialise tasks that interleaved (fedlearn
    recorded on a thread pool replayed +83 %). Such a task keeps the part of it in
    proportion to its CPU time among the CPU time every task of its process used during
    it (each task's CPU spread evenly over its run), and at most its CPU time: GIL held
    off the CPU (:func:`tapstrace.replay.task.held_off_cpu`) is only trusted alone.
    """
    where = ["worker_host", "worker_pid"]
    spans = tasks.filter(
        pl.col("worker_pid").is_not_null() & (pl.col("ended") > pl.col("started"))
    ).select(
        *where,
        "task_id",
        "attempt",
        pl.col("started").dt.epoch("us").alias("t0"),
        pl.col("ended").dt.epoch("us").alias("t1"),
        (
            pl.col("cpu_seconds").fill_null(0.0)
            / (pl.col("ended") - pl.col("started")).dt.total_microseconds()
        ).alias("rate"),
    )

    # The process's CPU time used up to each start and end: the integral of the summed
    # rates of its running tasks, from the starts (+rate) and ends (-rate) in time order;
    # and the same integral of the count of its running tasks (+1, -1).
    def edges(t: str, sign: int, edge: int) -> pl.DataFrame:
        return spans.select(
            *where,
            "task_id",
            "attempt",
            pl.col(t).alias("t"),
            (sign * pl.col("rate")).alias("delta"),
            pl.lit(float(sign)).alias("count"),
            pl.lit(edge).alias("edge"),
        )

    def integral(column: str) -> pl.Expr:
        step = pl.col(column).shift(1, fill_value=0.0) * pl.col("t").diff().fill_null(0)
        return step.cum_sum().over(where)

    events = (
        pl.concat([edges("t0", 1, 0), edges("t1", -1, 1)])
        .sort(*where, "t", "edge")
        .with_columns(pl.col("delta", "count").cum_sum().over(where))
        .with_columns(integral("delta").alias("used"), integral("count").alias("occupied"))
    )
    if not len(events):
        return rows.with_columns(
            pl.col("gil_seconds").alias("own_gil"), pl.lit(0.0).alias("beside")
        )
    used = events.group_by("task_id", "attempt").agg(
        (pl.col("used").filter(pl.col("edge") == 1).first()
         - pl.col("used").filter(pl.col("edge") == 0).first()).alias("process_cpu"),
        (
            (pl.col("occupied").filter(pl.col("edge") == 1).first()
             - pl.col("occupied").filter(pl.col("edge") == 0).first())
            / (pl.col("t").filter(pl.col("edge") == 1).first()
               - pl.col("t").filter(pl.col("edge") == 0).first())
            - 1.0
        ).clip(lower_bound=0.0).alias("beside"),
    )  # fmt: skip
    return (
        rows.join(used, on=["task_id", "attempt"], how="left")
        .with_columns(
            pl.col("cpu_seconds").fill_null(0.0).alias("_cpu"),
            pl.col("beside").fill_null(0.0),
        )
        .with_columns(
            pl.when(pl.col("process_cpu") > pl.col("_cpu") * 1.01 + 1e-4)  # a neighbour ran
            .then(
                pl.min_horizontal(
                    pl.col("gil_seconds") * pl.col("_cpu") / pl.col("process_cpu"), pl.col("_cpu")
                )
            )
            .otherwise(pl.col("gil_seconds"))
            .alias("own_gil")
        )
        .drop("process_cpu", "_cpu")
    )


def _gil_wait() -> pl.Expr:
    """How long each task's thread waited, off its CPU, for a GIL its neighbours held.

    A thread that wants the GIL while another holds it waits, and may wait off its CPU,
    so in a process that ran several tasks at once (a thread pool, a Dask worker) that
    wait can be part of a task's off-CPU time: the part a replay must not sleep, as its
    own GIL-bound burn meets its replay's neighbours (a thread pool) or none (a process
    pool). mapreduce recorded on a 2-thread pool (Python throughout) was off its CPU for
    47 % of its time, nearly all of it while the other thread held the GIL, and replayed
    +21 % slow there and +59 % on processes. The wait is not measured. It is at most the
    off-CPU time, at most the neighbours' GIL time (``gil_seconds - own_gil``), and at
    most the task's own GIL time for each neighbour it had on average (``beside``): two
    threads that both want the GIL take turns, so each waits about as long as it holds
    it. A task that ran no Python (a sleep, a subprocess, a numpy kernel) waited for no
    GIL, however long its neighbours held it (docking's ligand preparation beside a
    docking that holds the GIL off its CPU: 9.4 s off its CPU, 0.1 s of GIL of its own).
    """
    blocked = (pl.col("duration") - pl.col("cpu_seconds") - pl.col("runqueue_seconds")).clip(
        lower_bound=0.0
    )
    neighbours = (pl.col("gil_seconds") - pl.col("own_gil")).clip(lower_bound=0.0)
    turns = pl.col("own_gil") * pl.col("beside")
    # Where any of them is unknown, no wait (min_horizontal would skip a null).
    return pl.min_horizontal(
        blocked.fill_null(0.0), neighbours.fill_null(0.0), turns.fill_null(0.0)
    ).alias("gil_wait")


def build_plan(
    trace: Trace,
    *,
    time_scale: float = 1.0,
    data_scale: float = 1.0,
    limit: int | None = None,
    failures: Failures = "replay",
    client_time: ClientTime = "scale",
    client_flow: ClientFlow = "auto",
    contention: Contention = "rebuild",
) -> Plan:
    """The replay plan of ``trace``; problems (a missing or negative duration, a
    dangling parent, a cycle) raise a TraceError naming the trace file."""
    where: Path | str = trace.path or "trace"
    tasks = trace.tasks
    warm = final_attempts(tasks.filter(pl.col("warmup")))
    rows = final_attempts(tasks.filter(~pl.col("warmup")))
    earlier = _failed_attempts(tasks.filter(~pl.col("warmup")), rows)
    rows = (
        _own_gil(_first_use(rows), tasks)
        .with_columns(
            _duration(),
            _seconds("submitted"),
            _seconds("received"),
            _seconds("ended").alias("ended_s"),
        )
        .with_columns(_gil_wait())
        .sort("submitted", "task_id", nulls_last=True)
    )
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
    control, clients, busies, busy_cpus, flow = _client_flow(rows, position, client_flow)
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
    cpus = rows["cpu_seconds"].to_list()
    queued = rows["runqueue_seconds"].to_list() if contention == "rebuild" else [None] * len(rows)
    gils = rows["own_gil"].to_list()
    gil_waits = rows["gil_wait"].to_list()
    out_modules = rows["output_module"].to_list()
    imported = rows["imported_modules"].to_list()
    import_cpus = rows["import_seconds"].to_list()
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per function
    first_uses = [
        shared.setdefault(t, t) for t in map(tuple, rows["first_use"].fill_null([]).to_list())
    ]
    out_kinds = rows["output_kind"].to_list()
    modules = rows["module"].to_list()
    in_kinds = rows["input_kind"].to_list()
    plan.flow = flow
    client_scale = {"keep": 1.0, "scale": time_scale, "zero": 0.0}[client_time]
    for k, i in enumerate(selected):
        ps = [in_plan[p] for p in parents[i]]
        cs = [in_plan[c] for c in control[i] if c in in_plan]
        cs = [c for c in cs if c < k and c not in ps]
        for p in ps + cs:
            plan.children[p] += 1
        plan.control.append(cs)
        if k == 0:  # the client's set-up before its first submission is not in the makespan
            plan.client.append(0.0)
            plan.busy.append(0.0)
            plan.busy_cpu.append(0.0)
        else:
            plan.client.append((clients[i] or 0.0) * client_scale)
            plan.busy.append((busies[i] or 0.0) * client_scale)
            plan.busy_cpu.append((busy_cpus[i] or 0.0) * client_scale)
        cpu, wait, d = cpus[i], queued[i], duration[i]
        plan.cpus.append(None if cpu is None else cpu * time_scale)
        if cpu is None or wait is None or d is None:
            plan.blocked.append(None)
        else:
            plan.blocked.append(max(0.0, d - cpu - wait - gil_waits[i]) * time_scale)
        held = gils[i]
        plan.gil.append(None if held is None else held * time_scale)
        plan.output_modules.append(out_modules[i])
        plan.imported_modules.append(first_uses[i])
        paid = (import_cpus[i] or 0.0) if imported[i] else 0.0
        plan.import_cpu.append(paid * time_scale)
        if paid > plan.import_cost.get(first_uses[i], 0.0):
            plan.import_cost[first_uses[i]] = paid
        plan.output_kinds.append(out_kinds[i])
        plan.modules.append(modules[i])
        plan.external_kinds.append(in_kinds[i])
        plan.attempts.append(
            tuple((d * time_scale, None if c is None else c * time_scale, e, m)
                  for d, c, e, m in earlier.get(task_ids[i], ()))
            if failures == "replay" else ()
        )  # fmt: skip
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
        plan.error_types.append(error_types[i] if failure is not None else None)
        plan.parents.append(ps)
    warm = warm.sort("submitted", "task_id", nulls_last=True).with_columns(_duration())
    plan.warmup = [
        (s if s is not None else str(t), name, max(0.0, d or 0.0) * time_scale, module)
        for t, s, name, d, module in warm.select(
            "task_id", "source_id", "name", "duration", "module"
        ).iter_rows()
    ]
    plan.source_makespan = _makespan(trace, rows, selected, plan.skipped == 0)
    plan.lead = _lead(trace, client_scale)
    return plan


def _lead(trace: Trace, scale: float) -> float | None:
    """The source run's start to its first submission (x ``scale``), if both are known."""
    started = trace.metadata.get("started_at")
    first = trace.tasks["submitted"].min() if trace.tasks.height else None
    if not isinstance(started, str) or not isinstance(first, datetime):
        return None
    try:
        begun = datetime.fromisoformat(started)
    except ValueError:
        return None
    if begun.tzinfo is None or first.tzinfo is None:
        return None
    return max(0.0, (first - begun).total_seconds()) * scale


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


#: Plan columns that are not None for a task without them (the rest default to None).
_PLAN_DEFAULTS: dict[str, Any] = {
    "attempts": (),
    "control": [],
    "client": 0.0,
    "busy": 0.0,
    "busy_cpu": 0.0,
}


#: Plan lists that are not one entry per task.
_NOT_PER_TASK = {"warmup"}


def synthetic_plan(
    names: list[str],
    durations: list[float],
    parents: list[list[int]],
    outputs: list[int] | None = None,
) -> Plan:
    """A replay plan of synthetic tasks (no client flow, no CPU time, no failures);
    every per-task column the replay reads is filled."""
    n = len(names)
    plan = Plan(
        names=list(names),
        source_ids=[f"{name}-{i}" for i, name in enumerate(names)],
        durations=list(durations),
        outputs=list(outputs or [0] * n),
        externals=[0] * n,
        failures=[None] * n,
        parents=[list(ps) for ps in parents],
        children=[0] * n,
    )
    for ps in plan.parents:
        for p in ps:
            plan.children[p] += 1
    for column in dataclasses.fields(Plan):
        value = getattr(plan, column.name)
        if isinstance(value, list) and not value and column.name not in _NOT_PER_TASK:
            default = _PLAN_DEFAULTS.get(column.name)
            setattr(plan, column.name, [copy.copy(default) for _ in range(n)])
    return plan
