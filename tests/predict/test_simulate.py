"""The simulator against schedules computed by hand (docs/predict.md has the rules)."""

from __future__ import annotations

import numpy as np
import pytest

from tapstrace.predict.kinds import KindCost, measure_kind_costs
from tapstrace.predict.model import ExecutorModel
from tapstrace.predict.prediction import predict
from tapstrace.predict.simulate import DEPENDENCY_FAILED, FAILED, OK, Parameters, simulate
from tapstrace.predict.workload import Workload, from_plan
from tapstrace.replay.plan import build_plan
from tests.predict.builders import fixed_model, workload
from tests.replay.conftest import make_trace


def run(work, model, workers=1):
    return simulate(work, Parameters.of(model, workers))


def test_chain_through_the_client() -> None:
    """Each link: the parent's result reaches the client (0.3), the engine releases the
    child (0.2), the executor starts it (0.5)."""
    work = workload([1.0, 2.0, 3.0], [[], [0], [1]])
    model = fixed_model(submit=0.1, launch=0.5, engine=0.2, result=0.3)
    s = run(work, model)
    assert s.submitted.tolist() == pytest.approx([0.0, 0.1, 0.2])
    assert s.started.tolist() == pytest.approx([0.5, 2.5, 5.5])
    assert s.ended.tolist() == pytest.approx([1.5, 4.5, 8.5])
    assert s.received.tolist() == pytest.approx([1.8, 4.8, 8.8])
    assert s.ready.tolist() == pytest.approx([0.0, 2.0, 5.0])
    assert s.makespan == pytest.approx(8.8)


def test_chain_with_native_dependencies() -> None:
    """The executor starts a child 0.4 s after its parent's end, not after its result."""
    work = workload([1.0, 2.0, 3.0], [[], [0], [1]])
    model = fixed_model(native=True, submit=0.1, launch=0.5, handoff=0.4, result=0.3)
    s = run(work, model)
    assert s.started.tolist() == pytest.approx([0.5, 1.9, 4.3])
    assert s.received.tolist() == pytest.approx([1.8, 4.2, 7.6])
    assert s.makespan == pytest.approx(7.6)


def test_handoff_by_the_parents_duration() -> None:
    """A model whose hand-off depends on how long the parent ran: 0.4 s after a parent
    of under 1.5 s, 0.1 s after a longer one. Chain of 1, 2, 3 s (launch 0.5): t1 after
    t0 (1 s) starts 1.5 + 0.4 = 1.9, t2 after t1 (2 s) 3.9 + 0.1 = 4.0. An engine-fed
    executor's ``engine`` latency is read the same way (result 0.3): t1 ready at
    1.8 + 0.4, t2 at 2.7 + 2 + 0.3 + 0.1."""
    from tapstrace.predict.model import Distribution

    def binned(model: ExecutorModel) -> ExecutorModel:
        fit = model.fits[0].model_copy(
            update={
                "after_edges": [1.5],
                "after": [Distribution.fixed(0.4), Distribution.fixed(0.1)],
            }
        )
        return model.model_copy(update={"fits": [fit]})

    work = workload([1.0, 2.0, 3.0], [[], [0], [1]])
    s = run(work, binned(fixed_model(native=True, launch=0.5, handoff=9.0, result=0.3)))
    assert s.started.tolist() == pytest.approx([0.5, 1.9, 4.0])
    assert s.makespan == pytest.approx(7.3)
    e = run(work, binned(fixed_model(launch=0.5, engine=9.0, result=0.3)))
    assert e.ready.tolist() == pytest.approx([0.0, 2.2, 5.1])
    assert e.started.tolist() == pytest.approx([0.5, 2.7, 5.6])


def test_fork_join_on_two_workers() -> None:
    """root -> c1, c2, c3 -> sink on 2 workers: c3 waits for a worker and starts a gap
    (0.1) after c1's end; the sink finds a worker idle and pays the launch (0.5)."""
    work = workload([1.0, 2.0, 2.0, 2.0, 1.0], [[], [0], [0], [0], [1, 2, 3]])
    model = fixed_model(workers=2, launch=0.5, engine=0.2, result=0.3, gap=0.1)
    s = run(work, model, workers=2)
    assert s.started.tolist() == pytest.approx([0.5, 2.5, 2.5, 4.6, 7.6])
    assert s.ended.tolist() == pytest.approx([1.5, 4.5, 4.5, 6.6, 8.6])
    assert s.ready.tolist() == pytest.approx([0.0, 2.0, 2.0, 2.0, 7.1])
    assert s.makespan == pytest.approx(8.9)
    assert sorted(set(s.slot.tolist())) == [0, 1]


