"""The engine: one concurrent.futures-style front end over every executor, recording
every attempt of every task.

The engine is the only owner of each task's future. An executor is a small adapter
(tapstrace.engine.executor) that launches a task and reports one outcome per launch; the
engine turns outcomes into records, retries, dependency failures and the resolution of
the task's future. Client-side times (submitted, ready, dispatched, received) are taken
here; the worker's call (tapstrace.engine.worker) takes the rest.

Every submitted task ends in exactly one final record, plus one record per earlier failed
attempt when retries are enabled, by construction: a task's state moves to DONE exactly
once, under a lock, and only that transition makes a final record. The task's future is
resolved in a ``finally`` after recording, so a recorder, a listener or a trace writer
that fails can never leave it unresolved: the engine keeps the first such failure and
stops the run (``submit`` and ``shutdown`` raise RecordingError).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import logging
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures._base import CANCELLED_AND_NOTIFIED, FINISHED
from typing import TYPE_CHECKING, Any

from tapstrace.engine.adapter import Outcome
from tapstrace.engine.client import ClientFlow
from tapstrace.engine.dataflow import collect_call, replace_call
from tapstrace.engine.executor import Executor
from tapstrace.engine.future import DependencyError, TaskFuture
from tapstrace.engine.record import Recorder, Row, Status, TaskRecord
from tapstrace.engine.sizes import SizeMode
from tapstrace.engine.task import CLOSED, State, Task, row_of, task_class
from tapstrace.engine.worker import NO_REPORT, Slot, TaskFailed, TaskResult, report_of
from tapstrace.errors import RecordingError, TraceError

if TYPE_CHECKING:
    from tapstrace.data.manager import DataManager

log = logging.getLogger(__name__)

_now = time.time
_peek_exception = concurrent.futures.Future.exception  # not a client wait (see client.py)
_peek_result = concurrent.futures.Future.result
_WAITING, _DISPATCHED, _DONE = State.WAITING, State.DISPATCHED, State.DONE
_OK, _FAILED = Status.OK.value, Status.FAILED.value
_CANCELLED, _DEPENDENCY_FAILED = Status.CANCELLED.value, Status.DEPENDENCY_FAILED.value
_VALUE = Outcome.VALUE
_CANCELLED_BY = ("CancelledError", "cancelled by the executor or the user")
#: Task functions whose name and module the engine remembers.
_NAMES_KEPT = 1024


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


def _failure(future: concurrent.futures.Future[Any]) -> str | None:
    """Why a done parent cannot feed its children: "failed", "was cancelled", or None."""
    if future.cancelled():
        return "was cancelled"
    return "failed" if _peek_exception(future) is not None else None


class _ParentFailed(Exception):
    """A native task's parent failed while the task was being launched."""


def _consumer(fn: Any) -> str:
    """How an error message names a recorder or listener."""
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


