"""The streaming submitter: hands a replay plan to the engine as fast as the DAG allows.

Every task is submitted as soon as its parents have been submitted (their TaskFutures
are its arguments; the engine or the executor waits for them), in plan order, so nothing
is serialised by levels. Where the source recorded its client's control flow, the
submitter re-enacts the client: before a task it waits for the task's control parents
(the results the source client had waited on) and spends the recorded client time, so
a task goes at max(previous submission + client busy time, control parents received +
client time after them). At most ``max_in_flight`` tasks are submitted and unfinished at
once, which bounds the engine's memory on huge traces. A parent's future is dropped as
soon as its last child is submitted, so a payload is freed once its consumers are done
with it (the engine releases a task's arguments after dispatch).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from tapstrace.engine.engine import Engine
from tapstrace.engine.future import DependencyError, TaskFuture
from tapstrace.replay.plan import Plan
from tapstrace.replay.task import Attempt, ExternalPayload, ReplayTask, occupy


@dataclass
class Outcome:
    """What a replay did: tasks by final status and its timing."""

    tasks: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    #: Wall-clock time just before the first submission and of the last result.
    first_submitted: float | None = None
    last_received: float | None = None
    #: Seconds the submitter spent handing every task to the engine.
    submit_seconds: float = 0.0

    @property
    def makespan(self) -> float | None:
        """First submission to last result, in seconds."""
        if self.first_submitted is None or self.last_received is None:
            return None
        return self.last_received - self.first_submitted


def _status(future: Future[Any]) -> str:
    if future.cancelled():
        return "cancelled"
    # Not a client wait (tapstrace.engine.client): TaskFuture.exception would record one.
    exc = Future.exception(future) if isinstance(future, TaskFuture) else future.exception()
    if exc is None:
        return "ok"
    return "dependency-failed" if isinstance(exc, DependencyError) else "failed"


class _Tracker:
    """Counts finished tasks from future callbacks and frees in-flight slots."""

    def __init__(self, total: int, max_in_flight: int | None) -> None:
        self.total = total
        self.finished = 0
        self.statuses: Counter[str] = Counter()
        self.last = 0.0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.slots = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None
        if total == 0:
            self.done.set()

    def __call__(self, future: Future[Any]) -> None:
        received = getattr(future, "received", None) or time.time()
        status = _status(future)
        with self.lock:
            self.finished += 1
            self.statuses[status] += 1
            if received > self.last:
                self.last = received
            finished = self.finished
        if self.slots is not None:
            self.slots.release()
        if finished == self.total:
            self.done.set()


def _client_work(until: float, mode: str, cpu_share: float) -> None:
    """The replay client's own work up to wall time ``until`` (as ``occupy`` does for
    tasks: ``recorded`` spins for the recorded CPU share of it)."""
    left = until - time.time()
    if left > 0:
        occupy(left, mode, left * cpu_share)


def submit_plan(
    engine: Engine,
    plan: Plan,
    *,
    mode: str = "sleep",
    max_in_flight: int | None = None,
    timeout: float | None = None,
) -> Outcome:
    """Submit every task of ``plan`` to ``engine`` and wait until all have finished."""
    n = len(plan)
    tracker = _Tracker(n, max_in_flight)
    slots = tracker.slots
    futures: dict[int, TaskFuture] = {}
    remaining = list(plan.children)
    names, sources, durations, outputs = plan.names, plan.source_ids, plan.durations, plan.outputs
    externals, failures, parents = plan.externals, plan.failures, plan.parents
    control, client, busy, busy_cpu = plan.control, plan.client, plan.busy, plan.busy_cpu
    cpus, blocked, kinds = plan.cpus, plan.blocked, plan.output_kinds
    ext_kinds, gils = plan.external_kinds, plan.gil
    error_types, attempts, modules = plan.error_types, plan.attempts, plan.modules
    imported, import_cpu, import_cost = plan.imported_modules, plan.import_cpu, plan.import_cost
    paced = plan.flow != "absent"
    pid = os.getpid()
    submit = engine.submit_task
    outcome = Outcome(tasks=n)
    outcome.first_submitted = previous = time.time()
    for i in range(n):
        if slots is not None:
            slots.acquire()
        if paced:
            share = busy_cpu[i] / busy[i] if busy[i] > 0 else 0.0
            until = previous + busy[i]
            cs = control[i]
            if cs:
                engine.wait([futures[c] for c in cs])  # the source client waited for these
                until = max(until, time.time() + client[i])
                for c in cs:
                    remaining[c] -= 1
                    if not remaining[c]:
                        del futures[c]
            _client_work(until, mode, share)
        ps: Sequence[int] = parents[i]
        args: list[Any] = []
        if ps:
            args = [futures[p] for p in ps]
            for p in ps:
                remaining[p] -= 1
                if not remaining[p]:
                    del futures[p]
        if externals[i]:
            args.append(ExternalPayload(externals[i], ext_kinds[i]))
        tries = tuple(Attempt(*a) for a in attempts[i])
        # The parents' results of a library's type: unpickling them imported the library.
        inputs = plan.input_modules(ps)
        task = ReplayTask(names[i], durations[i], mode, outputs[i], failures[i], cpu=cpus[i],
                          output_kind=kinds[i], error_type=error_types[i], attempts=tries,
                          client_pid=pid, module=modules[i], blocked=blocked[i],
                          gil=gils[i], input_modules=inputs, imports=imported[i],
                          import_cpu=import_cpu[i],
                          import_cost=import_cost.get(imported[i], 0.0))  # fmt: skip
        future = submit(task, tuple(args), source_id=sources[i], retries=len(tries) or None)
        previous = time.time()
        future.add_done_callback(tracker)
        if remaining[i]:
            futures[i] = future
    outcome.submit_seconds = time.time() - outcome.first_submitted
    tracker.done.wait(timeout)
    outcome.statuses = tracker.statuses
    outcome.last_received = tracker.last or None
    return outcome


def run_warmup(engine: Engine, plan: Plan, mode: str = "sleep") -> None:
    """Replay the source's warm-up tasks (independent, flagged as warm-up) and wait."""
    if not plan.warmup:
        return
    with engine.warmup():
        futures = [
            engine.submit_source(source, ReplayTask(name, duration, mode, 0, module=module))
            for source, name, duration, module in plan.warmup
        ]
    engine.wait(futures)
