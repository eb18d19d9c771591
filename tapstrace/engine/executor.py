"""The executor interface that every executor plugin implements: a small adapter.

The engine owns each task's future; an executor plugin's config builds an ``Executor``
that launches a task (with its parents' native handles, where the framework takes them),
can cancel it, and reports one :class:`~tapstrace.engine.adapter.Outcome` per launch
(``task.settle``). tapstrace.engine.adapter holds what adapters share.

Executors that take futures as task arguments (Dask, Parsl, Ray) set
``native_dependencies``: the engine launches a child at once, its parents' handles as
top-level arguments (a :class:`~tapstrace.engine.worker.Slot` marks where each value
goes in the task's arguments), and the framework schedules it and moves the data. The
others get their tasks when every parent is done, with the parents' values.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import concurrent.futures.thread
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from tapstrace.engine.adapter import Launched, Outcome, Relay, settle_error, settle_future

log = logging.getLogger(__name__)


class Executor(ABC):
    """A task executor as the engine sees it."""

    #: Takes parents' handles as task arguments and resolves them itself.
    native_dependencies: bool = False
    #: With native dependencies: the framework itself fails a launched child whose
    #: parent failed or was cancelled, so the engine need not cancel it. Ray sets it:
    #: its ray.cancel racing with the child's own failure aborts the client process.
    fails_children: bool = False
    #: Its shutdown stops every task it holds, and cancelling them one by one first is
    #: harmful: a run stopped early leaves its launched tasks to the shutdown (recorded
    #: cancelled), instead of cancelling them and waiting for those that run. Ray sets
    #: it: ray.cancel racing with a task's reply aborts the client process (Ray 2.60,
    #: task_manager.cc, "An unexpected system state"): 1 run in 20 stopped by Ctrl-C
    #: with 64 tasks in flight.
    stops_tasks_on_shutdown: bool = False
    #: Runs the very task object it is given, in this process (a thread pool): the
    #: engine reads the worker's measurements from it (tapstrace.engine.worker.TaskCall).
    local: bool = False

    @abstractmethod
    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        """Start ``task(*values of parents)``; return its native handle (what children
        receive through ``native_argument`` and what ``cancel`` takes), or None.

        Report exactly one outcome for the launch with ``task.settle``, from any thread,
        possibly before this returns. Raising instead means the launch failed (the engine
        records the attempt as failed with that error).
        """

    def cancel(self, handle: Any) -> bool:
        """Ask the framework to drop a launched task. True: the engine records it
        cancelled at once, and ignores the outcome the adapter may still report; the task
        must then not run, or its result is discarded. False: it will run to its end."""
        return False

    @abstractmethod
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Release every resource; leave no process behind. Tasks never settled by then
        are recorded as cancelled."""

    def native_argument(self, handle: Any) -> Any:
        """What a child receives in place of a parent's handle (``native_dependencies``)."""
        return handle

    def worker_id_function(self) -> Callable[[], str | None] | None:
        """A picklable function that returns the executor's id for the current worker."""
        return None

    def workers(self) -> int | None:
        """How many workers (task slots) the executor has, when known."""
        return None

    def describe(self) -> dict[str, Any]:
        """Facts about the live executor for the trace metadata (versions, addresses)."""
        return {}


class _Held(list[Any]):
    """A pool's work item that holds a task until one side claims it (an atomic
    ``list.pop``): the pool, to run it, or a cancellation."""

    __slots__ = ()

    def claim(self) -> bool:
        """Take the task; False if another side took it first."""
        try:
            self.pop()
        except IndexError:
            return False
        return True

    #: Drop the task if the pool has not taken it yet (what a pool asks of a Future).
    cancel = claim