def _named(work: Workload, names: list[str]) -> Workload:
    work.names = names
    return work


def test_locality_keeps_children_on_their_parent_s_busy_worker() -> None:
    """Dask's placement: t0 (0.1 s) and t1 (0.05 s) run on the two workers; t0's
    children t2 and t3 (0.5 s each) both go to t0's worker, the one holding their
    input, so t3 waits there for t2 (0.6 -> 1.1) while the other worker is idle. FIFO
    placement runs t3 on the idle worker at once (0.1 -> 0.6)."""
    work = workload([0.1, 0.05, 0.5, 0.5], [[], [], [0], [0]])
    dask = fixed_model(workers=2, native=True, placement="locality")
    s = run(work, dask, workers=2)
    assert s.slot.tolist() == [0, 1, 0, 0]
    assert s.started.tolist() == pytest.approx([0.0, 0.0, 0.1, 0.6])
    assert s.makespan == pytest.approx(1.1)
    fifo = run(work, fixed_model(workers=2, native=True), workers=2)
    assert sorted(fifo.slot.tolist()[2:]) == [0, 1]
    assert fifo.makespan == pytest.approx(0.6)


def test_locality_picks_the_soonest_start_by_the_scheduler_s_estimate() -> None:
    """j needs r0's and r1's outputs (ran on workers 0 and 1); worker 0 is busy with L,
    whose name has no finished task yet (Dask's 0.5 s guess; it runs 2 s). Inputs of
    0 bytes: worker 1 (0 s queued) wins, j runs at 0.1. r0's output of 100 MB takes
    1 s to fetch at Dask's assumed 100 MB/s, more than the 0.5 s guess: j goes to
    worker 0 and waits for L there (2.1 -> 2.2)."""
    names = ["r", "r", "L", "j"]
    dask = fixed_model(workers=2, native=True, placement="locality")
    small = _named(workload([0.1, 0.1, 2.0, 0.1], [[], [], [0], [0, 1]]), names)
    s = run(small, dask, workers=2)
    assert s.slot.tolist() == [0, 1, 0, 1]
    assert s.started[3] == pytest.approx(0.1)
    big = _named(
        workload([0.1, 0.1, 2.0, 0.1], [[], [], [0], [0, 1]], outputs=[10**8, 0, 0, 0]), names
    )
    b = run(big, dask, workers=2)
    assert b.slot.tolist() == [0, 1, 0, 0]
    assert b.started[3] == pytest.approx(2.1)
    assert b.makespan == pytest.approx(2.2)


def test_root_ish_tasks_take_the_fifo_queue() -> None:
    """Leaves of one name hanging off a single small root are "root-ish" to Dask when
    there are more than 2 x workers of them: queued FIFO over both workers (6 leaves of
    1 s after a 0.1 s root: 3.1 s). Four leaves are not: they all stay on the root's
    worker (4.1 s)."""
    dask = fixed_model(workers=2, native=True, placement="locality")
    six = _named(workload([0.1] + [1.0] * 6, [[]] + [[0]] * 6), ["root"] + ["leaf"] * 6)
    assert run(six, dask, workers=2).makespan == pytest.approx(3.1)
    four = _named(workload([0.1] + [1.0] * 4, [[]] + [[0]] * 4), ["root"] + ["leaf"] * 4)
    s = run(four, dask, workers=2)
    assert set(s.slot.tolist()) == {0}
    assert s.makespan == pytest.approx(4.1)


def test_bag_at_the_scheduler_ceiling() -> None:
    """10 tasks of 1 s on 4 workers, one dispatch per 0.5 s: starts every 0.5 s, so the
    makespan is 9 x 0.5 + 1 = 5.5 s, not work / workers = 2.5 s."""
    work = workload([1.0] * 10)
    s = run(work, fixed_model(workers=4, service=0.5), workers=4)
    assert s.started.tolist() == pytest.approx([0.5 * k for k in range(10)])
    assert s.makespan == pytest.approx(5.5)


