"""The engine: one concurrent.futures-style front end over every executor, recording
every attempt of every task.

Client-side times (submitted, ready, dispatched, received) are taken here; the worker
wrapper (tapstrace.engine.worker) takes the rest. Every submitted task ends in exactly one
final record, plus one record per earlier failed attempt when retries are enabled; the
engine guarantees it by construction: a task's state moves to DONE exactly once, under a
lock, and that transition is the only place a final record is made.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import functools
import itertools
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tapstrace.engine.client import NO_FLOW, ClientFlow
from tapstrace.engine.dataflow import collect_call, replace_call
from tapstrace.engine.executor import Executor
from tapstrace.engine.future import DependencyError, TaskFuture
from tapstrace.engine.record import Recorder, Row, Status, TaskRecord
from tapstrace.engine.sizes import SizeMode
from tapstrace.engine.worker import TaskFailed, TaskResult, TaskWrapper, WorkerReport

if TYPE_CHECKING:
    from tapstrace.data.manager import DataManager


class _State(enum.Enum):
    WAITING = 1  # for parents
    DISPATCHING = 2  # being handed to the executor
    DISPATCHED = 3
    DONE = 4


class _Task:
    """Client-side state of one task (not of one attempt)."""

    __slots__ = (
        "args",
        "attempt",
        "client",
        "data",
        "dispatched",
        "executor_future",
        "fn",
        "future",
        "id",
        "kwargs",
        "module",
        "name",
        "native",
        "parent_futures",
        "parents",
        "ready",
        "retries",
        "source_id",
        "state",
        "submitted",
        "waiting",
        "warmup",
    )

    def __init__(
        self, task_id: int, fn: Callable[..., Any], future: TaskFuture, module: str | None
    ) -> None:
        self.id = task_id
        self.fn = fn
        self.future = future
        self.name = future.name
        self.module = module
        self.attempt = 1
        self.state = _State.WAITING
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}
        self.parents: tuple[int, ...] = ()
        self.parent_futures: list[TaskFuture] = []
        self.submitted = 0.0
        self.ready: float | None = None
        self.dispatched: float | None = None
        self.executor_future: Any = None
        self.native = False
        self.waiting = 0
        self.warmup = False
        self.source_id: str | None = None
        self.data: _DataState | None = None
        #: Control parents, client, busy and busy-CPU seconds (tapstrace.engine.client).
        self.client: tuple[tuple[int, ...], float | None, float | None, float | None] = NO_FLOW
        self.retries = 0


class _DataState:
    """Client-side data-management facts of one task (only with a transformer)."""

    __slots__ = ("carried", "resolve_seconds", "transform_seconds")

    def __init__(self, transform_seconds: float) -> None:
        self.transform_seconds = transform_seconds
        self.resolve_seconds: float | None = None
        #: The result as the executor carried it, when it holds references.
        self.carried: Any = None


_NO_REPORT: tuple[None, ...] = (None,) * len(WorkerReport._fields)  # nothing measured
_peek_exception = concurrent.futures.Future.exception  # not a client wait (see client.py)
_peek_result = concurrent.futures.Future.result


def _task_name(fn: Callable[..., Any]) -> tuple[str, str | None]:
    """The name and module of a task function (``task_module`` where a stand-in, such
    as a replayed task, names the module of the function it stands for)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    module = getattr(fn, "task_module", None) or getattr(fn, "__module__", None)
    return getattr(fn, "__name__", type(fn).__name__), module


def _value(future: TaskFuture) -> Any:
    """What a child receives for a done parent: its result as the executor carried it
    (with out-of-band references, so the data never passes through the client)."""
    carried = future.carried
    return _peek_result(future) if carried is None else carried


def _failed(future: TaskFuture) -> bool:
    return future.done() and (future.cancelled() or _peek_exception(future) is not None)


