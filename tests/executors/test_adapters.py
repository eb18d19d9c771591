"""The pieces shared by the cluster executors: packed calls and mirrored futures."""

from __future__ import annotations

import concurrent.futures
import pickle
import threading
from collections import namedtuple
from typing import Any

from tapstrace.executors.mirror import MirroredFuture, Relay
from tapstrace.executors.packing import pack_call, run_packed

Point = namedtuple("Point", "x y")


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


def test_futures_anywhere_become_top_level_arguments() -> None:
    a, b = concurrent.futures.Future(), concurrent.futures.Future()
    args = ([a, (b, Point(a, 2))], {"key": a, "v": b}, frozenset({b}), {a})
    kwargs = {"priority": a, "inputs": [b], "walltime": 3}  # names Dask and Parsl reserve
    call, futures = pack_call(echo, args, kwargs, concurrent.futures.Future)
    assert futures == [a, b]  # each once, in order of appearance
    call = pickle.loads(pickle.dumps(call))  # as the framework ships it
    got_args, got_kwargs = run_packed(call, "A", "B")
    expected = (["A", ("B", Point("A", 2))], {"key": "A", "v": "B"}, frozenset({"B"}), {"A"})
    assert got_args == expected
    assert type(got_args[0][1][1]) is Point
    assert got_kwargs == {"priority": "A", "inputs": ["B"], "walltime": 3}
    assert call.__name__ == "echo"


def test_a_call_without_futures_is_passed_as_it_is() -> None:
    payload = bytes(10)
    call, futures = pack_call(echo, (payload,), {}, concurrent.futures.Future)
    assert futures == [] and call.args[0] is payload
    assert run_packed(call) == ((payload,), {})


def test_mirror_cancel_wakes_waiters_and_discards_a_late_result() -> None:
    cancelled: list[str] = []
    mirror = MirroredFuture("native", lambda: cancelled.append("asked"))
    seen: list[bool] = []
    mirror.add_done_callback(lambda f: seen.append(f.cancelled()))
    waiter = threading.Thread(target=concurrent.futures.wait, args=([mirror],))
    waiter.start()
    assert mirror.cancel() and mirror.cancel()  # idempotent
    waiter.join(5)
    assert not waiter.is_alive()  # wait() counts it done
    assert cancelled == ["asked"] and seen == [True]
    mirror.settle_result(42)  # the framework finished anyway: ignored
    mirror.settle_cancelled()
    assert mirror.cancelled()


def test_mirror_of_a_finished_task_cannot_be_cancelled() -> None:
    mirror = MirroredFuture("native", lambda: None)
    mirror.settle_exception(ValueError("x"))
    assert not mirror.cancel()
    assert isinstance(mirror.exception(), ValueError)


def test_relay_runs_callbacks_in_order_on_its_own_thread() -> None:
    relay = Relay("test-relay")
    ran: list[tuple[int, str]] = []
    for i in range(100):
        relay.put(lambda i: ran.append((i, threading.current_thread().name)), i)
    relay.close()
    assert ran == [(i, "test-relay") for i in range(100)]
