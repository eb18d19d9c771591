"""TaskFuture, the future the engine returns, and DependencyError."""

from __future__ import annotations

import concurrent.futures
import time
from concurrent.futures._base import (
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    LOGGER,
    PENDING,
    RUNNING,
)
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapstrace.engine.engine import Engine

_DONE = frozenset((CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED))
_CANCELLED = frozenset((CANCELLED, CANCELLED_AND_NOTIFIED))


class DependencyError(Exception):
    """A task did not run because one of its parents failed or was cancelled."""

    def __init__(self, task_id: int, parent_id: int, reason: str) -> None:
        super().__init__(f"task {task_id} did not run: its parent task {parent_id} {reason}")
        self.task_id = task_id
        self.parent_id = parent_id

    def __reduce__(self) -> tuple[Any, ...]:
        reason = str(self).rsplit(f"task {self.parent_id} ", 1)[-1]
        return (DependencyError, (self.task_id, self.parent_id, reason))


class TaskFuture(concurrent.futures.Future[Any]):
    """A ``concurrent.futures.Future`` that knows its task.

    Pass it as an argument (in lists, tuples, sets and dict values, at any depth) to
    another ``Engine.submit`` call to make a data-flow dependency.

    Only the engine resolves it. Cheaper than a plain Future, which matters with a
    hundred thousand of them alive: the futures of one engine share its Condition (a
    plain Future makes a Condition, a lock and a deque each), and a future's list of
    waiters and of callbacks is made when first needed. It works with
    ``concurrent.futures.wait`` and ``as_completed`` as any Future does.
    """

    #: The result as the executor carried it, when it holds out-of-band references
    #: (tapstrace.data): dependent tasks get this instead of the resolved result.
    carried: Any = None
    #: Wall-clock time the client received the final result (None until then).
    received: float | None = None
    #: The client has observed this future done (tapstrace.engine.client).
    _seen: bool = False
    # concurrent.futures.Future's state, with class-level defaults (no Future.__init__).
    _state: str = PENDING
    _result: Any = None
    _exception: BaseException | None = None
    _done_callbacks: Any = ()
    _waiter_list: list[Any] | None = None

    def __init__(self, engine: Engine, task_id: int, name: str) -> None:
        self.engine = engine
        self.task_id = task_id
        self.name = name
        self._condition = engine._condition

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]
        """The waiters of ``concurrent.futures.wait`` and ``as_completed``, made on first
        use (the flow's ObservedWaiters when the engine records the client's flow)."""
        waiters = self._waiter_list
        if waiters is None:
            flow = self.engine._flow
            waiters = self._waiter_list = flow.waiters() if flow is not None else []
        return waiters

    # -- reading --------------------------------------------------------------------------

    def done(self) -> bool:
        return self._state in _DONE

    def cancelled(self) -> bool:
        return self._state in _CANCELLED

    def running(self) -> bool:
        return self._state == RUNNING

    def result(self, timeout: float | None = None) -> Any:
        """The task's value (waits for it); the client's wait is recorded (schema 1.2)."""
        flow = self.engine._flow
        if flow is None or self._seen or not flow.block_started():
            return self._outcome(timeout, True)
        try:
            return self._outcome(timeout, True)
        finally:
            flow.block_ended((self,))

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The task's exception or None (waits for it); recorded like ``result``."""
        flow = self.engine._flow
        if flow is None or self._seen or not flow.block_started():
            return self._outcome(timeout, False)
        try:
            return self._outcome(timeout, False)
        finally:
            flow.block_ended((self,))

    def _outcome(self, timeout: float | None, value: bool) -> Any:
        if self._state not in _DONE:
            self._wait(timeout)
        if self._state in _CANCELLED:
            raise concurrent.futures.CancelledError()
        if not value:
            return self._exception
        exc = self._exception
        if exc is not None:
            try:
                raise exc
            finally:
                del exc  # no reference cycle through the traceback
        return self._result

    def _wait(self, timeout: float | None) -> None:
        """Block until done; the engine's Condition is shared, so wake-ups are rechecked."""
        engine = self.engine
        condition = self._condition
        deadline = None if timeout is None else time.monotonic() + timeout
        with condition:
            engine._sleepers += 1
            try:
                while self._state not in _DONE:
                    if deadline is None:
                        condition.wait()
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError()
                    condition.wait(left)
            finally:
                engine._sleepers -= 1

    # -- changing -------------------------------------------------------------------------

    def cancel(self) -> bool:
        """Cancel the task if it has not started; its children then fail."""
        return self.engine._cancel(self)

    def add_done_callback(self, fn: Any) -> None:
        with self._condition:
            if self._state not in _DONE:
                callbacks = self._done_callbacks
                if callbacks == ():
                    self._done_callbacks = [fn]
                else:
                    callbacks.append(fn)
                return
        try:
            fn(self)
        except Exception:
            LOGGER.exception("exception calling callback for %r", self)

    def _resolve(
        self, state: str, result: Any = None, exception: BaseException | None = None
    ) -> None:
        """Engine-internal: the task's final outcome (``state`` FINISHED, or
        CANCELLED_AND_NOTIFIED for a cancelled task). Wakes waiters, runs callbacks."""
        with self._condition:
            if self._state in _DONE:
                raise concurrent.futures.InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._exception = exception
            self._state = state
            waiters = self._waiter_list
            if waiters:
                for waiter in waiters:
                    if state == CANCELLED_AND_NOTIFIED:
                        waiter.add_cancelled(self)
                    elif exception is not None:
                        waiter.add_exception(self)
                    else:
                        waiter.add_result(self)
            if self.engine._sleepers:
                self._condition.notify_all()
        for callback in self._done_callbacks:
            try:
                callback(self)
            except Exception:
                LOGGER.exception("exception calling callback for %r", self)

    def __repr__(self) -> str:
        return f"<TaskFuture task_id={self.task_id} name={self.name!r} state={self._state}>"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"TaskFuture {self.task_id} cannot be pickled: pass it to Engine.submit, "
            "which turns it into a dependency"
        )
