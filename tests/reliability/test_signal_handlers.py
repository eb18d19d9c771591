"""The run's signal handlers in this process: a signal that arrives where raising would
leave a lock held is handled a moment later instead (tapstrace.runner.signals)."""

from __future__ import annotations

import concurrent.futures
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from tapstrace.runner import signals


class _Lock:
    """A future's lock that runs ``handler`` as a signal arriving while it is taken
    would: in the frame of whoever takes it."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.outcome: str | None = None

    def acquire(self) -> None:
        frame = sys._getframe(1)
        try:
            self.handler(signal.SIGUSR1, frame)
            self.outcome = "deferred"
        except KeyboardInterrupt:
            self.outcome = "raised"

    def release(self) -> None:
        pass


class _Future:
    def __init__(self, lock: _Lock) -> None:
        self._condition = lock


@pytest.fixture
def usr1() -> Any:
    """SIGUSR1 recorded in an event while the test runs (the signal the handlers resend)."""
    got = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda *_: got.set())
    installed = signals.terminable()  # as a run does; restore calls off a forced exit
    assert installed
    yield got
    signal.signal(signal.SIGUSR1, previous)
    signals.restore(installed)


@pytest.mark.parametrize("handler", [signals.interrupt, signals.exit_on_signal])
def test_a_signal_in_concurrent_futures_lock_loop_is_sent_again(usr1: Any, handler: Any) -> None:
    """Raised while ``concurrent.futures`` takes every future's lock, the exception
    would leave those taken so far held for good: the handler returns, and the signal
    comes again moments later."""
    lock = _Lock(handler)
    with concurrent.futures._base._AcquireFutures([_Future(lock)]):
        pass
    assert lock.outcome == "deferred"
    assert usr1.wait(5), "the signal was not sent again"


def test_a_signal_elsewhere_raises_at_once(usr1: Any) -> None:
    frame: FrameType = sys._getframe()
    with pytest.raises(KeyboardInterrupt):
        signals.interrupt(signal.SIGUSR1, frame)
    with pytest.raises(signals.Terminated) as info:
        signals.exit_on_signal(signal.SIGTERM, frame)
    assert info.value.code == 128 + signal.SIGTERM
    assert not usr1.wait(0.2)


def test_a_signal_in_a_log_handler_is_sent_again(usr1: Any) -> None:
    """``logging`` takes a handler's lock before its ``try``: an exception there would
    leave the handler locked for every other thread (Parsl's result thread logs)."""
    outcome: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                signals.exit_on_signal(signal.SIGUSR1, sys._getframe())
                outcome.append("deferred")
            except signals.Terminated:
                outcome.append("raised")

    logger = logging.getLogger("tapstrace.tests.signals")
    logger.addHandler(Handler())
    logger.propagate = False
    logger.warning("a record")
    assert outcome == ["deferred"]
    assert usr1.wait(5)


def test_a_signal_is_deferred_for_a_bounded_time(usr1: Any, monkeypatch: Any) -> None:
    """Unsafe code that blocks (a handler writing to a full pipe) holds a signal back
    for DEFER_AT_MOST seconds at most; then it is raised there anyway."""
    monkeypatch.setattr(signals, "DEFER_AT_MOST", 0.0)
    lock = _Lock(signals.interrupt)
    futures = [_Future(lock)]
    with concurrent.futures._base._AcquireFutures(futures):
        pass
    assert lock.outcome == "deferred"
    usr1.wait(5)
    with concurrent.futures._base._AcquireFutures(futures):
        pass
    assert lock.outcome == "raised"


def test_a_signal_as_a_condition_is_left_is_sent_again(usr1: Any) -> None:
    """``threading.Condition.__exit__`` is Python code: a signal handled on entering it
    would raise before the lock is released (every ``with`` over the engine's Condition
    ends there)."""
    outcome: list[str] = []

    class Lock:
        def acquire(self, *args: Any) -> bool:
            return True

        def release(self) -> None:
            pass

        def __enter__(self) -> bool:
            return True

        def __exit__(self, *args: Any) -> None:
            try:
                signals.interrupt(signal.SIGUSR1, sys._getframe())
                outcome.append("deferred")
            except KeyboardInterrupt:
                outcome.append("raised")

    with threading.Condition(Lock()):  # type: ignore[arg-type]
        pass
    assert outcome == ["deferred"]
    assert usr1.wait(5)


def test_a_nested_restore_leaves_the_runs_unwind_bounded(usr1: Any) -> None:
    """An executor built inside a run (Parsl) calls terminable and restore around its
    life, installing nothing; its shutdown, part of the run's unwind, must not call off
    the run's forced exit or forget where its stacks go."""
    with pytest.raises(KeyboardInterrupt):
        signals.interrupt(signal.SIGUSR1, sys._getframe())  # the run is unwinding
    signals.stacks_to(Path("log.txt"))
    nested = signals.terminable()
    assert nested == {}
    signals.restore(nested)
    assert signals._deadlines and signals._stacks_file == Path("log.txt")
