"""What every executor adapter shares: the outcomes it reports, how a framework's result
or error becomes one, and a relay thread for frameworks that call back where blocking is
unsafe.

An adapter (tapstrace.engine.executor.Executor) launches a task and reports exactly one
:class:`Outcome` per launch by calling ``task.settle(outcome, detail)``; the engine owns
the task's future and does everything else (records, retries, dependency failures).
"""

from __future__ import annotations

import concurrent.futures
import enum
import logging
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from tapstrace.engine.worker import TaskFailed, standard_pickle

log = logging.getLogger(__name__)


class Outcome(enum.IntEnum):
    """How one launch of a task ended, as an adapter reports it (with a ``detail``)."""

    #: The call returned; detail: its return value (a TaskResult unless the executor
    #: is ``local``).
    VALUE = 0
    #: The task's function raised; detail: the call's TaskFailed (with the worker report).
    FAILED = 1
    #: The framework did not run the task because a parent failed or was cancelled;
    #: detail: the parent's task id, or None where the framework does not say which.
    PARENT_FAILED = 2
    #: The framework cancelled the task (or the adapter, asked to, dropped it); detail: None.
    CANCELLED = 3
    #: The executor lost the attempt (its worker died, the framework failed); detail:
    #: the exception that says so.
    LOST = 4


class Launched(Protocol):
    """A task as an adapter sees it: call it (or ship it: it pickles to a TaskCall) and
    settle it once."""

    task_id: int

    def __call__(self, *values: Any) -> Any: ...

    def settle(self, outcome: Outcome, detail: Any) -> None: ...


def dumps_call(task: Launched, fallback: Callable[[Any], bytes]) -> bytes:
    """Pickle a task call for a framework that ships bytes: the standard pickle (C, about
    a quarter of cloudpickle's time for a call), or ``fallback`` (a cloudpickle's
    ``dumps``) for what a worker could not load by reference.

    The standard pickle names functions and classes by module; a worker cannot import
    ``__main__``'s, so a call that mentions ``__main__`` (or that the standard pickle
    refuses: a lambda, a local function) goes by value, as cloudpickle sends it. The
    standard pickle reads either. Modules registered with cloudpickle's
    ``register_pickle_by_value`` always go by value.
    """
    module = sys.modules.get(getattr(fallback, "__module__", "") or "")
    if getattr(module, "_PICKLE_BY_VALUE_MODULES", None):
        return fallback(task)
    data = standard_pickle(task)
    return fallback(task) if data is None else data


def settle_error(task: Launched, exc: BaseException) -> None:
    """Report a failure a framework delivered, once unwrapped from the framework's own
    exception: the task's TaskFailed, a parent's (the framework propagated it),
    a cancellation, or anything else: the attempt was lost."""
    if isinstance(exc, TaskFailed):
        if exc.task_id == task.task_id:
            task.settle(Outcome.FAILED, exc)
        else:
            task.settle(Outcome.PARENT_FAILED, exc.task_id)
    elif isinstance(exc, concurrent.futures.CancelledError):
        task.settle(Outcome.CANCELLED, None)
    else:
        task.settle(Outcome.LOST, exc)


def settle_future(
    task: Launched, future: concurrent.futures.Future[Any], returned: bool = False
) -> None:
    """Report the outcome of a done ``concurrent.futures`` future that ran ``task``.

    ``returned``: the call ran through ``run_task`` (tapstrace.executors.remote_call),
    which returns a failure instead of raising it.
    """
    try:
        value = future.result()
    except concurrent.futures.CancelledError:
        task.settle(Outcome.CANCELLED, None)
    except BaseException as exc:
        settle_error(task, exc)
    else:
        if returned and isinstance(value, BaseException):
            settle_error(task, value)
        else:
            task.settle(Outcome.VALUE, value)


class Relay:
    """One thread that runs completion callbacks in order, off the framework's threads.

    Ray calls back on its core worker's thread and Parsl on its task launch thread;
    blocking there (the engine launches children, users' callbacks may wait) would stall
    or deadlock the framework. ``put`` only enqueues, so it is safe anywhere.
    """

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., object], tuple[Any, ...]] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` on the relay thread."""
        self._queue.put((fn, args))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except BaseException:
                log.exception("completion callback %r failed", fn)

    def close(self, timeout: float | None = 10.0) -> None:
        """Run what is queued, then stop the thread."""
        self._queue.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
