"""What the simulator runs: a trace's tasks, DAG and client control flow as arrays.

Built from the replay plan (tapstrace.replay.plan), so a prediction simulates exactly
what ``tapstrace replay`` would run: the same tasks in the same submission order, the
same durations and payload sizes (scaled the same way), the same failures. The source's
warm-up tasks come first, as in a replay: the client waits for all of them before its
first real submission, and the makespan starts there.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tapstrace.replay.plan import ClientFlow, ClientTime, Plan, build_plan
from tapstrace.trace.reader import Trace

#: Modules a worker imports together, at one cost: a task's module, its input's type's
#: module (one each), or its function's first-use modules (the source timed them as one).
Unit = tuple[str, ...]


@dataclass
class Workload:
    """Tasks in submission order (warm-up tasks first); times in seconds, sizes in bytes.

    Attributes:
        parents: data parents of each task, as earlier positions.
        control: the tasks whose results the client had seen before submitting each
            task (positions; empty lists without client flow).
        client: client seconds after the last control parent's result.
        busy: client seconds of work since the previous submission.
        flow: "recorded" when the trace holds the client's control flow, "absent" when
            the replay (and so the prediction) submits as fast as the DAG allows.
        warmup: how many leading tasks are the source's warm-up tasks.
        retries: for each task, the execution seconds of its failed attempts before the
            final one (replayed too).
        output_kinds, external_kinds: the payload kind of each task's result and of its
            external input (``externals`` bytes, part of ``inputs``), priced by kind.
        imports: what a replay worker imports for each task where it has not yet, in
            order: the source task's module, its inputs' types' modules and its
            function's first-use modules (schema 1.4; none before).
        import_cpu: each task's own recorded import time (part of its duration; a replay
            takes it off and imports instead).
        import_cost: what importing each first-use unit cost the source (not scaled
            with --time-scale: the replay imports for real).
        import_modules: for each unit timed on this machine
            (:func:`tapstrace.predict.imports.time_imports`), every module importing it
            loads and its own seconds; a worker pays for those it lacks. Units not here
            cost ``import_cost`` (or nothing).
    """

    names: list[str]
    source_ids: list[str]
    durations: np.ndarray
    outputs: np.ndarray
    inputs: np.ndarray
    failed: np.ndarray
    parents: list[list[int]]
    control: list[list[int]]
    client: np.ndarray
    busy: np.ndarray
    retries: list[tuple[float, ...]]
    output_kinds: list[str | None] = field(default_factory=list)
    externals: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    external_kinds: list[str | None] = field(default_factory=list)
    imports: list[tuple[Unit, ...]] = field(default_factory=list)
    import_cpu: np.ndarray = field(default_factory=lambda: np.zeros(0))
    import_cost: dict[Unit, float] = field(default_factory=dict)
    import_modules: dict[Unit, dict[str, float]] = field(default_factory=dict)
    flow: str = "absent"
    warmup: int = 0
    skipped: int = 0
    source_makespan: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    @functools.cached_property
    def _parent_index(self) -> tuple[np.ndarray, np.ndarray]:
        return parent_index(self.parents)

    def sum_over_parents(self, values: np.ndarray) -> np.ndarray:
        """For each task, the sum of ``values`` (one per task) over its parents."""
        return _over_parents(self._parent_index, values)

    @property
    def work(self) -> float:
        """Total execution seconds of the tasks after warm-up (failed attempts included)."""
        retried = sum(sum(r) for r in self.retries[self.warmup :])
        return float(self.durations[self.warmup :].sum()) + retried


def _flow(plan: Plan) -> tuple[str, list[list[int]], list[float], list[float]]:
    """The plan's client control flow (recorded in schema 1.2 traces, or inferred)."""
    n = len(plan)
    if plan.flow == "absent":
        return "absent", [[] for _ in range(n)], [0.0] * n, [0.0] * n
    return plan.flow, plan.control, plan.client, plan.busy


def _units(module: str | None, inputs: tuple[str, ...], first_use: Unit) -> tuple[Unit, ...]:
    """A task's import units in the order a replay worker imports them."""
    units: list[Unit] = [(module,)] if module else []
    units += [(m,) for m in inputs]
    if first_use:
        units.append(first_use)
    return tuple(units)


def _imports(plan: Plan) -> list[tuple[Unit, ...]]:
    """Each task's import units (tapstrace.replay.task.ReplayTask.__call__: its module,
    its parents' result types' modules, its function's first-use modules); the tuples
    are shared between tasks that import the same (a million tasks, a few functions)."""
    n = len(plan.names)
    modules = plan.modules if len(plan.modules) == n else [None] * n
    first = plan.imported_modules if len(plan.imported_modules) == n else [()] * n
    typed = len(plan.output_modules) == n
    shared: dict[tuple[Any, ...], tuple[Unit, ...]] = {}
    found = []
    for i in range(n):
        inputs = plan.input_modules(plan.parents[i]) if typed else ()
        key = (modules[i], inputs, first[i])
        units = shared.get(key)
        if units is None:
            units = shared[key] = _units(modules[i], inputs, first[i] or ())
        found.append(units)
    return found