class Engine:
    """Submits tasks to an executor, resolves data-flow dependencies and records tasks.

    Follows the ``concurrent.futures.Executor`` protocol: ``submit`` returns a
    :class:`TaskFuture`; a TaskFuture in a task's arguments (also nested in lists,
    tuples, sets and dict values: the rule of tapstrace.engine.dataflow) makes the task
    wait for it and receive its value.

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
        self._active: dict[int, Task] = {}
        #: Shared by this engine's TaskFutures (tapstrace.engine.future).
        self._condition = threading.Condition()
        self._sleepers = 0  # threads blocked in a TaskFuture's result() or exception()
        self._warmup = False
        self._closed = False
        self._worker_id = executor.worker_id_function()
        self._listeners: list[Callable[[Row], None]] = []
        self._failure: RecordingError | None = None
        self._names: dict[Any, tuple[str, str | None]] = {}
        self._task_class = task_class(
            self,
            local=executor.local,
            size_mode=size_mode,
            worker_id_of=self._worker_id,
            data=self.data,
        )
        self._launch = executor.launch
        self._native = executor.native_dependencies
        self._fails_children = executor.fails_children
        if client_flow is None:
            client_flow = recorder is not None
        self._flow: ClientFlow | None = ClientFlow() if client_flow else None
        self.submitted = 0
        self.finished = 0

    # -- the concurrent.futures protocol ------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> TaskFuture:
        """Schedule ``fn(*args, **kwargs)`` once every TaskFuture in its arguments is done."""
        return self._submit(fn, args, kwargs, None, None)

    def submit_source(
        self, source_id: str | None, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> TaskFuture:
        """``submit``, recording ``source_id`` (the task's id in another trace) in its records.

        Replay uses it so that every replayed task names the source task it re-enacts.
        """
        return self._submit(fn, args, kwargs, source_id, None)

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
        retries: int | None,
    ) -> TaskFuture:
        if self._closed:
            raise RuntimeError("cannot submit tasks after the engine was shut down")
        if self._failure is not None:
            raise self._stopped()
        task_id = next(self._ids)
        try:
            name, module = self._names[fn]
        except (KeyError, TypeError):  # new, or unhashable
            name, module = _task_name(fn)
            if len(self._names) < _NAMES_KEPT:  # (a new partial or lambda per task: bounded)
                with contextlib.suppress(TypeError):
                    self._names[fn] = (name, module)
        future = TaskFuture(self, task_id, name)
        task = self._task_class(future, fn, args, kwargs, task_id)
        task.name = name
        task.module = module
        if source_id is not None:
            task.source_id = source_id
        if self._warmup:
            task.warmup = True
        retries = self.retries if retries is None else retries
        if retries:
            task.retries = retries
        flow = self._flow
        now = _now()
        if flow is None or not flow.submission(task, now):  # not the client's thread
            self._enter_or_drop(task, args, kwargs, now)
            return future
        try:
            self._enter_or_drop(task, args, kwargs, now)
        finally:
            flow.submitted()
        return future

    def _enter_or_drop(
        self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], submitted: float
    ) -> None:
        """``_enter``; a task whose submission was cut short after it became active and
        before its launch returned is recorded cancelled at once and the error raised.

        A signal (Ctrl-C, a kill) raises in the client's thread wherever it is, also in
        the middle of a launch: whether the framework took the task is then unknown, and
        with no handle nothing could cancel it or might ever report on it, so the unwind
        would wait for its future forever. If the framework did take it, its late report
        is ignored like any report on a finished task.
        """
        try:
            self._enter(task, args, kwargs, submitted)
        except BaseException as exc:
            if task.state is _DISPATCHED and task.handle is None:
                self._complete(
                    task, _CANCELLED, None, NO_REPORT, expect=_DISPATCHED,
                    error=(type(exc).__name__, "the task's submission was interrupted; "
                           "whether the executor took it is unknown"),
                )  # fmt: skip
            raise

    def _enter(
        self, task: Task, args: tuple[Any, ...], kwargs: dict[str, Any], submitted: float
    ) -> None:
        task.submitted = submitted
        if self.data is not None:  # move arguments out of band; TaskFutures stay
            t0 = time.perf_counter()
            args, kwargs, _ = self.data.transform_call(args, kwargs, TaskFuture)
            task.client_transform_seconds = time.perf_counter() - t0
            task.args, task.kwargs = args, kwargs
        found: list[TaskFuture] = collect_call(args, kwargs, TaskFuture) if args or kwargs else []
        if not found:
            with self._lock:
                self._active[task.task_id] = task
                self.submitted += 1
                task.state = _DISPATCHED
            task.ready = submitted
            self._dispatch(task)
            return
        parents = tuple({id(p): p for p in found}.values())
        task.parents = tuple(p.task_id for p in parents)
        task.parent_futures = parents
        native = self._native and not task.retries and not self.retries
        failed: tuple[TaskFuture, str] | None = None
        foreign: list[TaskFuture] = []
        with self._lock:
            self._active[task.task_id] = task
            self.submitted += 1
            # The parents that have not released their children yet take this task as
            # a child; the others are done and their futures resolved.
            running: list[Task] = []
            for parent in parents:
                if parent.engine is not self:
                    foreign.append(parent)
                    native = False
                    continue
                holder = self._active.get(parent.task_id)
                if holder is not None and holder.children is not CLOSED:
                    running.append(holder)
                    if holder.handle is None or holder.retries or holder.state is not _DISPATCHED:
                        native = False  # not launched (yet): nothing to hand the framework
                elif failed is None and (reason := _failure(parent)) is not None:
                    failed = (parent, reason)
            if failed is None:
                for holder in running:
                    if holder.children is None:
                        holder.children = [task]
                    else:
                        holder.children.append(task)
                if native:
                    task.native = True
                    task.state = _DISPATCHED
                else:
                    task.waiting = len(running) + len(foreign)
                    if not task.waiting:
                        task.state = _DISPATCHED
        if failed is not None:
            parent, reason = failed
            self._dependency_failed(task, parent.task_id, reason)
            return
        if task.native:
            self._dispatch_native(task)
            return
        for parent in foreign:
            parent.add_done_callback(functools.partial(self._foreign_parent_done, task))
        if task.state is _DISPATCHED:  # every parent was done already
            self._dispatch_ready(task)

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
        dropped on shutdown are recorded as cancelled. Raises RecordingError, once all
        that is done, when recording failed during the run.
        """
        self._drop_leaked_lock()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            active = list(self._active.values())
        if cancel_futures and self.executor.stops_tasks_on_shutdown:
            # Launched tasks are left to the executor's shutdown; those it stops are
            # recorded cancelled below. Waiting ones are cancelled here.
            active = [t for t in active if t.state is not _DISPATCHED]
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
                self._complete(
                    task,
                    _CANCELLED,
                    None,
                    NO_REPORT,
                    error=("EngineShutdown", "the executor shut down before the task finished"),
                )
        if self._failure is not None:
            raise self._stopped()

    def _drop_leaked_lock(self) -> None:
        """Release the futures' lock if this thread holds it (nothing that calls
        ``shutdown`` holds it rightly). A signal that cuts short code between taking and
        releasing it (``concurrent.futures``' loops over the futures' locks, which take
        this one lock once per future; ``threading.Condition.__exit__``) leaves it held,
        and the threads completing tasks then block on it for good, the unwind waiting
        for them. The signal handlers defer signals in the code known to do this
        (tapstrace.runner.signals); this is the backstop for any other."""
        condition: Any = self._condition
        if condition._is_owned():
            condition._release_save()  # every level of the reentrant lock at once
            log.info("the futures' lock was left held by an interrupted call; released")

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
        if self.recorder is None:
            yield
            return
        start, cpu = _now(), time.thread_time()
        try:
            yield
        finally:
            end, cpu = _now(), time.thread_time() - cpu
            record = TaskRecord(
                run_id=self.run_id, task_id=next(self._ids), name=name, parents=(), attempt=1,
                status=_OK, submitted=start, ready=start, dispatched=start, started=start,
                ended=end, received=end, worker_pid=os.getpid(), worker_id="client",
                warmup=self._warmup, kind="client", cpu_seconds=cpu,
            )  # fmt: skip
            self._emit(tuple(record), listeners=False)

    def add_listener(self, listener: Callable[[Row], None]) -> None:
        """Call ``listener(row)`` for every task record, a plain tuple in TaskRecord field order
        (``TaskRecord._make(row)`` names the fields). Runs on executor callback threads:
        keep it short. A listener that raises stops the run (as a failing recorder does)."""
        self._listeners.append(listener)

    @property
    def active(self) -> int:
        """Tasks submitted and not yet finished."""
        return len(self._active)

    @property
    def failure(self) -> RecordingError | None:
        """Why recording stopped the run, if it did."""
        return self._failure

    # -- dispatch -----------------------------------------------------------------------

    def _dispatch(self, task: Task, handles: Sequence[Any] = ()) -> None:
        """Launch the task (its state is DISPATCHED): its outcome comes to ``_settle``."""
        task.dispatched = _now()
        try:
            handle = self._launch(task, handles)
        except Exception as exc:
            self._attempt_failed(task, exc, None)
            return
        if task.state is not _DONE:  # its outcome may have come first
            task.handle = handle

    def _dispatch_ready(self, task: Task) -> None:
        """Every parent of a waiting task is done: give it their values and launch it."""
        task.ready = _now()
        task.args, task.kwargs = replace_call(task.args, task.kwargs, TaskFuture, _value)
        self._dispatch(task)

    def _dispatch_native(self, task: Task) -> None:
        """Launch a task with the handles of its parents still running as arguments, for
        the framework to resolve; done parents give their values."""
        handles: list[Any] = []
        slots: dict[int, Slot] = {}
        native_argument = self.executor.native_argument

        def argument(future: TaskFuture) -> Any:
            holder = self._active.get(future.task_id)
            handle = holder.handle if holder is not None else None
            if handle is not None and not future.done():
                slot = slots.get(future.task_id)
                if slot is None:
                    slot = slots[future.task_id] = Slot(len(handles))
                    handles.append(native_argument(handle))
                return slot
            # Done (a task drops its handle only once its future is resolved).
            if _failure(future) is not None:
                raise _ParentFailed
            return _value(future)

        try:
            task.args, task.kwargs = replace_call(task.args, task.kwargs, TaskFuture, argument)
        except _ParentFailed:
            return  # a parent failed meanwhile: releasing its children fails this task
        self._dispatch(task, handles)

    def _foreign_parent_done(self, task: Task, parent: concurrent.futures.Future[Any]) -> None:
        """A parent from another engine finished."""
        reason = _failure(parent)
        if reason is not None:
            assert isinstance(parent, TaskFuture)
            self._dependency_failed(task, parent.task_id, reason)
            return
        self._parent_ok(task)

    def _parent_ok(self, task: Task) -> None:
        """One of a waiting task's parents ended ok: launch the task if it was the last."""
        with self._lock:
            task.waiting -= 1
            go = not task.waiting and task.state is _WAITING
            if go:
                task.state = _DISPATCHED
        if go:
            self._dispatch_ready(task)

    # -- outcomes -----------------------------------------------------------------------

    def _settle(self, task: Task, outcome: Outcome, detail: Any) -> None:
        """One launch of ``task`` ended (reported by the executor, on any thread)."""
        received = _now()
        try:
            if task.state is _DONE:
                return  # cancelled meanwhile (the engine recorded it) or a late report
            if outcome is _VALUE:
                self._succeeded(task, detail, received)
            elif outcome is Outcome.FAILED:
                self._attempt_failed(task, detail, received)
            elif outcome is Outcome.PARENT_FAILED:
                parent_id, reason = self._failed_parent(task)
                if parent_id is not None:
                    self._dependency_failed(task, parent_id, reason, received)
                elif task.native and not all(p.done() for p in task.parent_futures):
                    # An ancestor failed: the failure reaches the parent between, whose
                    # end releases this task naming it.
                    return
                elif isinstance(detail, int):
                    self._dependency_failed(task, detail, "failed", received)
                else:
                    error = RuntimeError("the executor reports that a parent failed; none did")
                    self._attempt_failed(task, error, received)
            else:  # CANCELLED, LOST: because a parent failed, when one did
                parent_id, reason = self._failed_parent(task)
                if parent_id is not None:
                    self._dependency_failed(task, parent_id, reason, received)
                elif outcome is Outcome.CANCELLED and (pending := self._pending_parent(task)):
                    # Cancelling a parent, the framework (Dask) cancels its children
                    # before the engine has recorded the parent: decide once it has.
                    pending.add_done_callback(lambda _: self._settle(task, outcome, detail))
                elif outcome is Outcome.CANCELLED:
                    self._complete(task, _CANCELLED, received, NO_REPORT, error=_CANCELLED_BY)
                else:
                    self._attempt_failed(task, detail, received)
        except BaseException as exc:  # never leave a future unresolved
            self._complete(
                task,
                _FAILED,
                received,
                NO_REPORT,
                error=("EngineError", f"{type(exc).__qualname__}: {exc}"),
                exception=exc,
            )
            raise

    @staticmethod
    def _pending_parent(task: Task) -> TaskFuture | None:
        """A native task's parent that has not ended, if any."""
        if task.native:
            for parent in task.parent_futures:
                if not parent.done():
                    return parent
        return None

    def _failed_parent(self, task: Task) -> tuple[int | None, str]:
        """A native task's parent that failed or was cancelled, if any."""
        if task.native:
            for parent in task.parent_futures:
                if parent.done() and (reason := _failure(parent)) is not None:
                    return parent.task_id, reason
        return None, "failed"

    def _succeeded(self, task: Task, detail: Any, received: float) -> None:
        report: tuple[Any, ...] | None = None  # a local call: on the task itself
        value = detail
        if not task.local:
            if type(detail) is TaskResult:
                value, report = detail.value, detail.report
            else:  # an executor that bypassed the call: still one record
                report = NO_REPORT
        if self.data is not None:
            try:
                t0 = time.perf_counter()
                resolved = self.data.resolve_value(value)
                task.client_resolve_seconds = time.perf_counter() - t0
            except Exception as bad:
                failed = TaskFailed(task.task_id, type(bad).__qualname__,
                                    f"resolving the result: {bad}", traceback.format_exc(),
                                    report_of(task) if report is None else report, bad)  # fmt: skip
                self._attempt_failed(task, failed, received)
                return
            task.carried = value if resolved is not value else None
            value = resolved
        children = self._finish(task, _OK, received, report, None, value, None, True, None)
        if children:
            self._release(task, children, True)

    def _attempt_failed(self, task: Task, exc: BaseException, received: float | None) -> None:
        if isinstance(exc, TaskFailed):
            report: tuple[Any, ...] | None = exc.report
            error = (exc.error_type, exc.message)
            user_exc: BaseException = exc.cause if exc.cause is not None else exc
        else:
            report, error, user_exc = NO_REPORT, (type(exc).__qualname__, str(exc)), exc
        retry = task.attempt <= task.retries and not self._closed
        self._complete(task, _FAILED, received, report, error=error, exception=user_exc,
                       final=not retry)  # fmt: skip
        if retry:
            task.attempt += 1
            task.client_transform_seconds = None  # arguments moved once, at submission
            # A callable may vary by attempt (replay fails the attempts the source failed).
            for_attempt = getattr(task.fn, "for_attempt", None)
            if for_attempt is not None:
                task.fn = for_attempt(task.attempt)
            self._dispatch(task)

    def _dependency_failed(
        self, task: Task, parent_id: int, reason: str, received: float | None = None
    ) -> None:
        error = DependencyError(task.task_id, parent_id, reason)
        self._complete(task, _DEPENDENCY_FAILED, received, NO_REPORT,
                       error=("DependencyError", str(error)), exception=error)  # fmt: skip

    # -- the end of a task --------------------------------------------------------------

    def _complete(
        self,
        task: Task,
        status: str,
        received: float | None,
        report: tuple[Any, ...] | None,
        *,
        error: tuple[str, str] | None = None,
        value: Any = None,
        exception: BaseException | None = None,
        final: bool = True,
        expect: State | None = None,
    ) -> bool:
        """Record an attempt; when ``final``, resolve the task's future and release its
        children (iteratively: a failure may fail a long chain of descendants). False if
        the task was done already (or not in state ``expect``)."""
        children = self._finish(task, status, received, report, error, value, exception,
                                final, expect)  # fmt: skip
        if children is None:
            return False
        if children:
            self._release(task, children, status == _OK)
        return True

    def _finish(
        self,
        task: Task,
        status: str,
        received: float | None,
        report: tuple[Any, ...] | None,
        error: tuple[str, str] | None,
        value: Any,
        exception: BaseException | None,
        final: bool,
        expect: State | None,
    ) -> list[Task] | None:
        """Record the attempt; then (final) resolve the task's future, in a ``finally``,
        close its list of children and drop the task. Returns the children to release
        (None: the task was done already, or not in state ``expect``)."""
        if final:
            with self._lock:
                state = task.state
                if state is _DONE or (expect is not None and state is not expect):
                    return None
                task.state = _DONE
                self.finished += 1
        children: list[Task] | None = None
        try:
            try:
                task.status = status
                task.received = received
                if error is not None:
                    task.error_type, task.error_message = error
                if task.native and task.ready is None and status != _DEPENDENCY_FAILED:
                    task.ready = max(
                        (p.received or task.submitted or 0.0 for p in task.parent_futures),
                        default=task.submitted,
                    )
                row = row_of(task, report)
                if error is not None:
                    task.error_type = task.error_message = None
            except Exception as exc:  # a bug: stop the run, still resolve the future
                self._recording_failed(exc, row_of)
            else:
                self._emit(row)
        finally:
            if final:
                future = task.future
                try:
                    future.received = received
                    if task.carried is not None:
                        future.carried = task.carried
                    if status is _OK:
                        future._resolve(FINISHED, value)
                    elif status == _CANCELLED:
                        future._resolve(CANCELLED_AND_NOTIFIED)
                    else:
                        failure = exception or RuntimeError(error[1] if error else status)
                        future._resolve(FINISHED, exception=failure)
                finally:
                    with self._lock:
                        children, task.children = task.children, CLOSED
                        del self._active[task.task_id]
                    # Payloads and handles go now (a handle's callback may hold the task).
                    task.args, task.kwargs, task.handle = (), {}, None
                    if task.parent_futures:
                        task.parent_futures = ()
        return children or []

    def _release(self, parent: Task, children: list[Task], ok: bool) -> None:
        """The parent finished: dispatch its waiting children whose last parent it was,
        or fail its children (and theirs, in turn) if it did not end ok."""
        work = [(parent, children, ok)]
        while work:
            parent, children, ok = work.pop()
            for child in children:
                if ok:
                    if not child.native:  # (a native one's framework resolves its parents)
                        self._parent_ok(child)
                    continue
                reason = "was cancelled" if parent.status == _CANCELLED else "failed"
                error = DependencyError(child.task_id, parent.task_id, reason)
                handle = child.handle
                if child.native and handle is not None and not self._fails_children:
                    # The framework may not know (Parsl runs children of a task it cannot
                    # cancel): stop the launched child if it can.
                    try:
                        self.executor.cancel(handle)
                    except Exception:
                        log.debug("cannot cancel task %s", child.task_id, exc_info=True)
                grandchildren = self._finish(
                    child, _DEPENDENCY_FAILED, None, NO_REPORT,
                    ("DependencyError", str(error)), None, error, True, None,
                )  # fmt: skip
                if grandchildren:
                    work.append((child, grandchildren, False))

    # -- recording ----------------------------------------------------------------------

    def _emit(self, row: Row, listeners: bool = True) -> None:
        """Hand a record to the recorder and the listeners. One that raises is dropped
        and stops the run (see RecordingError); it never stops this task's resolution."""
        recorder = self.recorder
        if recorder is not None:
            try:
                recorder.record(row)
            except Exception as exc:
                self.recorder = None
                self._recording_failed(exc, recorder.record)
        if listeners and self._listeners:
            for listener in self._listeners:
                try:
                    listener(row)
                except Exception as exc:
                    with contextlib.suppress(ValueError):
                        self._listeners.remove(listener)
                    self._recording_failed(exc, listener)

    def _recording_failed(self, exc: Exception, who: Any) -> None:
        with self._lock:
            first = self._failure is None
            if first:
                if isinstance(exc, TraceError):
                    what = str(exc)  # the writer's own line names the file and the problem
                else:
                    what = f"{_consumer(who)} raised {type(exc).__qualname__}: {exc}"
                self._failure = RecordingError(f"recording failed, the run stopped: {what}")
                self._failure.__cause__ = exc
        if first:  # in the run's log; the run itself ends with the one line
            log.info("%s", self._failure, exc_info=exc)

    def _stopped(self) -> RecordingError:
        """A fresh RecordingError to raise (one exception object per raise)."""
        assert self._failure is not None
        error = RecordingError(str(self._failure))
        error.__cause__ = self._failure.__cause__
        return error

    # -- cancellation -------------------------------------------------------------------

    def _cancel(self, future: TaskFuture) -> bool:
        task = self._active.get(future.task_id)
        if task is None:
            return future.cancelled()
        if task.state is _WAITING and self._complete(
            task, _CANCELLED, None, NO_REPORT,
            error=("CancelledError", "cancelled before dispatch"), expect=_WAITING,
        ):  # fmt: skip
            return True
        handle = task.handle
        if handle is not None and task.state is _DISPATCHED and self.executor.cancel(handle):
            self._complete(task, _CANCELLED, _now(), NO_REPORT, error=_CANCELLED_BY)
        return future.cancelled()
