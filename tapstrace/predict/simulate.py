"""The discrete-event simulation of a workload on a modelled executor with N workers.

List scheduling as executors do it: tasks that are ready go into one FIFO queue; the
scheduler hands the head of the queue to a free worker slot, at most one dispatch per
``service`` seconds (its throughput ceiling). A task that found an idle slot starts
``launch`` seconds after it was dispatched (``handoff`` after its last parent's end, for
executors that resolve dependencies themselves; with a model that has them, drawn from
the bin of the duration of the parent that ended last, as is the ``engine`` latency of
the other executors); a task that waited for its slot starts ``gap`` seconds after the
slot's previous task ended. It runs for its duration plus the execution overhead and
per-byte costs, and its result reaches the client ``result`` seconds after its end.
Slots come up at their start-up offsets after the first submission.

Input payloads cost ``input_per_byte``: for executors fed by the client (thread and
process pools) they pass through the scheduler one task after another, so their
transfers add up; executors that resolve dependencies move them worker to worker, in
parallel, and while a task waits for its worker, except what the model's slot costs say
moving data costs once the slot is free (``slot_per_input_byte`` of a waiting task's
inputs and ``slot_per_output_byte`` of the slot's previous output, added to its gap:
Parsl's interchange sends a task to a worker only then). The client takes results one
at a time, ``seconds_per_result_byte`` each byte, so large results queue up there.

The client is simulated too: it submits in the trace's order, each submission costing
``submit`` seconds, and, where the trace recorded its control flow (schema 1.2), submits
a task at max(previous submission + its busy time, its control parents' results + its
client time), as the replay does.

First-use imports (schema 1.4) are simulated as a replay makes them: a task's own
recorded import time is taken off its duration, and a task first imports, on its
worker (for a thread pool: in the process), what it needs and the worker lacks: its
source task's module, its inputs' types' modules and its function's first-use modules
(Workload.imports), each module at its cost (timed on this machine by
tapstrace.predict.imports, else as the source recorded it). Imports are CPU work on
the machine's ``cores`` (processor sharing: 16 new workers importing scikit-learn on 2
cores take 8 times as long each); a thread pool imports under one GIL.

The event loop is a heapq of (time, code) pairs: one event per task end, one per
dependent task becoming ready; submissions come from a cursor, not the heap. Latencies
are drawn per task with numpy before the loop, so a million tasks take seconds.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tapstrace.predict.kinds import IN_MEMORY, KindCost, payload_extras
from tapstrace.predict.model import ExecutorModel, WorkerFit
from tapstrace.predict.workload import Workload

#: Task status codes of a Schedule.
OK, FAILED, DEPENDENCY_FAILED = 0, 1, 2
_INF = math.inf
#: What Dask's scheduler assumes a task of a name none has finished yet takes, seconds.
UNKNOWN_DURATION = 0.5


@dataclass
class Schedule:
    """One simulated run. Times are seconds from the start of the simulation (the first
    submission, warm-up included); ``slot`` is -1 for tasks that never ran."""

    workers: int
    submitted: np.ndarray
    ready: np.ndarray
    dispatched: np.ndarray
    started: np.ndarray
    ended: np.ndarray
    received: np.ndarray
    slot: np.ndarray
    status: np.ndarray
    #: Index of the first task after the warm-up tasks.
    first: int = 0
    #: Client seconds spent submitting and working (not waiting) after the warm-up.
    client_busy: float = 0.0

    @property
    def origin(self) -> float:
        """When the first real (not warm-up) task was submitted."""
        return float(self.submitted[self.first]) if self.first < len(self.submitted) else 0.0

    @property
    def makespan(self) -> float:
        """First real submission to the last result, seconds."""
        if self.first >= len(self.received):
            return 0.0
        return float(self.received[self.first :].max()) - self.origin


@dataclass
class Parameters:
    """A model at one worker count, as the simulator uses it."""

    workers: int
    native: bool
    service: float
    startup: list[float]
    on_demand: bool
    fit: WorkerFit
    per_output_byte: float
    per_result_byte: float
    #: Per-byte costs of each payload kind (ExecutorModel.kind_costs), and whether the
    #: executor passes payloads in memory (no pickling).
    kind_costs: dict[str, KindCost] = field(default_factory=dict)
    in_memory: bool = False
    #: Cores the workers' imports share (None: one per worker, no contention).
    cores: float | None = None
    #: Dask's placement: a task with parents goes to the worker holding its inputs
    #: where it would start soonest (ExecutorModel.placement), at ``bandwidth`` B/s.
    locality: bool = False
    bandwidth: float = 1e8

    @classmethod
    def of(
        cls, model: ExecutorModel, workers: int, *, warm: bool = False, cores: float | None = None
    ) -> Parameters:
        """``model`` at ``workers`` slots; ``warm``: every slot is up from the start;
        ``cores``: the CPUs the workers' imports share (default: those of the machine the
        model was calibrated on; 0: one per worker; a thread pool's: one, its GIL)."""
        fit = model.at(workers)
        if cores is None:
            cores = model.cpu_count
        if model.executor in IN_MEMORY:
            cores = 1.0
        elif not cores or cores <= 0:
            cores = None
        return cls(
            workers=workers,
            native=model.native_dependencies,
            service=fit.service,
            startup=[] if warm else fit.startup,
            on_demand=model.on_demand and not warm,
            fit=fit,
            per_output_byte=model.seconds_per_output_byte,
            per_result_byte=model.seconds_per_result_byte,
            kind_costs=model.kind_costs,
            in_memory=model.executor in IN_MEMORY,
            cores=cores,
            locality=model.placement == "locality",
            bandwidth=model.bandwidth,
        )


