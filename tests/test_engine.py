"""Engine semantics, data-flow dependencies and record completeness on real pools."""

from __future__ import annotations

import concurrent.futures
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from tapstrace.engine import DependencyError, Engine, MemoryRecorder, Status, TaskFuture
from tapstrace.engine.adapter import Launched, Outcome
from tapstrace.engine.executor import Executor
from tests.conftest import build_executor
from tests.tasks import Flaky, add, die, fail, identity, sleep, total


def final(recorder: MemoryRecorder) -> dict[int, object]:
    """Last record per task id."""
    return {r.task_id: r for r in recorder.records}


def test_submit_map_wait_as_completed(engine: Engine, recorder: MemoryRecorder) -> None:
    f = engine.submit(add, 1, 2)
    assert isinstance(f, TaskFuture) and isinstance(f, concurrent.futures.Future)
    assert f.result(timeout=60) == 3
    assert list(engine.map(add, [1, 2, 3], [10, 20, 30])) == [11, 22, 33]
    futures = [engine.submit(identity, i) for i in range(5)]
    done, not_done = engine.wait(futures, timeout=60)
    assert len(done) == 5 and not not_done
    assert sorted(x.result() for x in engine.as_completed(futures)) == list(range(5))
    assert len({f.task_id for f in futures}) == 5
    engine.shutdown()
    assert len(recorder.records) == 1 + 3 + 5
    record = final(recorder)[f.task_id]
    assert record.status == Status.OK and record.name == "add"
    assert record.submitted <= record.ready <= record.dispatched <= record.started
    assert record.started <= record.ended <= record.received
    assert record.worker_host and record.worker_pid and record.worker_id
    assert record.input_bytes == 16 and record.output_bytes == 8


def test_context_manager_shuts_down_and_refuses_new_tasks(executor_name: str) -> None:
    recorder = MemoryRecorder()
    with Engine(build_executor(executor_name, **_small(executor_name)), recorder=recorder) as e:
        futures = [e.submit(sleep, 0.05) for _ in range(4)]
    assert all(f.done() for f in futures)
    assert len(recorder.records) == 4
    with pytest.raises(RuntimeError, match="shut down"):
        e.submit(identity, 1)


def _small(name: str) -> dict[str, int]:
    return {"max_threads": 2} if name == "thread" else {"max_processes": 2}


def test_nested_futures_are_dependencies(engine: Engine, recorder: MemoryRecorder) -> None:
    a = engine.submit(identity, 1)
    b = engine.submit(identity, 2)
    c = engine.submit(identity, 3)
    d = engine.submit(identity, 4)
    nested = engine.submit(total, [a, (b, {"k": c, "s": frozenset({d})})])
    kw = engine.submit(add, a, b=b)
    assert nested.result(timeout=60) == 10
    assert kw.result(timeout=60) == 3
    engine.shutdown()
    records = final(recorder)
    assert records[nested.task_id].parents == (
        a.task_id,
        b.task_id,
        c.task_id,
        d.task_id,
    )
    assert records[kw.task_id].parents == (
        a.task_id,
        b.task_id,
    )
    parents_done = max(records[p].received for p in records[nested.task_id].parents)
    assert records[nested.task_id].ready >= parents_done


def test_same_future_twice_is_one_parent(engine: Engine, recorder: MemoryRecorder) -> None:
    a = engine.submit(identity, 2)
    b = engine.submit(add, a, a)
    assert b.result(timeout=60) == 4
    engine.shutdown()
    assert final(recorder)[b.task_id].parents == (a.task_id,)


