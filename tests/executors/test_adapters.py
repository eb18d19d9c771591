"""The pieces every executor adapter shares: task calls with natively passed parents,
the outcome of a framework's error, and the relay thread."""

from __future__ import annotations

import concurrent.futures
import pickle
import sys
import threading
import time
from collections import namedtuple
from typing import Any

import pytest

from tapstrace.engine.adapter import Outcome, Relay, dumps_call, settle_error, settle_future
from tapstrace.engine.worker import (
    Slot,
    TaskCall,
    TaskFailed,
    TaskResult,
    WorkerReport,
    run_pickled,
)
from tests import tasks

Point = namedtuple("Point", "x y")


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


class Spy:
    """A launched task that keeps what its adapter reports."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self.outcomes: list[tuple[Outcome, Any]] = []

    def __call__(self, *values: Any) -> Any:
        return None

    def settle(self, outcome: Outcome, detail: Any) -> None:
        self.outcomes.append((outcome, detail))


def test_slots_anywhere_take_the_parents_values() -> None:
    args = ([Slot(0), (Slot(1), Point(Slot(0), 2))], {"key": Slot(0), "v": Slot(1)},
            frozenset({Slot(1)}))  # fmt: skip
    kwargs = {"priority": Slot(0), "inputs": [Slot(1)], "walltime": 3}  # names Dask, Parsl reserve
    call = pickle.loads(pickle.dumps(TaskCall(echo, args, kwargs, 7)))  # as a framework ships it
    parent = TaskResult("A", (None,) * len(WorkerReport._fields))  # a parent's call returns this
    result = call(parent, "B")
    assert isinstance(result, TaskResult)
    got_args, got_kwargs = result.value
    assert got_args == (["A", ("B", Point("A", 2))], {"key": "A", "v": "B"}, frozenset({"B"}))
    assert type(got_args[0][1][1]) is Point
    assert got_kwargs == {"priority": "A", "inputs": ["B"], "walltime": 3}
    report = WorkerReport._make(result.report)
    assert report.started is not None and report.ended is not None and report.worker_pid
    assert call.__name__ == "echo"


def test_a_local_call_keeps_its_measurements_and_raises_task_failed() -> None:
    call = TaskCall(echo, (b"abc",), {}, 1)
    call.local = True
    assert call() == ((b"abc",), {})  # the value itself
    assert call.input_bytes == 3 and call.input_kind == "bytes" and call.cpu_seconds is not None
    failing = TaskCall(int, ("x",), {}, 2)
    failing.local = True
    try:
        failing()
    except TaskFailed as failed:
        assert failed.task_id == 2 and failed.error_type == "ValueError"
        assert isinstance(failed.cause, ValueError)
        assert WorkerReport._make(failed.report).started == failing.started
    else:
        raise AssertionError("no TaskFailed")


def test_errors_become_outcomes() -> None:
    spy = Spy(5)
    own = TaskFailed(5, "ValueError", "x", "", ())
    parents = TaskFailed(4, "ValueError", "x", "", ())
    lost = RuntimeError("worker died")
    for exc in (own, parents, concurrent.futures.CancelledError(), lost):
        settle_error(spy, exc)
    assert spy.outcomes == [
        (Outcome.FAILED, own),
        (Outcome.PARENT_FAILED, 4),
        (Outcome.CANCELLED, None),
        (Outcome.LOST, lost),
    ]
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()
    done.set_result(TaskResult(1, ()))
    cancelled: concurrent.futures.Future[Any] = concurrent.futures.Future()
    cancelled.cancel()
    spy.outcomes.clear()
    settle_future(spy, done)
    settle_future(spy, cancelled)
    assert [o for o, _ in spy.outcomes] == [Outcome.VALUE, Outcome.CANCELLED]


def test_relay_runs_callbacks_in_order_on_its_own_thread() -> None:
    relay = Relay("test-relay")
    ran: list[tuple[int, str]] = []
    for i in range(100):
        relay.put(lambda i: ran.append((i, threading.current_thread().name)), i)
    relay.close()
    assert ran == [(i, "test-relay") for i in range(100)]


def test_dumps_call_uses_the_standard_pickle_unless_a_worker_could_not_load_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cloudpickle = pytest.importorskip("cloudpickle")
    used: list[object] = []

    def by_value(obj: object) -> bytes:
        used.append(obj)
        return bytes(cloudpickle.dumps(obj))

    call = TaskCall(echo, (1,), {"k": 2}, 3)
    data = dumps_call(call, by_value)
    assert not used and data == pickle.dumps(call, pickle.HIGHEST_PROTOCOL)
    result = run_pickled(data)
    assert isinstance(result, TaskResult) and result.value == ((1,), {"k": 2})

    # A lambda (the standard pickle refuses it) and a function of __main__ (which it
    # would name, and a worker could not import) go by value; both still run.
    lambda_call = TaskCall(lambda x: x + 1, (1,), {}, 4)
    assert run_pickled(dumps_call(lambda_call, by_value)).value == 2

    def in_main(x: int) -> int:
        return x * 10

    in_main.__module__, in_main.__qualname__ = "__main__", "in_main"
    monkeypatch.setattr(sys.modules["__main__"], "in_main", in_main, raising=False)
    main_call = TaskCall(in_main, (2,), {}, 5)
    assert b"__main__" in pickle.dumps(main_call)  # what the standard pickle would send
    data = dumps_call(main_call, by_value)
    assert used[1:] == [main_call] and b"in_main" in data
    assert run_pickled(data).value == 20

    # A module registered with cloudpickle to go by value goes by value (the registry
    # is read from the fallback's own module).
    add_call = TaskCall(tasks.add, (1, 2), {}, 6)
    assert dumps_call(add_call, cloudpickle.dumps) == pickle.dumps(add_call, 5)
    cloudpickle.register_pickle_by_value(tasks)
    try:
        data = dumps_call(add_call, cloudpickle.dumps)
    finally:
        cloudpickle.unregister_pickle_by_value(tasks)
    assert data != pickle.dumps(add_call, 5) and run_pickled(data).value == 3


def test_a_packed_result_comes_back_as_the_value_to_the_adapter_and_to_a_child() -> None:
    from tapstrace.engine.worker import Packed, run_packed

    dill = pytest.importorskip("dill")  # Parsl's serialiser, which ships the result
    result = run_packed(pickle.dumps(TaskCall(echo, (1,), {}, 1)))
    assert type(result) is Packed  # the standard pickle took it
    shipped = dill.loads(dill.dumps(result))
    assert shipped.unpack().value == ((1,), {})
    child = TaskCall(echo, (Slot(0),), {}, 2)
    parent_value = ((1,), {})
    assert child(shipped).value == ((parent_value,), {}), "a child gets the parent's value"
    # A value only dill can take (a lambda) comes back as the TaskResult itself.
    unpicklable = run_packed(TaskCall(lambda: lambda: 3, (), {}, 3))
    assert type(unpicklable) is TaskResult and dill.loads(dill.dumps(unpicklable)).value() == 3


class _Calls(Spy):
    """A launched task that runs ``fn`` and keeps what its adapter reports."""

    def __init__(self, task_id: int, fn: Any = None) -> None:
        super().__init__(task_id)
        self.fn = fn
        self.reported = threading.Event()

    def __call__(self, *values: Any) -> Any:
        return None if self.fn is None else self.fn()

    def settle(self, outcome: Outcome, detail: Any) -> None:
        super().settle(outcome, detail)
        self.reported.set()


class _OwnSubmit(concurrent.futures.ThreadPoolExecutor):
    """A pool that does something of its own on submit: the adapter must go through it."""

    submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def _fail_as_task_3() -> None:
    raise TaskFailed(3, "ValueError", "x", "", ())


def test_a_thread_pool_runs_the_tasks_from_its_queue_without_a_future_each() -> None:
    from tapstrace.engine.executor import PoolExecutor

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        executor = PoolExecutor(pool)
        gate = threading.Event()
        blockers = [_Calls(i, gate.wait) for i in range(2)]
        handles = [executor.launch(b) for b in blockers]
        assert not any(isinstance(h, concurrent.futures.Future) for h in handles)
        assert len(pool._threads) == 2  # started as submit starts them
        queued, failing = _Calls(2), _Calls(3, _fail_as_task_3)
        queued_handle = executor.launch(queued)
        executor.launch(failing)
        assert executor.cancel(queued_handle)  # still on the queue: dropped
        gate.set()
        assert failing.reported.wait(10) and blockers[0].reported.wait(10)
        assert not executor.cancel(handles[0])  # ran
        assert queued.outcomes == []  # never ran, never reported
        assert failing.outcomes[0][0] is Outcome.FAILED
        assert blockers[0].outcomes == [(Outcome.VALUE, True)]
    with _OwnSubmit(1) as own:
        spy = _Calls(4)
        assert isinstance(PoolExecutor(own).launch(spy), concurrent.futures.Future)
        assert spy.reported.wait(10) and own.submitted == 1


def test_a_report_that_raises_leaves_the_pools_thread_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tapstrace.engine.executor import PoolExecutor

    class Raising(_Calls):
        def settle(self, outcome: Outcome, detail: Any) -> None:
            raise OSError("disk full")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        executor = PoolExecutor(pool)
        executor.launch(Raising(1))
        after = _Calls(2)
        executor.launch(after)
        assert after.reported.wait(10)  # the one thread lived on
    assert "reporting the outcome of task 1 failed" in caplog.text


def test_a_broken_thread_pool_loses_its_queued_tasks() -> None:
    from tapstrace.engine.executor import PoolExecutor

    def broken() -> None:
        raise RuntimeError("no initializer today")

    pool = concurrent.futures.ThreadPoolExecutor(1, initializer=broken)
    executor = PoolExecutor(pool)
    spy = _Calls(1)
    executor.launch(spy)
    assert spy.reported.wait(10)
    assert spy.outcomes[0][0] is Outcome.LOST
    assert isinstance(spy.outcomes[0][1], concurrent.futures.thread.BrokenThreadPool)
    with pytest.raises(concurrent.futures.thread.BrokenThreadPool):
        executor.launch(_Calls(2))
    pool.shutdown()


class _KeepAsIs:
    """A data resolver that moves nothing (picklable, for a worker process)."""

    def resolve_call(self, args: Any, kwargs: Any) -> tuple[Any, Any, int]:
        return args, kwargs, 0

    def transform_result(self, value: Any) -> tuple[Any, int]:
        return value, 0


class _Where(TaskCall):
    """A task call that notes the thread its outcome is reported on."""

    thread = ""

    def settle(self, outcome: Outcome, detail: Any) -> None:
        self.thread = threading.current_thread().name
        self.outcome = outcome
        self.reported.set()


def test_a_process_pool_reports_on_its_own_thread_unless_a_data_manager_resolves() -> None:
    import multiprocessing

    from tapstrace.engine.executor import PoolExecutor

    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        executor = PoolExecutor(pool)
        plain = _Where(tasks.add, (1, 2), {}, 1)
        moved = _Where(tasks.add, (1, 2), {}, 2, data=_KeepAsIs())
        for call in (plain, moved):
            call.reported = threading.Event()
            executor.launch(call)
            assert call.reported.wait(60)
            assert call.outcome is Outcome.VALUE
        executor.shutdown()
    # The pool's manager thread, as a bare pool's callbacks; a result that a data
    # manager resolves may read a file or a store: the relay thread, not to hold up
    # the thread that feeds the workers.
    assert plain.thread != "tapstrace-pool-outcomes"
    assert moved.thread == "tapstrace-pool-outcomes"


class _Reported(TaskCall):
    """A task call that keeps every outcome reported for it (pickled: a plain TaskCall)."""

    def __init__(self, fn: Any, *args: Any, task_id: int) -> None:
        super().__init__(fn, args, {}, task_id)
        self.outcomes: list[tuple[Outcome, Any]] = []
        self.reported = threading.Event()

    def settle(self, outcome: Outcome, detail: Any) -> None:
        self.outcomes.append((outcome, detail))
        self.reported.set()


class _OwnProcessSubmit(concurrent.futures.ProcessPoolExecutor):
    """A process pool with a submit of its own: the adapter must go through it."""

    submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_a_process_pool_holds_the_tasks_without_a_future_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import multiprocessing

    from tapstrace.engine.executor import PoolExecutor

    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        executor = PoolExecutor(pool)
        warm = _Reported(tasks.identity, 0, task_id=0)
        executor.launch(warm)
        assert warm.reported.wait(60)  # the worker is up
        # One worker and a call queue of two: the fourth task stays pending.
        blockers = [_Reported(tasks.sleep, 0.3, task_id=i) for i in (1, 2, 3)]
        handles = [executor.launch(b) for b in blockers]
        assert not any(isinstance(h, concurrent.futures.Future) for h in handles)
        pending = _Reported(tasks.identity, "never", task_id=4)
        assert executor.cancel(executor.launch(pending))
        failing = _Reported(tasks.fail, "kaput", task_id=5)
        executor.launch(failing)

        class Raising(_Reported):
            def settle(self, outcome: Outcome, detail: Any) -> None:
                raise OSError("disk full")

        executor.launch(Raising(tasks.identity, 1, task_id=6))
        after = _Reported(tasks.add, 1, 2, task_id=7)
        executor.launch(after)
        assert after.reported.wait(60)  # the pool's manager thread lived on
        unshippable = _Reported(tasks.identity, threading.Lock(), task_id=17)
        executor.launch(unshippable)  # sent, then the pool cannot pickle it: lost
        assert unshippable.reported.wait(60)
        assert unshippable.outcomes[0][0] is Outcome.LOST
        assert isinstance(unshippable.outcomes[0][1], TypeError)
        assert not executor.cancel(handles[0])  # ran
        assert [b.outcomes[0][0] for b in blockers] == [Outcome.VALUE] * 3
        assert all(len(b.outcomes) == 1 for b in blockers)
        assert type(after.outcomes[0][1]) is TaskResult and after.outcomes[0][1].value == 3
        assert pending.outcomes == []  # never ran, never reported
        outcome, detail = failing.outcomes[0]
        assert outcome is Outcome.FAILED and detail.error_type == "ValueError"
        # Shut down with tasks pending: they are dropped, not reported (the engine
        # records them cancelled); the one running reports its value.
        last = [_Reported(tasks.sleep, 0.3, task_id=i) for i in range(8, 14)]
        for call in last:
            executor.launch(call)
        time.sleep(0.1)  # the first three sent to the worker's call queue
        executor.shutdown(wait=True, cancel_futures=True)
        reports = [len(c.outcomes) for c in last]
        assert reports[0] == 1 and reports[-1] == 0 and all(n <= 1 for n in reports)
    assert "reporting the outcome of task 6 failed" in caplog.text
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.launch(_Reported(tasks.identity, 1, task_id=15))
    with _OwnProcessSubmit(1, mp_context=spawn) as own:
        call = _Reported(tasks.add, 2, 2, task_id=16)
        assert isinstance(PoolExecutor(own).launch(call), concurrent.futures.Future)
        assert call.reported.wait(60) and own.submitted == 1


def test_a_dead_worker_loses_the_process_pools_tasks() -> None:
    import multiprocessing

    from tapstrace.engine.executor import PoolExecutor

    spawn = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn)
    executor = PoolExecutor(pool)
    dying = _Reported(tasks.die, task_id=1)
    queued = _Reported(tasks.identity, 1, task_id=2)
    dropped = _Reported(tasks.identity, 2, task_id=3)
    executor.launch(dying)
    executor.launch(queued)
    handle = executor.launch(dropped)
    executor.cancel(handle)  # pending or already sent: either way one report at most
    assert dying.reported.wait(60) and queued.reported.wait(60)
    for call in (dying, queued):
        outcome, detail = call.outcomes[0]
        assert outcome is Outcome.LOST
        assert isinstance(detail, concurrent.futures.process.BrokenProcessPool)
    assert len(dropped.outcomes) <= 1
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        executor.launch(_Reported(tasks.identity, 3, task_id=4))
    executor.shutdown()