class Engine:
    """Submits tasks to an executor, resolves data-flow dependencies and records tasks.

    Follows the ``concurrent.futures.Executor`` protocol: ``submit`` returns a
    :class:`TaskFuture`; a TaskFuture anywhere in a task's arguments (also nested in
    lists, tuples, dicts and sets) makes the task wait for it and receive its value.

    Args:
        executor: the executor to run tasks on (see ``tapstrace.engine.executor``).
        filter: decides which arguments and results move out of band (tapstrace.data).
        transformer: moves them (tapstrace.data); ignored without a filter-less default.
        recorder: receives one TaskRecord per attempt (a TraceWriter, a MemoryRecorder).
        retries: how many times the engine resubmits a failed task (executor-side
            retries, where an executor does them, show as extra attempts too).
        size_mode: how input/output bytes are measured: ``fast``, ``pickle`` or ``off``.
        run_id: identifier written into every record; a random one by default.
        client_flow: record the client's control flow (waits, client time: schema 1.2);
            by default, whenever there is a recorder.
    """

    def __init__(
        self,
        executor: Executor,
        filter: Any = None,
        transformer: Any = None,
        recorder: Recorder | None = None,
        *,
        retries: int = 0,
        size_mode: SizeMode = "fast",
        run_id: str | None = None,
        client_flow: bool | None = None,
    ) -> None:
        self.executor = executor
        self.recorder = recorder
        self.retries = retries
        self.size_mode: SizeMode = size_mode
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.data: DataManager | None = None
        if transformer is not None:
            from tapstrace.data.manager import DataManager

            self.data = DataManager(filter, transformer)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._active: dict[int, _Task] = {}
        self._warmup = False
        self._closed = False
        self._worker_id = executor.worker_id_function()
        self._listeners: list[Callable[[Row], None]] = []
        self._on_pool_future = self._pool_future_done  # one bound method for all tasks
        if client_flow is None:
            client_flow = recorder is not None
        self._flow: ClientFlow | None = ClientFlow() if client_flow else None
        self.submitted = 0
        self.finished = 0

    # -- the concurrent.futures protocol ------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> TaskFuture:
        """Schedule ``fn(*args, **kwargs)`` once every TaskFuture in its arguments is done."""
        return self._submit(fn, args, kwargs, None)

    def submit_source(
        self, source_id: str | None, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> TaskFuture:
        """``submit``, recording ``source_id`` (the task's id in another trace) in its records.

        Replay uses it so that every replayed task names the source task it re-enacts.
        """
        return self._submit(fn, args, kwargs, source_id)

    def submit_task(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        source_id: str | None = None,
        retries: int | None = None,
    ) -> TaskFuture:
        """``submit`` with explicit arguments and per-task options: ``source_id`` as in
        :meth:`submit_source`, ``retries`` instead of the engine's (replay re-enacts the
        source's attempts with it)."""
        return self._submit(fn, args, kwargs or {}, source_id, retries)

    def _submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        source_id: str | None,
        retries: int | None = None,
    ) -> TaskFuture:
        if self._closed:
            raise RuntimeError("cannot submit tasks after the engine was shut down")
        flow = self._flow
        if flow is None:
            return self._enter(fn, args, kwargs, source_id, retries, NO_FLOW)
        client = flow.submission()
        if client is NO_FLOW:  # another thread than the client's
            return self._enter(fn, args, kwargs, source_id, retries, client)
        try:
            return self._enter(fn, args, kwargs, source_id, retries, client)
        finally:
            flow.submitted()

    def _enter(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        source_id: str | None,
        retries: int | None,
        client: tuple[tuple[int, ...], float | None, float | None, float | None],
    ) -> TaskFuture:
        submitted = time.time()
        data = None
        if self.data is not None:  # move arguments out of band; TaskFutures stay
            t0 = time.perf_counter()
            args, kwargs, _ = self.data.transform_call(args, kwargs, TaskFuture)
            data = _DataState(time.perf_counter() - t0)
        task_id = next(self._ids)
        name, module = _task_name(fn)
        future = TaskFuture(self, task_id, name)
        task = _Task(task_id, fn, future, module)
        task.submitted = submitted
        task.data = data
        task.warmup = self._warmup
        task.source_id = source_id
        task.client = client
        task.retries = self.retries if retries is None else retries
        task.args = args
        task.kwargs = kwargs
        parents: list[TaskFuture] = collect_call(args, kwargs, TaskFuture) if args or kwargs else []
        with self._lock:
            self._active[task_id] = task
            self.submitted += 1
        if not parents:
            task.ready = submitted
            self._dispatch(task)
            return future
        unique = list({id(p): p for p in parents}.values())
        task.parents = tuple(p.task_id for p in unique)
        task.parent_futures = unique
        if self._can_go_native(task, unique):
            task.native = True
            task.args, task.kwargs = replace_call(args, kwargs, TaskFuture, self._native_argument)
            self._dispatch(task)
            return future
        task.waiting = len(unique)
        for parent in unique:
            parent.add_done_callback(functools.partial(self._parent_done, task))
        return future

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """Like ``concurrent.futures.Executor.map``: results in order, tasks all submitted now."""
        futures = [self.submit(fn, *args) for args in zip(*iterables, strict=False)]
        deadline = None if timeout is None else time.monotonic() + timeout

        def results() -> Iterator[Any]:
            try:
                for future in futures:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    yield future.result(left)
            finally:
                for future in futures:
                    future.cancel()

        return results()

    def as_completed(
        self, futures: Iterable[concurrent.futures.Future[Any]], timeout: float | None = None
    ) -> Iterator[concurrent.futures.Future[Any]]:
        """``concurrent.futures.as_completed``; each future it yields counts as observed
        by the client (its waits are recorded, schema 1.2)."""
        found = concurrent.futures.as_completed(futures, timeout)
        flow = self._flow
        return found if flow is None else self._observe_each(found, flow)

    @staticmethod
    def _observe_each(
        found: Iterator[concurrent.futures.Future[Any]], flow: ClientFlow
    ) -> Iterator[concurrent.futures.Future[Any]]:
        while True:
            blocked = flow.block_started()
            try:
                future = next(found)
            except StopIteration:
                if blocked:
                    flow.block_ended(())
                return
            except BaseException:  # a TimeoutError, a KeyboardInterrupt
                if blocked:
                    flow.block_ended(())
                raise
            if blocked:
                flow.block_ended((future,) if isinstance(future, TaskFuture) else ())
            yield future

    def wait(
        self,
        futures: Iterable[concurrent.futures.Future[Any]],
        timeout: float | None = None,
        return_when: str = concurrent.futures.ALL_COMPLETED,
    ) -> concurrent.futures._base.DoneAndNotDoneFutures[Any]:
        """``concurrent.futures.wait``; the futures it returns done count as observed by
        the client (schema 1.2)."""
        flow = self._flow
        if flow is None or not flow.block_started():
            return concurrent.futures.wait(futures, timeout, return_when)
        done: Iterable[Any] = ()
        try:
            result = concurrent.futures.wait(futures, timeout, return_when)
            done = result.done
            return result
        finally:
            flow.block_ended(f for f in done if isinstance(f, TaskFuture))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting tasks, optionally cancel pending ones, and shut the executor down.

        With ``wait``, returns when every task has its final record; tasks the executor
        dropped on shutdown are recorded as cancelled.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            active = list(self._active.values())
        if cancel_futures:
            for task in active:
                task.future.cancel()
        if wait:
            concurrent.futures.wait([t.future for t in active])
        self.executor.shutdown(wait=wait, cancel_futures=cancel_futures)
        if wait:
            with self._lock:
                left = list(self._active.values())
            for task in left:
                self._finish(
                    task,
                    Status.CANCELLED,
                    error=("EngineShutdown", "the executor shut down before the task finished"),
                )

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_futures=exc[0] is not None)

    # -- extras -------------------------------------------------------------------------

    @contextlib.contextmanager
    def warmup(self) -> Iterator[None]:
        """Flag the tasks submitted inside this block as warm-up tasks in their records."""
        previous, self._warmup = self._warmup, True
        try:
            yield
        finally:
            self._warmup = previous

    @contextlib.contextmanager
    def client_phase(self, name: str) -> Iterator[None]:
        """Mark client work (training a surrogate, choosing the next batch): the block is
        recorded as a client-phase row (kind ``client``) that analyses draw in the
        client's lane. It goes to the recorder only: listeners see task records."""
        recorder = self.recorder
        if recorder is None:
            yield
            return
        start, cpu = time.time(), time.thread_time()
        try:
            yield
        finally:
            end, cpu = time.time(), time.thread_time() - cpu
            record = TaskRecord(
                self.run_id, next(self._ids), name, (), 1, Status.OK.value,
                submitted=start, ready=start, dispatched=start, started=start, ended=end,
                received=end, worker_pid=os.getpid(), worker_id="client", warmup=self._warmup,
                kind="client", cpu_seconds=cpu,
            )  # fmt: skip
            recorder.record(tuple(record))

    def add_listener(self, listener: Callable[[Row], None]) -> None:
        """Call ``listener(row)`` for every task record, a plain tuple in TaskRecord field order
        (``TaskRecord._make(row)`` names the fields). Runs on executor callback threads:
        keep it short."""
        self._listeners.append(listener)

    @property
    def active(self) -> int:
        """Tasks submitted and not yet finished."""
        return len(self._active)

    # -- internals ----------------------------------------------------------------------

    def _can_go_native(self, task: _Task, parents: list[TaskFuture]) -> bool:
        """Whether the executor can take this task's parents as native futures."""
        ex = self.executor
        # Engine-side retries would leave children holding a failed attempt's future.
        if not ex.native_dependencies or self.retries or task.retries:
            return False
        if not ex.native_nested:
            top = {id(a) for a in task.args} | {id(v) for v in task.kwargs.values()}
            if any(id(p) not in top for p in parents):
                return False
        for parent in parents:
            if parent.engine is not self:
                return False
            if parent.done():
                if parent.cancelled() or _peek_exception(parent) is not None:
                    return False  # the waiting path records the dependency failure
                continue
            active = self._active.get(parent.task_id)
            # A parent still waiting for its own parents has no executor future yet.
            if active is None or active.executor_future is None or active.retries:
                return False
        return True

    def _native_argument(self, future: TaskFuture) -> Any:
        active = self._active.get(future.task_id)
        if active is None or future.done():
            return _value(future)
        return self.executor.native_argument(active.executor_future)

    def _parent_done(self, task: _Task, parent: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            if task.state is not _State.WAITING:
                return
            failed = parent.cancelled() or _peek_exception(parent) is not None
            if not failed:
                task.waiting -= 1
                if task.waiting:
                    return
            task.state = _State.DISPATCHING
        if failed:
            assert isinstance(parent, TaskFuture)
            reason = "was cancelled" if parent.cancelled() else "failed"
            error = DependencyError(task.id, parent.task_id, reason)
            self._finish(
                task,
                Status.DEPENDENCY_FAILED,
                error=("DependencyError", str(error)),
                exception=error,
            )
            return
        task.ready = time.time()
        task.args, task.kwargs = replace_call(task.args, task.kwargs, TaskFuture, _value)
        self._dispatch(task)

    def _dispatch(self, task: _Task) -> None:
        # DISPATCHED before the executor sees the task: its callback may finish the task
        # (state DONE) before submit even returns.
        task.state = _State.DISPATCHED
        wrapper = TaskWrapper(
            task.fn, task.id, self.size_mode, self._worker_id, task.native, self.data
        )
        task.dispatched = time.time()
        try:
            future = self.executor.submit(wrapper, *task.args, **task.kwargs)
        except Exception as exc:
            self._attempt_failed(task, exc, None)
            return
        task.executor_future = future
        if not self.retries:
            task.args, task.kwargs = (), {}  # release payloads as soon as they are handed over
        if type(future) is concurrent.futures.Future:
            # Carry the task on the future and share one bound callback: no per-task
            # closure to allocate (and for the GC to trace) on the hot path.
            future._tapstrace_task = task  # type: ignore[attr-defined]
            future.add_done_callback(self._on_pool_future)
        else:
            future.add_done_callback(functools.partial(self._executor_done, task))

    def _pool_future_done(self, future: concurrent.futures.Future[Any]) -> None:
        task = future._tapstrace_task  # type: ignore[attr-defined]
        del future._tapstrace_task  # type: ignore[attr-defined]
        self._executor_done(task, future)

    def _executor_done(self, task: _Task, future: Any) -> None:
        try:
            self._collect(task, future)
        except BaseException as exc:  # never leave a future unresolved
            self._finish(
                task,
                Status.FAILED,
                time.time(),
                error=("EngineError", f"{type(exc).__qualname__}: {exc}"),
                exception=exc,
            )
            raise

    def _collect(self, task: _Task, future: Any) -> None:
        received = time.time()
        cancelled = future.cancelled()
        exc = None if cancelled else future.exception()
        own_failure = isinstance(exc, TaskFailed) and exc.task_id == task.id
        if task.native and (cancelled or (exc is not None and not own_failure)):
            # Native dependencies: the executor failed or cancelled the task because a
            # parent failed or was cancelled (Dask cancels dependents, Ray and Parsl fail
            # them, each with its own error).
            parent = next((p for p in task.parent_futures if _failed(p)), None)
            if parent is not None:
                reason = "was cancelled" if parent.cancelled() else "failed"
                error = DependencyError(task.id, parent.task_id, reason)
                self._finish(
                    task,
                    Status.DEPENDENCY_FAILED,
                    received,
                    error=("DependencyError", str(error)),
                    exception=error,
                )
                return
        if cancelled:
            self._finish(
                task,
                Status.CANCELLED,
                received=received,
                error=("CancelledError", "cancelled by the executor or the user"),
            )
            return
        if exc is None:
            result = future.result()
            if isinstance(result, TaskResult):
                value = result.value
                if self.data is not None:
                    try:
                        value = self._resolve_result(task, value)
                    except Exception as bad:
                        failed = TaskFailed(task.id, type(bad).__qualname__,
                                            f"resolving the result: {bad}",
                                            traceback.format_exc(), result.report, bad)  # fmt: skip
                        self._attempt_failed(task, failed, received)
                        return
                self._finish(task, Status.OK, received, result.report, value=value)
            else:  # an executor that bypassed the wrapper: still one record
                self._finish(task, Status.OK, received, None, value=result)
            return
        if isinstance(exc, TaskFailed) and exc.task_id != task.id:
            # Native dependencies: the executor propagated a parent's failure.
            error = DependencyError(task.id, exc.task_id, "failed")
            self._finish(
                task,
                Status.DEPENDENCY_FAILED,
                received,
                error=("DependencyError", str(error)),
                exception=error,
            )
            return
        self._attempt_failed(task, exc, received)

    def _resolve_result(self, task: _Task, value: Any) -> Any:
        """The result with its out-of-band references resolved for the user; children
        get the references themselves (``TaskFuture.carried``)."""
        assert self.data is not None and task.data is not None
        t0 = time.perf_counter()
        resolved = self.data.resolve_value(value)
        task.data.resolve_seconds = time.perf_counter() - t0
        task.data.carried = value if resolved is not value else None
        return resolved

    def _attempt_failed(self, task: _Task, exc: BaseException, received: float | None) -> None:
        if isinstance(exc, TaskFailed):
            report: tuple[Any, ...] | None = exc.report
            error = (exc.error_type, exc.message)
            user_exc: BaseException = exc.cause if exc.cause is not None else exc
        else:
            report, error, user_exc = None, (type(exc).__qualname__, str(exc)), exc
        retry = task.attempt <= task.retries and not self._closed
        self._finish(task, Status.FAILED, received, report, error=error, exception=user_exc,
                     final=not retry)  # fmt: skip
        if retry:
            task.attempt += 1
            # A callable may vary by attempt (replay fails the attempts the source failed).
            for_attempt = getattr(task.fn, "for_attempt", None)
            if for_attempt is not None:
                task.fn = for_attempt(task.attempt)
            self._dispatch(task)

    def _finish(
        self,
        task: _Task,
        status: Status,
        received: float | None = None,
        report: tuple[Any, ...] | None = None,
        *,
        error: tuple[str, str] | None = None,
        value: Any = None,
        exception: BaseException | None = None,
        final: bool = True,
    ) -> None:
        if final:
            with self._lock:
                if task.state is _State.DONE:
                    return
                task.state = _State.DONE
                del self._active[task.id]
                self.finished += 1
        ready = task.ready
        if ready is None and task.native and status is not Status.DEPENDENCY_FAILED:
            ready = max((p.received or task.submitted for p in task.parent_futures),
                        default=task.submitted)  # fmt: skip
        error_type, error_message = error if error is not None else (None, None)
        if report is None:
            report = _NO_REPORT
        (started, ended, host, pid, worker_id, in_bytes, out_bytes, resolve_s, transform_s, oob,
         inband_in, inband_out, cpu, in_kind, out_kind) = report  # fmt: skip
        data = task.data
        if data is None:
            client_transform = client_resolve = None
        else:  # arguments move once, at submission: counted on the first attempt
            client_transform = data.transform_seconds if task.attempt == 1 else None
            client_resolve = data.resolve_seconds
        row = (
            self.run_id, task.id, task.name, task.parents, task.attempt, status.value, error_type,
            error_message, task.submitted, ready, task.dispatched, started, ended, received,
            host, pid, worker_id, in_bytes, out_bytes, oob, transform_s, resolve_s, task.warmup,
            task.source_id, inband_in, inband_out, client_transform, client_resolve,
            "task", cpu, in_kind, out_kind, *task.client, task.module,
        )  # fmt: skip
        self._emit(row)
        if not final:
            return
        future = task.future
        future.received = received
        if data is not None:
            future.carried = data.carried
        task.parent_futures = []
        task.args, task.kwargs = (), {}
        # The executor future's callback holds the task: break the cycle so the result
        # (a payload) is freed by reference counting, not at the next full collection.
        task.executor_future = None
        if status is Status.OK:
            future.set_result(value)
        elif status is Status.CANCELLED:
            future.mark_cancelled()
        else:
            future.set_exception(exception or RuntimeError(error[1] if error else status.value))

    def _emit(self, row: Row) -> None:
        if self.recorder is not None:
            self.recorder.record(row)
        if self._listeners:
            for listener in self._listeners:
                listener(row)

    def _cancel(self, future: TaskFuture) -> bool:
        task = self._active.get(future.task_id)
        if task is None:
            return future.cancelled()
        with self._lock:
            waiting = task.state is _State.WAITING
            if waiting:
                task.state = _State.DISPATCHING  # no parent callback may dispatch it now
        if waiting:
            self._finish(
                task, Status.CANCELLED, error=("CancelledError", "cancelled before dispatch")
            )
            return True
        executor_future = task.executor_future
        if executor_future is None:
            return False
        return bool(executor_future.cancel())
