"""Live calibration: short workloads on a real executor, recorded as traces, then fitted.

For each worker count, a fresh executor runs, in order:

1. ``startup``: one no-op task alone (how long a lone worker takes to come up), then
   20 ms sleeping tasks, keeping twice as many queued as there are workers, until every
   worker has taken one (or none has come up for a while): when each worker came up,
   and whether workers start on demand;
2. ``noop``: a bag of no-op tasks submitted at once (sized to last about 1.5 s): the
   client's submission cost, the scheduler's steady pace (its throughput ceiling) and
   the gap between no-op tasks;
3. ``short``: a bag of sleeping tasks, each half as long as the scheduler takes to
   serve every worker once at the no-op pace (skipped under 0.5 ms): the scheduler's
   pace for tasks that do work, which is slower than for no-op tasks on Dask;
4. ``busy``: a bag of sleeping tasks (6 per worker, at least 40), long enough for the
   scheduler to keep up with every worker (3 x workers x its pace): the gap between
   tasks on a busy worker, and how much longer than asked a task runs;
5. ``single``: no-op tasks one at a time: the launch latency on an idle executor;
6. ``chain``: 60 tasks each depending on the previous one, of durations drawn (seeded,
   log-uniform) from 0.2-20 ms: dependency hand-off (or engine) latency by the
   parent's duration, and the result's trip back. Spread durations, not one: a
   mechanism with a period (Dask's scheduler batches its messages to a worker every
   5 ms) meets a chain of equal tasks at one phase only;
7. ``payload``: fan-ins: as many tasks as workers (run at once, so on different
   workers) each return a share of 10 kB to 4 MB, and one task takes them all: the cost
   per byte of moving inputs (worker to worker, or through the client) and results;
8. ``queued`` (executors whose plugin declares ``inputs_at_slot``: Parsl): tasks that
   each return 10 kB to 4 MB, then a task per result that takes it and runs as long as
   a ``busy`` task, 6 per worker: they queue for their slots, and the gap between a worker's
   tasks against the next one's input bytes and the previous one's output bytes is
   what moving data costs at the slot, which no waiting hides (Parsl sends a task's
   inputs from its interchange to a worker only once the worker is free).

Tasks are replay tasks (tapstrace.replay.task) submitted by the replay's own submitter,
so the model describes the executor as ``tapstrace replay`` drives it. Every workload is
written as a trace whose metadata says which workload it is and how long each task was
asked to run (docs/predict.md); ``fit_model`` reads them like any other trace.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from tapstrace.engine.engine import Engine
from tapstrace.engine.record import Row, TaskRecord
from tapstrace.errors import ConfigError
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.predict.fit import fit_model
from tapstrace.predict.model import ExecutorModel
from tapstrace.replay.plan import Plan, synthetic_plan
from tapstrace.replay.submit import submit_plan
from tapstrace.replay.task import ReplayTask
from tapstrace.trace.metadata import environment, trace_metadata
from tapstrace.trace.reader import Trace, read_trace
from tapstrace.trace.schema import records_to_batch
from tapstrace.trace.writer import TraceWriter

log = logging.getLogger(__name__)

#: Names of an executor config's worker-count field, in the order they are looked for.
WORKER_FIELDS = ("workers", "max_workers", "max_threads", "max_processes", "num_cpus")
_WORKER_ID = TaskRecord._fields.index("worker_id")
_STARTED = TaskRecord._fields.index("started")

#: Seconds each calibration task is asked to run, by task name.
DURATIONS = {
    "calibrate_cold": 0.0,
    "calibrate_startup": 0.02,
    "calibrate_busy": 0.02,  # at least: longer where the scheduler is slow
    "calibrate_noop": 0.0,
    "calibrate_short": 0.001,  # n x the no-op pace / 2, in each trace's metadata
    "calibrate_single": 0.0,
    "calibrate_chain": 0.005,  # older calibrations; a spread chain's are in ``asked``
    "calibrate_payload": 0.005,
    "calibrate_queued_source": 0.005,
    "calibrate_queued": 0.02,  # as long as a busy task, in each trace's metadata
}


#: Shortest ``short`` task worth a bag (shorter: the sleep's own granularity).
SHORT_MIN = 0.0005


@dataclass(frozen=True)
class Sizes:
    """How much each workload runs (``quick`` sizes are for tests)."""

    noop: int = 500  # at least; up to 10 x as many to last noop_seconds
    noop_seconds: float = 1.5
    busy: int = 6  # tasks per worker
    busy_min: int = 40  # ... and at least this many
    singles: int = 20
    chain: int = 60
    #: The chain's task durations are drawn log-uniformly from this range (seconds);
    #: None: every task runs DURATIONS["calibrate_chain"] (calibrations before
    #: 1 December 2026, of 30 tasks).
    chain_spread: tuple[float, float] | None = (0.0002, 0.02)
    payload_links: int = 4  # fan-ins per size
    payloads: tuple[int, ...] = (10_000, 100_000, 1_000_000, 4_000_000)
    startup_timeout: float = 60.0
    seed: int = 0

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            noop=150,
            noop_seconds=0.3,
            busy=4,
            singles=10,
            chain=24,
            payload_links=3,
            payloads=(10_000, 300_000),
        )


def worker_field(config: ExecutorConfig) -> str:
    """The field of an executor config that sets its worker count."""
    for name in WORKER_FIELDS:
        if name in type(config).model_fields:
            return name
    raise ConfigError(
        f"--workers: executor {type(config).name!r} has no worker-count parameter "
        f"(looked for {', '.join(WORKER_FIELDS)}); calibrate it at its own setting"
    )


def with_workers(config: ExecutorConfig, workers: int) -> ExecutorConfig:
    """A copy of ``config`` with ``workers`` workers."""
    return type(config)(**{**config.model_dump(), worker_field(config): workers})


class _Switch:
    """A recorder that sends records to the current workload's trace writer and notes
    which workers have started a task."""

    def __init__(self) -> None:
        self.writer: TraceWriter | None = None
        self.workers: set[str] = set()
        self.first_start: float | None = None
        self.last_new: float = 0.0
        self.lock = threading.Lock()

    def record(self, row: Row) -> None:
        writer = self.writer
        if writer is not None:
            writer.record(row)
        worker = row[_WORKER_ID]
        if worker is not None and worker not in self.workers:
            with self.lock:
                self.workers.add(worker)
                self.last_new = time.monotonic()
                started = row[_STARTED]
                if started is not None and (self.first_start is None or started < self.first_start):
                    self.first_start = started


def _plan(name: str, n: int, duration: float, *, chain: bool = False, output: int = 0) -> Plan:
    parents = [[i - 1] if chain and i else [] for i in range(n)]
    return synthetic_plan([name] * n, [duration] * n, parents, [output] * n)


def chain_durations(sizes: Sizes) -> list[float]:
    """The chain's task durations: drawn log-uniformly from ``sizes.chain_spread``
    (seeded), or the fixed duration."""
    if sizes.chain_spread is None:
        return [DURATIONS["calibrate_chain"]] * sizes.chain
    low, high = sizes.chain_spread
    rng = np.random.default_rng(sizes.seed)
    return [float(d) for d in np.exp(rng.uniform(np.log(low), np.log(high), sizes.chain))]


def _fan_in(workers: int, size: int) -> Plan:
    """``workers`` tasks returning ``size / workers`` bytes each, then one that takes
    them all (and returns ``size``)."""
    duration = DURATIONS["calibrate_payload"]
    parents: list[list[int]] = [[] for _ in range(workers)] + [list(range(workers))]
    outputs = [size // workers] * workers + [size]
    names = ["calibrate_payload"] * (workers + 1)
    return synthetic_plan(names, [duration] * (workers + 1), parents, outputs)


def _queued(workers: int, sizes: Sizes, duration: float) -> Plan:
    """``busy x workers`` (at least 24) tasks returning sizes.payloads in turn, then one
    task per result that takes it and runs ``duration`` seconds: those queue."""
    count = max(sizes.busy * workers, 24)
    outputs = [sizes.payloads[i % len(sizes.payloads)] for i in range(count)]
    names = ["calibrate_queued_source"] * count + ["calibrate_queued"] * count
    durations = [DURATIONS["calibrate_queued_source"]] * count + [duration] * count
    parents: list[list[int]] = [[] for _ in range(count)] + [[i] for i in range(count)]
    return synthetic_plan(names, durations, parents, outputs + [0] * count)


class Calibration:
    """Runs the workloads on one executor config at several worker counts."""

    def __init__(
        self,
        config: ExecutorConfig,
        out: Path,
        *,
        sizes: Sizes | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.out = out
        self.sizes = sizes or Sizes()
        self.progress = progress or (lambda message: None)
        self.traces: list[Path] = []
        # Once, before any executor starts: reading package versions takes a while, and
        # a fresh executor's workers would come up meanwhile, unmeasured.
        self.environment = environment()
        # Likewise pyarrow's first conversion of Python values, which imports pandas
        # (0.15-0.3 s): the first trace writer would otherwise pay it after the build.
        records_to_batch([])
        #: Whether the executor resolves dependencies itself (known once it is built).
        self.native: bool | None = None

    def _metadata(
        self,
        config: ExecutorConfig,
        executor: Any,
        workload: str,
        run_id: str,
        durations: dict[str, float] | None = None,
        asked: dict[str, float] | None = None,
    ) -> Any:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        app = {"name": "calibration", "params": {"workload": workload}}
        run = {
            "run_id": run_id,
            "app": app,
            "executor": {
                "name": type(config).name,
                "params": config.model_dump(mode="json"),
                **executor.describe(),
            },
            "workers": executor.workers() or getattr(config, worker_field(config)),
            "calibration": {
                "workload": workload,
                "durations": {**DURATIONS, **(durations or {})},
                # Tasks asked to run other than their name's duration, by source id.
                **({"asked": asked} if asked else {}),
                "load": load,
            },
            "started_at": datetime.now().astimezone().isoformat(),
            **self.environment,
        }
        params = config.model_dump(mode="json", exclude_none=True)
        toml = tomli_w.dumps({"app": app, "executor": {"name": type(config).name, **params}})
        return trace_metadata(run, toml)

    @contextlib.contextmanager
    def _recording(
        self,
        switch: _Switch,
        config: ExecutorConfig,
        executor: Any,
        workload: str,
        workers: int,
        durations: dict[str, float] | None = None,
        asked: dict[str, float] | None = None,
    ) -> Iterator[None]:
        path = self.out / f"w{workers}-{workload}.arrow"
        path.unlink(missing_ok=True)
        run_id = uuid.uuid4().hex[:12]
        metadata = self._metadata(config, executor, workload, run_id, durations, asked)
        writer = TraceWriter(path, metadata)
        switch.writer = writer
        try:
            yield
        finally:
            switch.writer = None
            writer.close()
            self.traces.append(path)

    def run(self, workers: list[int]) -> list[Path]:
        """Run every workload at each worker count; return the traces written."""
        self.out.mkdir(parents=True, exist_ok=True)
        for n in workers:
            config = with_workers(self.config, n)
            self.progress(f"{type(config).name}: {n} workers")
            executor = config.build(self.out / f"w{n}-run")
            self.native = bool(executor.native_dependencies)
            try:
                self._workloads(config, executor, n)
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
        return self.traces

    def _workloads(self, config: ExecutorConfig, executor: Any, n: int) -> None:
        switch = _Switch()
        engine = Engine(executor, recorder=switch)
        sizes = self.sizes
        with self._recording(switch, config, executor, "startup", n):
            self._startup(engine, switch, n)
        # A first bag tells the pace; the measured one lasts about noop_seconds.
        probe = submit_plan(engine, _plan("calibrate_noop", sizes.noop // 4, 0.0))
        pace = (probe.makespan or 0.0) / max(1, sizes.noop // 4)
        count = sizes.noop if pace <= 0 else int(sizes.noop_seconds / pace)
        count = min(max(count, sizes.noop), 10 * sizes.noop)
        with self._recording(switch, config, executor, "noop", n):
            outcome = submit_plan(engine, _plan("calibrate_noop", count, 0.0))
        pace = (outcome.makespan or 0.0) / count
        # Tasks that do work, each half as long as the scheduler takes to serve every
        # worker once at the no-op pace, so that the workers still wait for it: Dask's
        # pace is slower for them (its messages carry fewer tasks each).
        short = n * pace / 2
        if short >= SHORT_MIN:
            short_count = min(max(sizes.noop // 2, int(sizes.noop_seconds / 2 / pace)), count)
            with self._recording(switch, config, executor, "short", n, {"calibrate_short": short}):
                submit_plan(engine, _plan("calibrate_short", short_count, short))
        busy = max(DURATIONS["calibrate_busy"], 3 * n * pace)
        with self._recording(switch, config, executor, "busy", n, {"calibrate_busy": busy}):
            submit_plan(engine, _plan("calibrate_busy", max(sizes.busy * n, sizes.busy_min), busy))
        with self._recording(switch, config, executor, "single", n):
            for _ in range(sizes.singles):
                engine.submit(ReplayTask("calibrate_single", 0.0, "sleep", 0)).result()
        durations = chain_durations(sizes)
        parents = [[i - 1] if i else [] for i in range(len(durations))]
        plan = synthetic_plan(["calibrate_chain"] * len(durations), durations, parents)
        asked = None
        if sizes.chain_spread is not None:  # each task's own duration, for the fit
            asked = dict(zip(plan.source_ids, durations, strict=True))
        with self._recording(switch, config, executor, "chain", n, asked=asked):
            submit_plan(engine, plan)
        with self._recording(switch, config, executor, "payload", n):
            for size in sizes.payloads:
                for _ in range(sizes.payload_links):
                    submit_plan(engine, _fan_in(n, size))
        if type(config).inputs_at_slot:
            queued = {"calibrate_queued": busy}
            with self._recording(switch, config, executor, "queued", n, queued):
                submit_plan(engine, _queued(n, sizes, busy))

    def _startup(self, engine: Engine, switch: _Switch, n: int) -> None:
        """Keep 2n sleeping tasks queued until all n workers have taken one (or none
        has come up for a while), and at least 2n tasks have run."""
        engine.submit(ReplayTask("calibrate_cold", 0.0, "sleep", 0)).result()
        task = ReplayTask("calibrate_startup", DURATIONS["calibrate_startup"], "sleep", 0)
        pending: set[concurrent.futures.Future[Any]] = set()
        begin = time.monotonic()
        done = 0
        while True:
            while len(pending) < 2 * n:
                pending.add(engine.submit(task))
            finished, rest = concurrent.futures.wait(
                pending, timeout=1.0, return_when=concurrent.futures.FIRST_COMPLETED
            )
            pending = set(rest)
            done += len(finished)
            now = time.monotonic()
            with switch.lock:
                seen, last_new = len(switch.workers), switch.last_new
            # Workers can take many seconds to start on a busy machine (each spawned
            # interpreter imports the client's main module): wait, but not for workers
            # that will never come (an executor capped below n, such as Parsl with fewer
            # cores than workers x cores_per_worker).
            patience = max(5.0, last_new - begin) if seen else self.sizes.startup_timeout
            if done >= 2 * n and (seen >= n or now - last_new > patience):
                break
            if now - begin > self.sizes.startup_timeout:
                log.warning("calibration: %d of %d workers came up", seen, n)
                break
        concurrent.futures.wait(pending)


def calibrate(
    config: ExecutorConfig,
    workers: list[int],
    out: Path,
    *,
    sizes: Sizes | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[ExecutorModel, list[Path]]:
    """Calibrate the executor ``config`` describes at each of ``workers``; the traces go
    to ``out``. Returns the fitted model and the traces."""
    if not workers:
        raise ConfigError("--workers: give at least one worker count")
    worker_field(config)  # fails before anything starts
    calibration = Calibration(config, out, sizes=sizes, progress=progress)
    paths = calibration.run(sorted(set(workers)))
    traces: list[Trace] = [read_trace(p, warn=False) for p in paths]
    executor_cls = type(config)
    model = fit_model(
        traces,
        executor=executor_cls.name,
        params=config.model_dump(mode="json"),
        native=calibration.native,
        placement=executor_cls.placement,
        source={
            "kind": "calibration",
            "traces": [str(p) for p in paths],
            "workers": sorted(set(workers)),
        },
    )
    return model, paths