def _retries(plan: Plan) -> list[tuple[float, ...]]:
    if not plan.attempts:
        return [()] * len(plan)
    return [tuple(a[0] for a in tries) for tries in plan.attempts]


def parent_index(parents: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Every (task, parent) edge as two arrays: the task's position, the parent's."""
    counts = np.fromiter((len(ps) for ps in parents), dtype=np.int64, count=len(parents))
    flat = np.fromiter(
        itertools.chain.from_iterable(parents), dtype=np.int64, count=int(counts.sum())
    )
    return np.repeat(np.arange(len(parents)), counts), flat


def _over_parents(index: tuple[np.ndarray, np.ndarray], values: np.ndarray) -> np.ndarray:
    owner, flat = index
    return np.bincount(owner, weights=values[flat], minlength=len(values))


def _shifted(lists: list[list[int]], by: int) -> list[list[int]]:
    return [[p + by for p in ps] for ps in lists] if by else lists


def from_plan(plan: Plan, facts: dict[str, Any] | None = None) -> Workload:
    """The workload of a replay plan (its lists are shared, not copied)."""
    n_warm = len(plan.warmup)
    flow, control, client, busy = _flow(plan)
    names = [name for _, name, _, _ in plan.warmup] + list(plan.names)
    sources = [source for source, _, _, _ in plan.warmup] + list(plan.source_ids)
    durations = np.array([d for _, _, d, _ in plan.warmup] + list(plan.durations), dtype=np.float64)
    outputs = np.array([0] * n_warm + list(plan.outputs), dtype=np.int64)
    none: list[list[int]] = [[] for _ in range(n_warm)]
    parents = none + _shifted(plan.parents, n_warm)
    externals = np.array([0] * n_warm + list(plan.externals), dtype=np.int64)
    warm_kinds: list[str | None] = [None] * n_warm
    # Bytes each task receives: its parents' outputs plus its external input.
    inputs = externals + _over_parents(parent_index(parents), outputs).astype(np.int64)
    failed = np.array([False] * n_warm + [f is not None for f in plan.failures], dtype=bool)
    controls = [list(x) for x in none] + _shifted(control, n_warm)
    imports = [_units(m, (), ()) for _, _, _, m in plan.warmup] + _imports(plan)
    import_cpu = np.array([0.0] * n_warm + [c or 0.0 for c in plan.import_cpu], dtype=np.float64)
    if len(import_cpu) != len(names):  # a plan without import columns (synthetic)
        import_cpu = np.zeros(len(names))
    if n_warm and len(names) > n_warm:
        # The replay waits for every warm-up task before its first real submission.
        controls[n_warm] = sorted(set(controls[n_warm]) | set(range(n_warm)))
    return Workload(
        names=names,
        source_ids=sources,
        durations=durations,
        outputs=outputs,
        inputs=inputs,
        failed=failed,
        parents=parents,
        control=controls,
        client=np.array([0.0] * n_warm + list(client), dtype=np.float64),
        busy=np.array([0.0] * n_warm + list(busy), dtype=np.float64),
        retries=[()] * n_warm + _retries(plan),
        output_kinds=[*warm_kinds, *plan.output_kinds],
        externals=externals,
        external_kinds=[*warm_kinds, *plan.external_kinds],
        imports=imports,
        import_cpu=import_cpu,
        import_cost=dict(plan.import_cost),
        flow=flow,
        warmup=n_warm,
        skipped=plan.skipped,
        source_makespan=plan.source_makespan,
        facts=facts or {},
    )


def from_trace(
    trace: Trace,
    *,
    time_scale: float = 1.0,
    data_scale: float = 1.0,
    limit: int | None = None,
    warmup: bool = True,
    client_flow: ClientFlow = "auto",
    client_time: ClientTime = "scale",
) -> Workload:
    """The workload a replay of ``trace`` would run, with the replay's options (bad
    input raises a TraceError)."""
    plan = build_plan(
        trace,
        time_scale=time_scale,
        data_scale=data_scale,
        limit=limit,
        client_flow=client_flow,
        client_time=client_time,
    )
    if not warmup:
        plan.warmup = []
    facts = {
        "path": str(trace.path) if trace.path else None,
        "app": trace.app,
        "executor": trace.executor,
        "workers": trace.metadata.get("workers"),
        "run_id": trace.metadata.get("run_id"),
    }
    return from_plan(plan, facts)