class _Queued(_Held):
    """A task on a ThreadPoolExecutor's queue without the pool's own Future: the pool's
    worker thread calls ``run``, which runs the task and reports its outcome.

    It holds the task until one side claims it with ``pop`` (atomic): the worker, to run
    it, or a cancellation (the engine's, or the pool's shutdown, which drains its queue
    through ``future.cancel()``). A pool whose initializer failed fails what it drains
    through ``future.set_exception``.
    """

    __slots__ = ()

    @property
    def future(self) -> _Queued:
        return self

    def set_exception(self, exc: BaseException) -> None:
        try:
            task: Launched = self.pop()
        except IndexError:
            return
        task.settle(Outcome.LOST, exc)

    def run(self, *_context: Any) -> None:  # (Python 3.14's workers pass a context)
        try:
            task: Launched = self.pop()
        except IndexError:
            return  # cancelled
        try:
            try:
                value = task()
            except BaseException as exc:
                settle_error(task, exc)
            else:
                task.settle(Outcome.VALUE, value)
        except BaseException:  # the pool's thread must live on (a pool Future logs too)
            log.exception("reporting the outcome of task %s failed", task.task_id)


def _feeds_queue(pool: concurrent.futures.Executor) -> bool:
    """Whether tasks can go straight onto ``pool``'s queue: a ThreadPoolExecutor whose
    ``submit`` is the standard one, with the internals that ``submit`` uses."""
    return (
        isinstance(pool, concurrent.futures.ThreadPoolExecutor)
        and type(pool).submit is concurrent.futures.ThreadPoolExecutor.submit
        and all(
            hasattr(pool, name)
            for name in ("_work_queue", "_shutdown_lock", "_threads", "_max_workers",
                         "_adjust_thread_count", "_broken", "_shutdown")
        )
    )  # fmt: skip


class _Pending(_Held):
    """A task among a ProcessPoolExecutor's pending work items, where the pool keeps a
    Future: the pool's manager thread marks it running, then sets its result or error,
    which the item reports as the task's outcome at once (or through ``relay``).

    It holds the task until one side claims it with ``pop`` (atomic): the manager, to
    send it to a worker, or a cancellation (the engine's, or the pool's shutdown with
    ``cancel_futures``). A broken pool fails what it still holds through
    ``set_exception``: the task is lost, unless it was cancelled first.
    """

    __slots__ = ("relay", "sent", "task")

    def __init__(self, task: Launched, relay: Relay | None) -> None:
        super().__init__((task,))
        self.task = task
        self.relay = relay
        self.sent = False

    def set_running_or_notify_cancel(self) -> bool:
        if not self.claim():
            return False  # cancelled
        self.sent = True
        return True

    def set_result(self, value: Any) -> None:
        self._report(Outcome.VALUE, value)

    def set_exception(self, exc: BaseException) -> None:
        if self.sent or self.claim():  # (a cancelled task has no outcome)
            self._report(None, exc)

    def _report(self, outcome: Outcome | None, detail: Any) -> None:
        if self.relay is not None:
            self.relay.put(self._settle, outcome, detail)
        else:
            self._settle(outcome, detail)

    def _settle(self, outcome: Outcome | None, detail: Any) -> None:
        task = self.task
        try:
            if outcome is None:
                settle_error(task, detail)
            else:
                task.settle(outcome, detail)
        except BaseException:  # the pool's manager thread must live on
            log.exception("reporting the outcome of task %s failed", task.task_id)


def _feeds_work_items(pool: concurrent.futures.Executor) -> bool:
    """Whether tasks can go straight into ``pool``'s pending work items: a
    ProcessPoolExecutor whose ``submit`` is the standard one, with the internals that
    ``submit`` uses."""
    return (
        isinstance(pool, concurrent.futures.ProcessPoolExecutor)
        and type(pool).submit is concurrent.futures.ProcessPoolExecutor.submit
        and hasattr(concurrent.futures.process, "_WorkItem")
        and hasattr(concurrent.futures.process, "_global_shutdown")
        and all(
            hasattr(pool, name)
            for name in ("_shutdown_lock", "_broken", "_shutdown_thread", "_pending_work_items",
                         "_work_ids", "_queue_count", "_executor_manager_thread_wakeup",
                         "_safe_to_dynamically_spawn_children", "_adjust_process_count",
                         "_start_executor_manager_thread")
        )
    )  # fmt: skip