def test_tasks_that_work_keep_their_own_scheduler_pace() -> None:
    """Dispatches of tasks that do work at ``work_service`` (0.5 s), of no-op tasks at
    ``service`` (0.1 s): 4 tasks of 1 s on 4 workers start 0, 0.5, 1, 1.5 (2.5 s); 4
    no-op tasks 0, 0.1, 0.2, 0.3."""
    model = fixed_model(workers=4, service=0.1)
    model.fits[0].work_service = 0.5
    s = run(workload([1.0] * 4), model, workers=4)
    assert s.started.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert s.makespan == pytest.approx(2.5)
    noop = run(workload([0.0] * 4), model, workers=4)
    assert noop.started.tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_the_working_pace_of_a_calibrated_count_is_its_own() -> None:
    """A working pace measured at 4 workers but not at 2 holds at 4 (and beyond), not
    at 2 or in between, where it is unknown."""
    from tapstrace.predict.model import ExecutorModel

    two, four = fixed_model(workers=2, service=0.1), fixed_model(workers=4, service=0.1)
    four.fits[0].work_service = 0.5
    model = ExecutorModel(executor="paper", fits=[two.fits[0], four.fits[0]])
    assert [model.at(w).work_service for w in (2, 3, 4, 8)] == [0.0, 0.0, 0.5, 0.5]


def test_bag_below_the_ceiling_is_bound_by_workers() -> None:
    work = workload([1.0] * 8)
    s = run(work, fixed_model(workers=4, service=0.1), workers=4)
    assert s.makespan == pytest.approx(1.0 + 1.0 + 0.3)  # slots 0-3 start at 0..0.3, twice


def test_gap_when_the_task_waited_for_its_worker() -> None:
    """A task queued behind another starts ``gap`` after that one's end; one that found
    its worker idle starts ``launch`` after its dispatch."""
    work = workload([1.0] * 3)
    s = run(work, fixed_model(launch=0.1, gap=0.25))
    assert s.started.tolist() == pytest.approx([0.1, 1.35, 2.6])
    # A chain never waits for a worker: every link pays the launch.
    chain = workload([1.0] * 3, [[], [0], [1]])
    c = run(chain, fixed_model(launch=0.1, gap=0.25))
    assert c.started.tolist() == pytest.approx([0.1, 1.2, 2.3])


def test_workers_start_up_late() -> None:
    work = workload([1.0, 1.0, 1.0])
    s = run(work, fixed_model(workers=2, startup=[1.0, 3.0]), workers=2)
    assert s.started.tolist() == pytest.approx([1.0, 2.0, 3.0])  # t1 waits for slot 0
    warm = simulate(work, Parameters.of(fixed_model(workers=2, startup=[1.0, 3.0]), 2, warm=True))
    assert warm.makespan == pytest.approx(2.0)


def test_client_waits_for_control_parents_and_works() -> None:
    """t1 is submitted 0.5 s after t0's result (the client waited on t0, then worked);
    t2 after 2 s more of client work (busy), however early its control parents are."""
    work = workload(
        [1.0, 1.0, 1.0],
        control=[[], [0], [0]],
        client=[0.0, 0.5, 0.0],
        busy=[0.0, 0.0, 2.0],
    )
    s = run(work, fixed_model(workers=2, submit=0.1, result=0.2), workers=2)
    assert s.submitted.tolist() == pytest.approx([0.0, 1.7, 3.8])
    assert s.makespan == pytest.approx(3.8 + 1.0 + 0.2)


def test_failures_kill_descendants() -> None:
    work = workload([1.0, 1.0, 1.0], [[], [0], [1]])
    work.failed[0] = True
    s = run(work, fixed_model(result=0.5))
    assert s.status.tolist() == [FAILED, DEPENDENCY_FAILED, DEPENDENCY_FAILED]
    assert s.slot.tolist() == [0, -1, -1]
    assert s.makespan == pytest.approx(1.5)


def test_interval_comes_from_the_distributions() -> None:
    from tapstrace.predict.model import Distribution

    work = workload([0.1] * 50, [[], *[[i] for i in range(49)]])
    model = fixed_model(result=0.01)
    model.fits[0].launch = Distribution.of(np.linspace(0.0, 0.02, 101))
    p = predict(work, model, 1, samples=5, seed=1)
    low, high = p.interval
    assert low < p.makespan < high
    assert p.makespan == pytest.approx(50 * 0.11 + 49 * 0.01, rel=0.02)
    assert [s for s in p.makespans] == predict(work, model, 1, samples=5, seed=1).makespans
    assert p.schedule.status.tolist() == [OK] * 50