def test_failure_propagates_as_dependency_error(engine: Engine, recorder: MemoryRecorder) -> None:
    bad = engine.submit(fail, "kaput")
    child = engine.submit(identity, [bad])
    grandchild = engine.submit(identity, child)
    with pytest.raises(ValueError, match="kaput"):
        bad.result(timeout=60)
    with pytest.raises(DependencyError, match=f"parent task {bad.task_id} failed"):
        child.result(timeout=60)
    with pytest.raises(DependencyError, match=f"parent task {child.task_id}"):
        grandchild.result(timeout=60)
    engine.shutdown()
    records = final(recorder)
    assert records[bad.task_id].status == Status.FAILED
    assert records[bad.task_id].error_type == "ValueError"
    assert records[bad.task_id].error_message == "kaput"
    assert records[bad.task_id].started is not None  # the worker measured the attempt
    assert records[child.task_id].status == Status.DEPENDENCY_FAILED
    assert str(bad.task_id) in records[child.task_id].error_message
    assert records[grandchild.task_id].status == Status.DEPENDENCY_FAILED


def test_cancel_before_dispatch_fails_children(engine: Engine, recorder: MemoryRecorder) -> None:
    slow = engine.submit(sleep, 0.5)
    waiting = engine.submit(identity, slow)
    child = engine.submit(identity, waiting)
    assert waiting.cancel()
    assert waiting.cancelled()
    with pytest.raises(DependencyError, match="cancelled"):
        child.result(timeout=60)
    engine.shutdown()
    records = final(recorder)
    assert records[waiting.task_id].status == Status.CANCELLED
    assert records[child.task_id].status == Status.DEPENDENCY_FAILED
    assert records[slow.task_id].status == Status.OK


def test_shutdown_cancel_futures_records_everything(executor_name: str) -> None:
    recorder = MemoryRecorder()
    e = Engine(build_executor(executor_name, **_small(executor_name)), recorder=recorder)
    futures = [e.submit(sleep, 0.2) for _ in range(20)]
    futures += [e.submit(identity, f) for f in futures[:5]]
    e.shutdown(wait=True, cancel_futures=True)
    assert len(recorder.records) == len(futures)
    statuses = Counter(r.status for r in recorder.records)
    assert statuses[Status.OK] >= 1 and statuses[Status.CANCELLED] >= 1
    assert set(statuses) <= {Status.OK, Status.CANCELLED, Status.DEPENDENCY_FAILED}
    assert all(f.done() for f in futures)


def test_worker_death_is_recorded() -> None:
    recorder = MemoryRecorder()
    e = Engine(build_executor("process", max_processes=2), recorder=recorder)
    futures = [e.submit(sleep, 0.3) for _ in range(3)]
    doomed = e.submit(die)
    later = e.submit(identity, doomed)
    concurrent.futures.wait([*futures, doomed, later], timeout=60)
    e.shutdown()
    records = final(recorder)
    assert len(recorder.records) == 5
    assert records[doomed.task_id].status == Status.FAILED
    assert records[doomed.task_id].error_type == "BrokenProcessPool"
    assert records[later.task_id].status == Status.DEPENDENCY_FAILED


def test_retries_record_every_attempt(executor_name: str, tmp_path) -> None:
    recorder = MemoryRecorder()
    e = Engine(build_executor(executor_name, **_small(executor_name)), recorder=recorder,
               retries=2)  # fmt: skip
    f = e.submit(Flaky(str(tmp_path / "marker")))
    assert f.result(timeout=60) == "ok"
    e.shutdown()
    attempts = [(r.attempt, r.status) for r in recorder.records]
    assert attempts == [(1, Status.FAILED), (2, Status.OK)]


def test_records_equal_submissions_for_mixed_outcomes(executor_name: str) -> None:
    recorder = MemoryRecorder()
    e = Engine(build_executor(executor_name, **_small(executor_name)), recorder=recorder)
    ok = [e.submit(identity, i) for i in range(10)]
    bad = [e.submit(fail) for _ in range(3)]
    dep = [e.submit(identity, b) for b in bad]
    slow = e.submit(sleep, 0.3)
    cancelled = e.submit(identity, slow)
    cancelled.cancel()
    e.shutdown()
    submitted = {f.task_id for f in [*ok, *bad, *dep, slow, cancelled]}
    assert [r.task_id for r in recorder.records].count(cancelled.task_id) == 1
    assert {r.task_id for r in recorder.records} == submitted
    assert len(recorder.records) == len(submitted)