class PoolExecutor(Executor):
    """Adapter for a ``concurrent.futures.Executor`` (thread and process pools).

    A thread pool runs the engine's task objects themselves (``local``). A standard
    ThreadPoolExecutor gets them on its queue as they are, without a Future of its own
    per task (:class:`_Queued`): the same threads, queue and thread start-up as its
    ``submit``, at half the client's CPU per no-op task (docs/performance.md). A process
    pool pickles them; a standard ProcessPoolExecutor gets them among its pending work
    items the same way, each in a :class:`_Pending` instead of a Future. Outcomes are
    reported on the thread that completes the pool's future, where a bare pool runs its
    callbacks (a process pool's manager thread, which also feeds the workers: the
    engine's settling is short), except a result that the engine's data manager
    resolves, which may read a file or a store: that goes to a relay thread. A worker
    process that dies breaks the pool: its tasks are lost.
    """

    def __init__(
        self,
        pool: concurrent.futures.Executor,
        workers: int | None = None,
        worker_id: Callable[[], str | None] | None = None,
        *,
        local: bool | None = None,
    ) -> None:
        self.pool = pool
        self._workers = workers
        self._worker_id = worker_id
        if local is None:
            local = isinstance(pool, concurrent.futures.ThreadPoolExecutor)
        self.local = local
        self._submit = pool.submit
        # For results a data manager resolves (idle otherwise).
        self._relay = None if local else Relay("tapstrace-pool-outcomes")
        self._queue_fed = local and _feeds_queue(pool)
        self._items_fed = not local and _feeds_work_items(pool)

    def _enqueue(self, task: Launched) -> _Queued:
        """What ThreadPoolExecutor.submit does, with the task as the work item."""
        pool: Any = self.pool
        item = _Queued((task,))
        with pool._shutdown_lock:
            if pool._broken:
                raise concurrent.futures.thread.BrokenThreadPool(pool._broken)
            if pool._shutdown or concurrent.futures.thread._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            pool._work_queue.put(item)
            # Starts a thread unless one is idle, as submit does; a full pool has no more
            # to start (its idle count then only grows, unread).
            if len(pool._threads) < pool._max_workers:
                pool._adjust_thread_count()
        return item

    def _add_work_item(self, task: Launched) -> _Pending:
        """What ProcessPoolExecutor.submit does, with a :class:`_Pending` as the Future."""
        pool: Any = self.pool
        relay = None if getattr(task, "data", None) is None else self._relay
        item = _Pending(task, relay)
        with pool._shutdown_lock:
            if pool._broken:
                raise concurrent.futures.process.BrokenProcessPool(pool._broken)
            if pool._shutdown_thread or concurrent.futures.process._global_shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            work_id = pool._queue_count
            work = concurrent.futures.process._WorkItem(item, task, (), {})  # type: ignore[arg-type]
            pool._pending_work_items[work_id] = work
            pool._work_ids.put(work_id)
            pool._queue_count = work_id + 1
            pool._executor_manager_thread_wakeup.wakeup()
            if pool._safe_to_dynamically_spawn_children:
                pool._adjust_process_count()
            pool._start_executor_manager_thread()
        return item

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        if self._queue_fed:
            return self._enqueue(task)
        if self._items_fed:
            return self._add_work_item(task)
        future = self._submit(task)
        # The task rides on its future, and one bound method serves every task: no
        # closure per task.
        future._tapstrace_task = task  # type: ignore[attr-defined]
        if self._relay is None or getattr(task, "data", None) is None:
            future.add_done_callback(self._settle)
        else:
            future.add_done_callback(self._relayed)
        return future

    @staticmethod
    def _settle(future: concurrent.futures.Future[Any]) -> None:
        task = future._tapstrace_task  # type: ignore[attr-defined]
        del future._tapstrace_task  # type: ignore[attr-defined]
        settle_future(task, future)

    def _relayed(self, future: concurrent.futures.Future[Any]) -> None:
        assert self._relay is not None
        self._relay.put(self._settle, future)

    def cancel(self, handle: Any) -> bool:
        return bool(handle.cancel())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            if self._relay is not None and wait:  # (without wait, late outcomes still go)
                self._relay.close()

    def worker_id_function(self) -> Callable[[], str | None] | None:
        return self._worker_id

    def workers(self) -> int | None:
        return self._workers