def test_workers_started_on_demand() -> None:
    """A process pool starts a worker when a task finds none idle: a chain needs only
    one (up after 0.5 s); a bag of 3 on 4 workers starts 3 at once, which come up
    together, 2 x 0.25 s later than one alone."""
    chain = workload([1.0] * 3, [[], [0], [1]])
    model = fixed_model(workers=4, spawn=0.5, spawn_step=0.25, on_demand=True)
    s = run(chain, model, workers=4)
    assert s.started.tolist() == pytest.approx([0.5, 1.5, 2.5])
    assert set(s.slot.tolist()) == {0}
    bag = run(workload([1.0] * 3), model, workers=4)
    assert sorted(bag.started.tolist()) == pytest.approx([1.0, 1.0, 1.0])
    assert len(set(bag.slot.tolist())) == 3


def test_execution_overhead_only_for_tasks_that_run() -> None:
    work = workload([1.0, 0.0, 1.0])
    s = run(work, fixed_model(execution=0.1))
    assert (s.ended - s.started).tolist() == pytest.approx([1.1, 0.0, 1.1])


def test_inputs_through_the_client_queue_up() -> None:
    """Two tasks with 1 MB of input each, at 1 s per MB: fed by the client, the second
    transfer waits for the first; worker to worker (native), they overlap."""
    work = workload([1.0, 1.0])
    work.inputs[:] = 1_000_000
    fed = run(work, fixed_model(workers=2, input_per_byte=1e-6), workers=2)
    assert fed.started.tolist() == pytest.approx([1.0, 2.0])
    native = fixed_model(workers=2, native=True, input_per_byte=1e-6)
    assert run(work, native, workers=2).started.tolist() == pytest.approx([1.0, 1.0])


def test_waiting_tasks_pay_the_slot_costs() -> None:
    """Native, one worker, slot costs 1 s per MB of a waiting task's inputs and 0.5 s per
    MB of its slot's previous output: a (1 MB out) runs at once; b waits, and starts
    gap + 0.5 s after a's end; c (a's 1 MB in) waits behind b and starts gap + 1 s after
    b's end, whatever its inputs' trip (overlapped: none here). A task that finds its
    slot idle pays none; an executor fed by the client ignores them (its inputs move
    through the client at the slot already)."""
    work = workload([1.0, 1.0, 1.0], [[], [], [0]], outputs=[1_000_000, 0, 0])
    native = fixed_model(native=True, launch=0.1, handoff=0.1, gap=0.25,
                         slot_per_input_byte=1e-6, slot_per_output_byte=0.5e-6)  # fmt: skip
    s = run(work, native)
    assert s.started.tolist() == pytest.approx([0.1, 1.85, 4.1])
    without = run(work, fixed_model(native=True, launch=0.1, handoff=0.1, gap=0.25))
    assert without.started.tolist() == pytest.approx([0.1, 1.35, 2.6])
    chain = workload([1.0, 1.0], [[], [0]], outputs=[1_000_000, 0])
    assert run(chain, native).started.tolist() == pytest.approx([0.1, 1.2])
    fed = fixed_model(launch=0.1, gap=0.25, slot_per_input_byte=1e-6, slot_per_output_byte=0.5e-6)
    assert run(work, fed).started.tolist() == pytest.approx(without.started.tolist())


def test_results_queue_at_the_client() -> None:
    """Two 1 MB results at 1 s per MB: the client takes the second after the first."""
    work = workload([1.0, 1.0], outputs=[1_000_000, 1_000_000])
    s = run(work, fixed_model(workers=2, seconds_per_result_byte=1e-6), workers=2)
    assert sorted(s.received.tolist()) == pytest.approx([2.0, 3.0])