def test_warmup_flag(engine: Engine, recorder: MemoryRecorder) -> None:
    with engine.warmup():
        w = engine.submit(identity, 0)
    n = engine.submit(identity, 1)
    engine.wait([w, n])
    engine.shutdown()
    records = final(recorder)
    assert records[w.task_id].warmup and not records[n.task_id].warmup


def test_future_cannot_be_pickled(engine: Engine) -> None:
    import pickle

    f = engine.submit(identity, 1)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(f)


def test_every_record_field_is_a_typed_attribute_of_the_task() -> None:
    """Records are made by name (tapstrace.engine.task): each TaskRecord field is an
    attribute of the engine's Task, or of the worker's TaskCall, with the same type."""
    from tapstrace.engine.record import TaskRecord
    from tapstrace.engine.task import Task

    declared: dict[str, str] = {}
    for cls in reversed(Task.__mro__):
        declared.update(getattr(cls, "__annotations__", {}))
    for name, kind in TaskRecord.__annotations__.items():
        kind = getattr(kind, "__forward_arg__", kind)  # NamedTuple keeps them as ForwardRef
        assert declared.get(name) == kind, (name, declared.get(name), kind)


def test_cpu_time_of_short_and_long_tasks_on_one_thread() -> None:
    """Short tasks skip the CPU clock (tapstrace.engine.worker._CpuClock): each counts
    at most its wall time, and a sleeping task that follows a burst of them still
    shows almost no CPU time; a spinning one shows its CPU time."""
    from tests.test_client_flow import _spin

    recorder = MemoryRecorder()
    with Engine(build_executor("thread", max_threads=1), recorder=recorder) as e:
        burst = [e.submit(identity, i) for i in range(300)]
        nap = e.submit(sleep, 0.05)
        more = [e.submit(identity, i) for i in range(300)]
        spin = e.submit(_spin, 0.05)
    records = final(recorder)
    for f in [*burst, *more]:
        r = records[f.task_id]
        assert 0 <= r.cpu_seconds <= r.ended - r.started + 1e-6
    napped, spun = records[nap.task_id].cpu_seconds, records[spin.task_id].cpu_seconds
    assert napped < 0.01
    assert spun > 2 * napped + 0.001  # spins for its wall time: CPU as the machine allows


class _CancelsChildren(Executor):
    """A native executor that, like Dask, cancels a task's children together with it,
    reporting them cancelled before ``cancel`` returns (before the engine has recorded
    the parent)."""

    native_dependencies = True

    def __init__(self) -> None:
        self.children: dict[int, list[Launched]] = {}

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        for parent in parents:
            self.children.setdefault(parent, []).append(task)
        return task.task_id  # the handle: nothing runs until cancelled

    def cancel(self, handle: Any) -> bool:
        for child in self.children.pop(handle, []):
            child.settle(Outcome.CANCELLED, None)
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def test_child_cancelled_by_the_framework_with_its_parent_fails_on_the_parent() -> None:
    """The framework reports the child cancelled while the engine is still cancelling
    its parent: the child is recorded as failed on its cancelled parent, not cancelled."""
    recorder = MemoryRecorder()
    engine = Engine(_CancelsChildren(), recorder=recorder)
    parent = engine.submit(identity, 1)
    child = engine.submit(add, parent, 1)
    assert parent.cancel()
    with pytest.raises(DependencyError) as info:
        child.result(5)
    assert info.value.parent_id == parent.task_id
    engine.shutdown()
    statuses = {r.task_id: r.status for r in recorder.records}
    assert statuses == {parent.task_id: Status.CANCELLED, child.task_id: Status.DEPENDENCY_FAILED}


