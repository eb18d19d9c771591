"""TaskFuture, the future the engine returns, and DependencyError."""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Any

from tapstrace.engine.client import ObservedWaiters

if TYPE_CHECKING:
    from tapstrace.engine.engine import Engine


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

    Pass it as an argument (at any depth in lists, tuples, dicts and sets) to another
    ``Engine.submit`` call to make a data-flow dependency.
    """

    #: The result as the executor carried it, when it holds out-of-band references
    #: (tapstrace.data): dependent tasks get this instead of the resolved result.
    carried: Any = None
    #: The client has observed this future done (tapstrace.engine.client).
    _seen: bool = False

    def __init__(self, engine: Engine, task_id: int, name: str) -> None:
        super().__init__()
        self.engine = engine
        self.task_id = task_id
        self.name = name
        #: Wall-clock time the client received the final result (None until then).
        self.received: float | None = None
        flow = engine._flow
        if flow is not None:
            self._waiters = ObservedWaiters(flow)

    def result(self, timeout: float | None = None) -> Any:
        """The task's value (waits for it); the client's wait is recorded (schema 1.2)."""
        flow = self.engine._flow
        if flow is None or self._seen or not flow.block_started():
            return super().result(timeout)
        try:
            return super().result(timeout)
        finally:
            flow.block_ended((self,))

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The task's exception or None (waits for it); recorded like ``result``."""
        flow = self.engine._flow
        if flow is None or self._seen or not flow.block_started():
            return super().exception(timeout)
        try:
            return super().exception(timeout)
        finally:
            flow.block_ended((self,))

    def cancel(self) -> bool:
        """Cancel the task if it has not started; its children then fail."""
        return self.engine._cancel(self)

    def mark_cancelled(self) -> None:
        """Engine-internal: move to the cancelled state and wake waiters.

        ``Future.cancel`` alone leaves the state at CANCELLED, which ``wait`` and
        ``as_completed`` do not count as done until an executor "notifies" it; nothing
        runs a TaskFuture itself, so the engine notifies here.
        """
        concurrent.futures.Future.cancel(self)
        self.set_running_or_notify_cancel()

    def __repr__(self) -> str:
        return f"<TaskFuture task_id={self.task_id} name={self.name!r} state={self._state}>"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"TaskFuture {self.task_id} cannot be pickled: pass it to Engine.submit, "
            "which turns it into a dependency"
        )