def test_payload_kinds_cost_their_own_per_byte_costs() -> None:
    """A 1 MB dict result priced at 3 us/B to make, 2 to pickle, 4 to unpickle (bytes:
    1, 1, 1): its task runs 3 s longer (make 2 + pickle 1 beyond bytes), the client
    takes 3 s more to unpickle it, and moving it to its child costs 4 s more (pickle and
    unpickle beyond bytes) before the child starts. Fed by the client on a thread pool
    (in memory) only the making costs."""
    costs = {
        "bytes": KindCost(make=1e-6, dumps=1e-6, loads=1e-6),
        "mapping": KindCost(make=3e-6, dumps=2e-6, loads=4e-6),
    }
    work = workload([1.0, 1.0], [[], [0]], outputs=[1_000_000, 0])
    work.output_kinds = ["mapping", None]
    s = run(work, fixed_model(kind_costs=costs))
    assert (s.ended - s.started).tolist() == pytest.approx([4.0, 1.0])
    assert s.received[0] == pytest.approx(7.0)
    assert s.started[1] == pytest.approx(7.0 + 4.0)
    threads = fixed_model(kind_costs=costs).model_copy(update={"executor": "thread"})
    s = run(work, threads)
    assert (s.ended - s.started).tolist() == pytest.approx([3.0, 1.0])
    assert s.started[1] == pytest.approx(3.0)
    assert run(work, fixed_model()).started[1] == pytest.approx(1.0)  # no kind costs


def test_a_thread_pool_makes_python_payloads_under_one_gil() -> None:
    """Two 1 s tasks on two workers, each making a 1 MB dict at 1 us/B: worker processes
    make them side by side (both end at 2 s); the threads of a pool take turns on the
    GIL (processor sharing on one core: both made at 2 s, ended at 3 s)."""
    costs = {"bytes": KindCost(make=0.0, dumps=0.0, loads=0.0),
             "mapping": KindCost(make=1e-6, dumps=0.0, loads=0.0)}  # fmt: skip
    work = workload([1.0, 1.0], outputs=[1_000_000, 1_000_000])
    work.output_kinds = ["mapping", "mapping"]
    processes = fixed_model(workers=2, kind_costs=costs)
    assert run(work, processes, workers=2).ended.tolist() == pytest.approx([2.0, 2.0])
    threads = processes.model_copy(update={"executor": "thread"})
    assert run(work, threads, workers=2).ended.tolist() == pytest.approx([3.0, 3.0])


def test_kind_costs_are_measured_on_replay_payloads() -> None:
    """Python objects and dicts cost more per byte than bytes to unpickle (2-20 times
    here), and a dict of strings more to make too."""
    costs = measure_kind_costs(rounds=3)
    assert set(costs) == {"bytes", "array", "object", "mapping"}
    for kind in ("object", "mapping"):
        assert costs[kind].loads > 2 * costs["bytes"].loads
    assert costs["mapping"].make > 10 * costs["bytes"].make


def _importing(durations: list[float], paid: float) -> Workload:
    """Tasks of one function whose first (in the source) spent ``paid`` of its duration
    importing the function's first-use module ``m``."""
    work = workload(durations)
    work.imports = [(("m",),)] * len(durations)
    work.import_cpu = np.array([paid] + [0.0] * (len(durations) - 1))
    work.import_cost = {("m",): paid}
    return work


def test_each_worker_imports_on_its_first_task_of_the_function() -> None:
    """Four tasks on 2 process workers; the source's first spent 0.5 of its 1.5 s
    importing: each worker's first task imports (0.5) then runs 1 s, the next ones run
    1 s. A thread pool's workers share one process: only the first task imports."""
    work = _importing([1.5, 1.0, 1.0, 1.0], 0.5)
    s = run(work, fixed_model(workers=2), workers=2)
    assert s.started.tolist() == pytest.approx([0.0, 0.0, 1.5, 1.5])
    assert s.ended.tolist() == pytest.approx([1.5, 1.5, 2.5, 2.5])
    threads = fixed_model(workers=2).model_copy(update={"executor": "thread"})
    assert run(work, threads, workers=2).ended.tolist() == pytest.approx([1.5, 1.0, 2.0, 2.5])


