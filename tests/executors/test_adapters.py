"""The pieces every executor adapter shares: task calls with natively passed parents,
the outcome of a framework's error, and the relay thread."""

from __future__ import annotations

import concurrent.futures
import pickle
import threading
from collections import namedtuple
from typing import Any

from tapstrace.engine.adapter import Outcome, Relay, settle_error, settle_future
from tapstrace.engine.worker import Slot, TaskCall, TaskFailed, TaskResult, WorkerReport

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