class _InterruptedLaunch(Executor):
    """A thread pool whose ``at``-th launch is interrupted as a signal would (Ctrl-C, a
    kill: a BaseException in the main thread), before the pool took the task or after."""

    def __init__(self, at: int, after: bool) -> None:
        self.inner = build_executor("thread", max_threads=2)
        self.at, self.after, self.launches = at, after, 0

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        self.launches += 1
        if self.launches == self.at and not self.after:
            raise KeyboardInterrupt
        handle = self.inner.launch(task, parents)
        if self.launches == self.at:
            raise KeyboardInterrupt
        return handle

    def cancel(self, handle: Any) -> bool:
        return self.inner.cancel(handle)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait, cancel_futures=cancel_futures)


@pytest.mark.parametrize("after", [False, True], ids=["before-taken", "after-taken"])
def test_a_launch_interrupted_by_a_signal_leaves_no_task_unresolved(after: bool) -> None:
    """A signal lands while a task is being launched: whether the framework took it is
    unknown and nothing may ever report on it, so the engine records it cancelled at
    once; the unwind (shutdown, cancelling the rest) then returns instead of waiting for
    its future forever (the hang behind the signal tests' rare timeouts)."""
    import threading

    recorder = MemoryRecorder()
    engine = Engine(_InterruptedLaunch(at=3, after=after), recorder=recorder)
    futures = [engine.submit(sleep, 0.05), engine.submit(sleep, 0.05)]
    with pytest.raises(KeyboardInterrupt):
        engine.submit(sleep, 0.05)
    interrupted = futures[0].task_id + 2
    unwind = threading.Thread(target=engine.shutdown, kwargs={"cancel_futures": True})
    unwind.start()
    unwind.join(10)
    assert not unwind.is_alive(), "the unwind waits for the interrupted task"
    assert all(f.done() for f in futures)
    statuses = final(recorder)
    assert len(statuses) == 3 and interrupted not in engine._active
    assert statuses[interrupted].status == Status.CANCELLED
    assert statuses[interrupted].error_type == "KeyboardInterrupt"


def test_shutdown_releases_the_futures_lock_an_interrupted_call_left_held() -> None:
    """A signal that cuts ``concurrent.futures.wait`` short inside its loop over the
    futures' locks leaves the engine's one lock held (once per future) by the client's
    thread: the pool's threads, completing tasks, block on it. The client's unwind
    (shutdown) releases it, and ends."""
    import threading

    recorder = MemoryRecorder()
    engine = Engine(build_executor("thread", max_threads=2), recorder=recorder)
    futures: list[TaskFuture] = []

    def client() -> None:
        for _ in range(3):
            engine._condition.acquire()  # left held, as by an interrupted wait
        futures.extend(engine.submit(sleep, 0.01) for _ in range(4))
        engine.shutdown(cancel_futures=True)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the unwind waits for tasks blocked on the lock"
    assert len(futures) == 4 and all(f.done() for f in futures)
    assert len(final(recorder)) == 4


class _StopsOnShutdown(Executor):
    """An executor whose shutdown stops what it holds and whose cancel must not be
    called then (Ray: ray.cancel racing with a task's reply aborts the client)."""

    stops_tasks_on_shutdown = True

    def __init__(self) -> None:
        self.cancelled: list[Any] = []

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        return task.task_id  # runs until the shutdown

    def cancel(self, handle: Any) -> bool:
        self.cancelled.append(handle)
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def test_a_stopped_run_leaves_launched_tasks_to_an_executor_that_stops_them() -> None:
    recorder = MemoryRecorder()
    executor = _StopsOnShutdown()
    engine = Engine(executor, recorder=recorder)
    running = [engine.submit(sleep, 60) for _ in range(3)]
    child = engine.submit(identity, running[0])  # waits in the engine (not native)
    engine.shutdown(cancel_futures=True)
    assert executor.cancelled == []
    records = final(recorder)
    assert {records[f.task_id].error_type for f in running} == {"EngineShutdown"}
    assert {r.status for r in records.values()} == {Status.CANCELLED}
    assert child.done() and all(f.done() for f in running)