class _Cores:
    """Processor sharing: jobs in flight each progress at min(1, cores / jobs) seconds
    of work per second. One virtual clock counts the work a job has done since any
    moment, so a job's end is fixed in virtual time when it starts and the next end is
    the heap's head: O(log n) per job."""

    __slots__ = ("cores", "jobs", "t", "v")

    def __init__(self, cores: float) -> None:
        self.cores = cores
        self.jobs: list[tuple[float, int]] = []  # (virtual end, code)
        self.t = 0.0  # when the virtual clock was last advanced
        self.v = 0.0  # the work each job in flight has done since the start

    def _advance(self, now: float) -> None:
        if self.jobs and now > self.t:
            self.v += (now - self.t) * min(1.0, self.cores / len(self.jobs))
        self.t = now

    def add(self, now: float, work: float, code: int) -> None:
        """Start a job of ``work`` CPU seconds at ``now``."""
        self._advance(now)
        heapq.heappush(self.jobs, (self.v + work, code))

    def next_end(self) -> float:
        """When the job that ends first ends, if no job starts before."""
        if not self.jobs:
            return _INF
        rate = min(1.0, self.cores / len(self.jobs))
        return self.t + max(0.0, self.jobs[0][0] - self.v) / rate

    def pop(self, now: float) -> int:
        """End the first job at ``now`` (its :meth:`next_end`); its code."""
        self._advance(now)
        return heapq.heappop(self.jobs)[1]


def simulate(
    workload: Workload, params: Parameters, rng: np.random.Generator | None = None
) -> Schedule:
    """Simulate ``workload``; latencies are drawn from ``rng``, or are all medians."""
    # The loop makes millions of small lists and tuples, none of them in cycles: the
    # cyclic collector would scan the growing heap again and again for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _simulate(workload, params, rng)
    finally:
        if enabled:
            gc.enable()