def test_imports_share_the_machines_cores() -> None:
    """The same on one core: the two workers' imports (0.5 s of CPU each) run at half
    speed, both done at 1.0; on two cores they are as apart. The sharing follows the
    imports in flight: 0.5 and 1.5 s of imports on one core end at 1.0 and 2.0."""
    work = _importing([1.5, 1.0, 1.0, 1.0], 0.5)
    model = fixed_model(workers=2)
    one = simulate(work, Parameters.of(model, 2, cores=1))
    assert one.ended.tolist() == pytest.approx([2.0, 2.0, 3.0, 3.0])
    two = simulate(work, Parameters.of(model, 2, cores=2))
    assert two.ended.tolist() == pytest.approx([1.5, 1.5, 2.5, 2.5])
    uneven = workload([1.0, 2.0])
    uneven.imports = [(("a",),), (("b",),)]
    uneven.import_cpu = np.array([0.5, 1.5])
    uneven.import_cost = {("a",): 0.5, ("b",): 1.5}
    s = simulate(uneven, Parameters.of(model, 2, cores=1))
    # a: 0.5 s of work at half speed -> 1.0, then 0.5 s; b: 0.5 done by 1.0, 1.0 left
    # alone -> 2.0, then 0.5 s.
    assert s.ended.tolist() == pytest.approx([1.5, 2.5])


def test_a_trace_s_first_use_imports_reach_the_workload() -> None:
    """From a schema 1.4 trace: every task of a function gets the function's first-use
    modules; the cost is what the task that imported them recorded."""
    rows = [{"task_id": i, "name": "f", "module": "mod", "started": 0.0, "ended": 1.0,
             "cpu_seconds": 1.0, "import_seconds": 0.4 if i == 0 else 0.0,
             "imported_modules": ["sklearn"] if i == 0 else None} for i in range(3)]  # fmt: skip
    work = from_plan(build_plan(make_trace(rows)))
    assert work.imports == [(("mod",), ("sklearn",))] * 3  # the task's module first
    assert work.import_cpu.tolist() == pytest.approx([0.4, 0.0, 0.0])
    assert work.import_cost == {("sklearn",): pytest.approx(0.4)}
    # Scaled down, the task's own import time shrinks with it; the import does not.
    scaled = from_plan(build_plan(make_trace(rows), time_scale=0.01))
    assert scaled.import_cpu.tolist() == pytest.approx([0.004, 0.0, 0.0])
    assert scaled.import_cost == {("sklearn",): pytest.approx(0.4)}


def test_modules_whose_import_was_not_timed_cost_nothing() -> None:
    """A function's first-use modules with no task that timed their import (a task too
    short for the CPU clock): the workers import them at no cost, with or without cores."""
    work = workload([1.0, 1.0])
    work.imports = [(("m",),), (("m",),)]
    work.import_cpu = np.zeros(2)
    model = fixed_model(workers=2)
    for cores in (0, 2):
        s = simulate(work, Parameters.of(model, 2, cores=cores))
        assert s.ended.tolist() == pytest.approx([1.0, 1.0])


def test_a_worker_pays_only_for_the_modules_it_lacks() -> None:
    """Units timed here by module: two units both load ``x`` (0.3 s). One worker runs
    a task of each: the first pays x and a (0.5 s), the second only b (0.1 s); a
    second worker's first task of b pays x and b (0.4 s)."""
    work = workload([1.0, 1.0, 1.0])
    work.imports = [(("a",),), (("b",),), (("b",),)]
    work.import_cpu = np.zeros(3)
    work.import_modules = {("a",): {"x": 0.3, "a": 0.2}, ("b",): {"x": 0.3, "b": 0.1}}
    s = run(work, fixed_model(workers=1), workers=1)
    assert s.ended.tolist() == pytest.approx([1.5, 2.6, 3.6])
    two = run(work, fixed_model(workers=2), workers=2)
    assert two.ended.tolist() == pytest.approx([1.5, 1.4, 2.4])


def test_inputs_of_a_library_s_type_make_their_worker_import_it() -> None:
    """A parent's result of a library's type (its module recorded): the child's worker
    imports that module before the child runs, after the child's own module."""
    rows = [
        {"task_id": 0, "name": "train", "module": "app", "started": 0.0, "ended": 1.0,
         "output_module": "sklearn.neighbors._regression"},
        {"task_id": 1, "name": "infer", "module": "app", "parents": [0], "started": 1.0,
         "ended": 2.0},
    ]  # fmt: skip
    work = from_plan(build_plan(make_trace(rows)))
    assert work.imports == [(("app",),), (("app",), ("sklearn.neighbors._regression",))]