def _simulate(workload: Workload, params: Parameters, rng: np.random.Generator | None) -> Schedule:
    n = len(workload)
    fit = params.fit
    nslots = params.workers
    native = params.native
    service = params.service
    # Tasks that do work may pace the scheduler differently from no-op ones.
    work_service = params.fit.work_service or service

    # Per-task draws, as Python lists: scalar indexing in the loop stays cheap.
    submit_cost = fit.submit.sample(rng, n).tolist()
    launch = fit.launch.sample(rng, n).tolist()
    handoff = fit.handoff.sample(rng, n).tolist()
    # Moving a task's inputs: through the client, one task after another (the engine
    # hands the values to the executor, which serialises them in turn), or worker to
    # worker, in parallel, for executors that resolve dependencies themselves.
    # Payloads of a dearer kind than bytes (arrays, Python objects, dicts) cost more to
    # make, pickle and unpickle, where each happens.
    on_worker, at_client, moving, external = payload_extras(
        params.kind_costs, params.in_memory, workload.outputs, workload.output_kinds,
        workload.externals, workload.external_kinds,
    )  # fmt: skip
    external_only = external.tolist()
    moving_cost = (workload.outputs * fit.input_per_byte + moving).tolist()
    if params.kind_costs:
        external = external + workload.sum_over_parents(moving)
    transfer = (workload.inputs * fit.input_per_byte + external).tolist()
    serial = not native
    engine = fit.engine.sample(rng, n).tolist()
    # The dependency latency (handoff, or engine) by the duration of the parent that
    # ended last, where the model has bins: a draw from each bin for every task, the
    # one used chosen when its last parent ends.
    after_edges = fit.after_edges
    after = [d.sample(rng, n).tolist() for d in fit.after] if fit.after else []
    gap = fit.gap.sample(rng, n).tolist()
    noop_gap = fit.noop_gap.sample(rng, n).tolist()
    # What a waiting task's inputs, and its slot's previous output, cost once the slot
    # is free (executors that move inputs then: the model's slot costs, else 0).
    slot_out = [0.0] * n
    if native and (fit.slot_per_input_byte or fit.slot_per_output_byte):
        gap = (np.asarray(gap) + workload.inputs * fit.slot_per_input_byte).tolist()
        noop_gap = (np.asarray(noop_gap) + workload.inputs * fit.slot_per_input_byte).tolist()
        slot_out = (workload.outputs * fit.slot_per_output_byte).tolist()
    result = fit.result.sample(rng, n).tolist()
    # The client takes results one at a time: their bytes queue up there.
    collect = (workload.outputs * params.per_result_byte + at_client).tolist()
    collector_free = 0.0
    asked = np.maximum(workload.durations, 0.0)
    # The overhead is a sleep's (or a wrapper's) on tasks that run at all.
    # First-use imports: the replay takes each task's own recorded import time off it
    # and imports the function's modules on each worker's first task of the function.
    # On a thread pool, making a payload of Python objects holds the GIL: that work
    # takes its turn on the process's one "core" with the imports, not in parallel.
    cores = _Cores(params.cores) if params.cores else None
    gil_work = (on_worker if params.in_memory and cores is not None else np.zeros(n)).tolist()
    durations = np.maximum(
        asked
        + np.where(asked > 0, fit.execution.sample(rng, n), 0.0)
        + workload.outputs * params.per_output_byte
        + (0.0 if params.in_memory and cores is not None else on_worker)
        - workload.import_cpu,
        0.0,
    )
    first_use = workload.imports
    import_cost = workload.import_cost
    by_module = workload.import_modules
    due = [0.0] * n  # what each task's imports cost (where it had some to make)
    # The units and modules each slot's process has imported (a thread pool's slots
    # share one process).
    loaded: list[set[tuple[str, ...]]] = (
        [set()] * nslots if params.in_memory else [set() for _ in range(nslots)]
    )
    loaded_modules: list[set[str]] = (
        [set()] * nslots if params.in_memory else [set() for _ in range(nslots)]
    )
    noop = (asked == 0).tolist()
    retry_cost = fit.result.median + fit.launch.median + fit.execution.median
    for i, tries in enumerate(workload.retries):
        if tries:
            durations[i] += sum(tries) + len(tries) * retry_cost
    duration = durations.tolist()
    failed = workload.failed.tolist()
    busy = workload.busy.tolist()
    client = workload.client.tolist()

    parents = workload.parents
    children: list[list[int]] = [[] for _ in range(n)]
    pend = [0] * n
    for i, ps in enumerate(parents):
        pend[i] = len(ps)
        for p in ps:
            children[p].append(i)
    control = workload.control
    ctrl_children: list[list[int]] = [[] for _ in range(n)]
    ctrl_pend = [0] * n
    for i, cs in enumerate(control):
        ctrl_pend[i] = len(cs)
        for c in cs:
            ctrl_children[c].append(i)

    nan = math.nan
    S = [nan] * n
    R = [nan] * n
    D = [nan] * n
    ST = [nan] * n
    EN = [nan] * n
    RC = [nan] * n
    SLOT = [-1] * n
    RUN = [nan] * n  # when each task joined the queue
    status = [OK] * n
    latest = [0.0] * n  # native: parents' latest end; else their latest result
    latest_rc = [0.0] * n  # every task: parents' latest result (the trace's ``ready``)
    ctrl_latest = [0.0] * n
    dead = [False] * n
    submitted = [False] * n
    by_handoff = [False] * n
    last_parent = [0] * n  # the parent whose end (native) or result came last
    import_code = -n - nslots - 1  # a task starting with its imports: import_code - i

    heap: list[tuple[float, int]] = []
    push = heapq.heappush
    pop = heapq.heappop
    fifo: deque[int] = deque()
    startup = params.startup
    on_demand = params.on_demand
    spawn, spawn_step = fit.spawn, fit.spawn_step
    born = 0  # on demand: slots started so far
    spawning = 0  # ... and not up yet
    batch: list[int] = []  # the slots starting together
    batch_start = [0.0]
    up_at = [_INF] * nslots
    idle: list[tuple[float, int]] = []
    if not on_demand:
        # Every slot comes up at its offset; start-up events have codes below -n.
        offsets = [startup[k] if k < len(startup) else 0.0 for k in range(nslots)]
        idle = [(offsets[k], k) for k in range(nslots)]
        heap.extend((offsets[k], -n - 1 - k) for k in range(nslots) if offsets[k] > 0)
        heapq.heapify(idle)
        heapq.heapify(heap)
    last_end = [-_INF] * nslots  # when each slot's latest task ended
    last_noop = [False] * nslots  # whether that task did no work
    last_out = [0.0] * nslots  # what its output costs the slot's next waiting task
    sched_next = 0.0

    # Placement by locality (Dask's decide_worker for tasks that are not "root-ish"): a
    # task whose parents have ended goes to the slot, among those that ran a parent
    # (copies fetched by other workers are not counted), where the scheduler expects
    # it to start soonest (its queued tasks at each task name's running mean duration,
    # 0.5 s while unknown, plus the bytes they and this task fetch at ``bandwidth``),
    # and waits there if the slot is busy. Root-ish tasks (no parents; or a name with
    # more than 2 x slots tasks whose parents' names have fewer than 5 tasks between
    # them) take the FIFO queue.
    locality = params.locality and native and nslots > 1
    running = [False] * nslots  # locality: the slot runs a task (or is about to)
    local: list[list[int]] = [[] for _ in range(nslots)]  # tasks placed on each slot
    placed = [False] * n
    group = [0] * n
    mean_run: list[float] = []
    counts: list[dict[int, int]] = [{} for _ in range(nslots)]
    fetching = [0.0] * nslots  # bytes the tasks placed on each slot fetch
    need = [0.0] * n  # bytes each placed task fetches
    moved = [0.0] * n  # what fetching them costs
    outputs = workload.outputs.tolist()
    bandwidth = params.bandwidth
    if locality:
        ids: dict[str, int] = {}
        group = [ids.setdefault(name, len(ids)) for name in workload.names]
        size = [0] * len(ids)
        for g in group:
            size[g] += 1
        feeds: list[set[int]] = [set() for _ in ids]
        for i, ps in enumerate(parents):
            feeds[group[i]].update(group[p] for p in ps)
        rootish = [
            size[g] > 2 * nslots and len(feeds[g]) < 5 and sum(size[f] for f in feeds[g]) < 5
            for g in range(len(ids))
        ]
        placed = [bool(parents[i]) and not rootish[group[i]] for i in range(n)]
        mean_run = [-1.0] * len(ids)

    def fetch_cost(i: int, k: int) -> float:
        """What moving task i's inputs to slot k costs (those made elsewhere)."""
        cost = external_only[i]
        for p in parents[i]:
            if SLOT[p] != k:
                cost += moving_cost[p]
        return cost

    def place(c: int, now: float) -> None:
        """Put task c (its parents ended) on the slot where it would start soonest."""
        nonlocal sched_next
        ps = parents[c]
        if len(ps) == 1:  # one candidate: its parent's slot, nothing to fetch
            k = SLOT[ps[0]]
            fetched = 0.0
            moved[c] = external_only[c]
        else:
            # What each candidate slot holds already (bytes, and what moving them costs);
            # the rest it would fetch.
            total = cost = 0.0
            holds: dict[int, list[float]] = {}
            for p in ps:
                nbytes = outputs[p]
                total += nbytes
                cost += moving_cost[p]
                k = SLOT[p]
                if k >= 0:
                    if k in holds:
                        held = holds[k]
                        held[0] += nbytes
                        held[1] += moving_cost[p]
                    else:
                        holds[k] = [nbytes, moving_cost[p]]
            k, best_at = -1, _INF
            for slot, held in holds.items():
                at = (fetching[slot] + total - held[0]) / bandwidth
                for g, count in counts[slot].items():
                    m = mean_run[g]
                    at += (m if m >= 0 else UNKNOWN_DURATION) * count
                if at < best_at or (at == best_at and slot < k):
                    k, best_at = slot, at
            if k >= 0:
                fetched = total - holds[k][0]
                moved[c] = external_only[c] + cost - holds[k][1]
        if k < 0:  # no parent ran anywhere: the next free slot
            fifo.append(c)
            dispatch(now)
            return
        need[c] = fetched
        fetching[k] += fetched
        g = group[c]
        counts[k][g] = counts[k].get(g, 0) + 1
        a = now if now > sched_next else sched_next
        sched_next = a + (service if noop[c] else work_service)
        if running[k] or local[k]:
            heapq.heappush(local[k], c)
            return
        latency = handoff[c] if by_handoff[c] else launch[c]
        start(c, k, a + latency + moved[c])

    def next_placed(k: int, now: float) -> bool:
        """Slot k came free at ``now``: start the next task placed on it, if any."""
        if not local[k]:
            return False
        j = heapq.heappop(local[k])
        st = now + (noop_gap[j] if last_noop[k] else gap[j]) + last_out[k]
        fetched = RUN[j] + (handoff[j] if by_handoff[j] else launch[j]) + moved[j]
        start(j, k, st if st > fetched else fetched)
        return True

    def dispatch(now: float) -> None:
        """Hand queued tasks to free slots (FIFO, one per ``service`` seconds)."""
        nonlocal sched_next, born, spawning
        while locality and idle and running[idle[0][1]]:
            pop(idle)  # a slot taken by a task placed on it: not idle
        if on_demand and (not idle or idle[0][0] > now):
            # No worker idle: start one per queued task, as many as the executor has;
            # workers started together come up together, later the more there are.
            burst = min(nslots - born, len(fifo) - spawning)
            if burst > 0:
                if not spawning:
                    batch.clear()
                    batch_start[0] = now
                batch.extend(range(born, born + burst))
                born += burst
                spawning += burst
                at = batch_start[0] + spawn + spawn_step * (len(batch) - 1)
                for k in batch:  # the whole batch now comes up later (older events lapse)
                    up_at[k] = at
                    push(heap, (at, -n - 1 - k))
        while fifo and idle:
            if locality and running[idle[0][1]]:  # taken by a task placed on it
                pop(idle)
                continue
            if idle[0][0] > now:  # the next free slot has not come up yet
                return
            k = pop(idle)[1]
            i = fifo.popleft()
            a = now if now > sched_next else sched_next
            moved = fetch_cost(i, k) if locality else transfer[i]
            latency = handoff[i] if by_handoff[i] else launch[i]
            pace = service if noop[i] else work_service
            if serial:  # inputs through the client: one transfer after another
                sched_next = a + pace + moved
                if RUN[i] < last_end[k]:  # the task was waiting when the slot came free
                    st = a + moved + (noop_gap[i] if last_noop[k] else gap[i])
                else:
                    st = a + moved + latency
            else:  # worker to worker: fetched while the task waits for its slot
                sched_next = a + pace
                if RUN[i] < last_end[k]:
                    st = a + (noop_gap[i] if last_noop[k] else gap[i]) + last_out[k]
                    fetched = RUN[i] + latency + moved
                    if fetched > st:
                        st = fetched
                else:
                    st = a + latency + moved
            start(i, k, st)

    def start(i: int, k: int, st: float) -> None:
        """Task i starts on slot k at ``st``, after the imports its process lacks."""
        ST[i] = st
        SLOT[i] = k
        if locality:
            running[k] = True
            if not placed[i]:  # placed tasks count from their placement
                g = group[i]
                counts[k][g] = counts[k].get(g, 0) + 1
        units = first_use[i]
        cost = gil_work[i]
        if units:  # the slot's process imports what it lacks first
            has = loaded[k]
            for unit in units:
                if unit not in has:
                    has.add(unit)
                    modules = by_module.get(unit)
                    if modules is None:  # as the source recorded it (or free)
                        cost += import_cost.get(unit, 0.0)
                        continue
                    has_module = loaded_modules[k]
                    for module, seconds in modules.items():
                        if module not in has_module:
                            has_module.add(module)
                            cost += seconds
        if cost > 0:
            if cores is not None:  # on the shared cores, from st
                due[i] = cost
                push(heap, (st, import_code - i))
                return
            st += cost
        en = st + duration[i]
        EN[i] = en
        push(heap, (en, i))

    def finish_dead(i: int, t: float) -> None:
        status[i] = DEPENDENCY_FAILED
        EN[i] = t
        push(heap, (t, i))

    def by_parent(c: int) -> float:
        """Task c's dependency latency, from the bin of its last parent's duration."""
        return after[bisect.bisect_right(after_edges, duration[last_parent[c]])][c]

    def parents_done(c: int, now: float) -> None:
        """Every parent of submitted task ``c`` has ended."""
        if native:
            R[c] = max(S[c], latest_rc[c])
            if dead[c]:
                finish_dead(c, now)
                return
            by_handoff[c] = latest[c] > S[c]
            if after:
                handoff[c] = by_parent(c)
            RUN[c] = now
            if placed[c]:
                place(c, now)
                return
            fifo.append(c)
            dispatch(now)
        else:
            t = latest[c] + (by_parent(c) if after else engine[c])
            if t < S[c]:
                t = S[c]
            R[c] = D[c] = t
            if dead[c]:
                finish_dead(c, latest[c] if latest[c] > now else now)
            else:
                push(heap, (t, c - n))  # ready events: negative codes, in task order

    client_free = 0.0
    nxt = 0  # the client's next submission
    t_next = 0.0 if n and not ctrl_pend[0] else _INF

    def next_time(j: int) -> float:
        """When the client can submit task j (its control parents have all reported)."""
        t = client_free + busy[j]
        if control[j]:
            after = ctrl_latest[j] + client[j]
            if after > t:
                t = after
        return t

    while True:
        t_heap = heap[0][0] if heap else _INF
        t_cpu = cores.next_end() if cores is not None else _INF
        if t_cpu < t_heap:
            t_heap = t_cpu
        if t_next <= t_heap and nxt < n:
            # The client submits task nxt.
            i = nxt
            now = t_next
            S[i] = now
            submitted[i] = True
            client_free = now + submit_cost[i]
            nxt += 1
            t_next = _INF
            if nxt < n and not ctrl_pend[nxt]:
                t_next = next_time(nxt)
            if native:
                D[i] = now
                if not pend[i]:
                    R[i] = now if not parents[i] else max(now, latest_rc[i])
                    if dead[i]:
                        finish_dead(i, now)
                    elif placed[i]:
                        RUN[i] = now
                        place(i, now)
                    else:
                        RUN[i] = now
                        fifo.append(i)
                        dispatch(now)
            elif not pend[i]:
                if parents[i]:
                    parents_done(i, now)
                else:
                    R[i] = D[i] = now
                    RUN[i] = now
                    fifo.append(i)
                    dispatch(now)
            continue
        if cores is not None and t_cpu <= t_heap and t_cpu < _INF:
            i = cores.pop(t_cpu)  # task i has made its imports
            EN[i] = t_cpu + duration[i]
            push(heap, (EN[i], i))
            continue
        if not heap:
            break
        now, code = pop(heap)
        if code < 0:
            if code >= -n:  # a task whose parents' results reached the engine
                RUN[code + n] = now
                fifo.append(code + n)
            elif code <= import_code:  # a task starts with its imports
                assert cores is not None
                i = import_code - code
                cores.add(now, due[i], i)
                continue
            elif on_demand:  # a worker started on demand came up
                k = -n - 1 - code
                if up_at[k] != now:
                    continue  # a lapsed event: its batch grew and comes up later
                up_at[k] = -_INF
                spawning -= 1
                push(idle, (now, k))
            dispatch(now)  # or a slot came up
            continue
        i = code
        k = SLOT[i]
        if k >= 0:
            last_end[k] = now
            last_noop[k] = noop[i]
            last_out[k] = slot_out[i]
            if locality:
                running[k] = False
                g = group[i]
                counts[k][g] -= 1
                fetching[k] -= need[i]
                m = mean_run[g]  # Dask's running mean of the name's compute time
                mean_run[g] = duration[i] if m < 0 else 0.5 * duration[i] + 0.5 * m
                if not next_placed(k, now):
                    push(idle, (now, k))
            else:
                push(idle, (now, k))
            rc = now + result[i]
            if collect[i]:
                if rc < collector_free:
                    rc = collector_free
                rc += collect[i]
                collector_free = rc
            if failed[i]:
                status[i] = FAILED
        else:
            rc = now
        RC[i] = rc
        bad = status[i] != OK
        for c in children[i]:
            if bad:
                dead[c] = True
            if native:
                if now > latest[c]:
                    latest[c] = now
                    last_parent[c] = i
            elif rc > latest[c]:
                latest[c] = rc
                last_parent[c] = i
            if rc > latest_rc[c]:
                latest_rc[c] = rc
            pend[c] -= 1
            if not pend[c] and submitted[c]:
                parents_done(c, now)
        for j in ctrl_children[i]:
            if rc > ctrl_latest[j]:
                ctrl_latest[j] = rc
            ctrl_pend[j] -= 1
            if not ctrl_pend[j] and j == nxt:
                t_next = next_time(j)
        if k >= 0:
            dispatch(now)

    return Schedule(
        workers=nslots,
        submitted=np.array(S),
        ready=np.array(R),
        dispatched=np.array(D),
        started=np.array(ST),
        ended=np.array(EN),
        received=np.array(RC),
        slot=np.array(SLOT, dtype=np.int64),
        status=np.array(status, dtype=np.int8),
        first=workload.warmup,
        client_busy=float(sum(submit_cost[workload.warmup :]) + sum(busy[workload.warmup + 1 :])),
    )
