"""What runs on the worker: the task wrapper and what it sends back.

This module is imported by every worker process, so it imports nothing heavy. The wrapper
measures what only the worker can see (start and end of execution, host, process, sizes
of the deserialised inputs and of the output) and ships it back beside the value.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from tapstrace.engine.dataflow import collect_call, replace_call
from tapstrace.engine.sizes import SizeMode, args_profile, args_size, kind_of, sizeof

_HOST = socket.gethostname()
#: CPU time of the calling thread: what the task itself used, not its neighbours in a
#: thread pool (BLAS threads a task starts are not counted; apps limit them to one).
_thread_time = time.thread_time


class WorkerReport(NamedTuple):
    """Measurements taken on the worker for one attempt (times: wall-clock seconds).

    Travels as a plain tuple in this field order (smaller to pickle, cheaper to build).
    """

    started: float | None
    ended: float | None
    host: str
    pid: int
    worker_id: str | None
    input_bytes: int | None
    output_bytes: int | None
    resolve_seconds: float | None = None
    transform_seconds: float | None = None
    oob_bytes: int | None = None
    inband_input_bytes: int | None = None
    inband_output_bytes: int | None = None
    cpu_seconds: float | None = None
    input_kind: str | None = None
    output_kind: str | None = None


class TaskResult:
    """A task's return value with the worker's report. Unwrapped before user code sees it."""

    __slots__ = ("report", "value")

    def __init__(self, value: Any, report: tuple[Any, ...]) -> None:
        self.value = value
        self.report = report  # WorkerReport's fields, as a plain tuple

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaskResult, (self.value, self.report))


class TaskFailed(Exception):
    """Raised on the worker when a task raised: carries the worker's report.

    ``cause`` is the original exception when it survives pickling, else None; the type
    name, message and formatted traceback are always kept as text.
    """

    def __init__(
        self,
        task_id: int,
        error_type: str,
        message: str,
        tb: str,
        report: tuple[Any, ...],
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(f"task {task_id} failed: {error_type}: {message}")
        self.task_id = task_id
        self.error_type = error_type
        self.message = message
        self.tb = tb
        self.report = tuple(report)  # WorkerReport's fields
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            TaskFailed,
            (self.task_id, self.error_type, self.message, self.tb, tuple(self.report), self.cause),
        )


class DataResolver(Protocol):
    """Worker-side half of a data transformer (tapstrace.data)."""

    def resolve_call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any], int]: ...

    def transform_result(self, value: Any) -> tuple[Any, int]: ...


def _unwrap(result: TaskResult) -> Any:
    return result.value


def _portable(exc: BaseException) -> BaseException | None:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


class TaskWrapper:
    """Calls the user's function on the worker and measures the call.

    ``unwrap`` is set for executors that pass parents' results natively (Dask, Ray, Parsl):
    the arguments then hold TaskResults, replaced here by their values.
    """

    __slots__ = ("data", "fn", "size_mode", "task_id", "unwrap", "worker_id")

    def __init__(
        self,
        fn: Callable[..., Any],
        task_id: int,
        size_mode: SizeMode = "fast",
        worker_id: Callable[[], str | None] | None = None,
        unwrap: bool = False,
        data: DataResolver | None = None,
    ) -> None:
        self.fn = fn
        self.task_id = task_id
        self.size_mode = size_mode
        self.worker_id = worker_id
        self.unwrap = unwrap
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            TaskWrapper,
            (self.fn, self.task_id, self.size_mode, self.worker_id, self.unwrap, self.data),
        )

    @property
    def __name__(self) -> str:  # executors (Parsl, Dask) name tasks after the callable
        return getattr(self.fn, "__name__", type(self.fn).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> TaskResult:
        if self.unwrap and collect_call(args, kwargs, TaskResult):
            args, kwargs = replace_call(args, kwargs, TaskResult, _unwrap)
        worker_id = self.worker_id() if self.worker_id is not None else None
        resolve_seconds = None
        oob_in = 0
        inband_in = None
        if self.data is not None:
            inband_in = args_size(args, kwargs, self.size_mode)  # as the executor delivered them
            t0 = time.perf_counter()
            args, kwargs, oob_in = self.data.resolve_call(args, kwargs)
            resolve_seconds = time.perf_counter() - t0
        input_bytes, input_kind = args_profile(args, kwargs, self.size_mode)
        started = time.time()
        cpu = _thread_time()
        try:
            value = self.fn(*args, **kwargs)
        except (Exception, SystemExit) as exc:
            cpu = _thread_time() - cpu
            ended = time.time()
            report: tuple[Any, ...] = (
                started, ended, _HOST, os.getpid(), worker_id, input_bytes, None,
                resolve_seconds, None, oob_in if self.data is not None else None, inband_in, None,
                cpu, input_kind, None,
            )  # fmt: skip
            raise TaskFailed(
                self.task_id,
                type(exc).__qualname__,
                str(exc),
                traceback.format_exc(),
                report,
                _portable(exc),
            ) from None
        cpu = _thread_time() - cpu
        ended = time.time()
        if self.size_mode == "off":
            output_bytes = output_kind = None
        else:
            output_bytes, output_kind = sizeof(value, self.size_mode), kind_of(value)
        transform_seconds = None
        oob_out = 0
        inband_out = None
        if self.data is not None:
            t0 = time.perf_counter()
            value, oob_out = self.data.transform_result(value)
            transform_seconds = time.perf_counter() - t0
            if self.size_mode != "off":
                inband_out = sizeof(value, self.size_mode)
        report = (started, ended, _HOST, os.getpid(), worker_id, input_bytes, output_bytes,
                  resolve_seconds, transform_seconds,
                  (oob_in + oob_out) if self.data is not None else None,
                  inband_in, inband_out, cpu, input_kind, output_kind)  # fmt: skip
        return TaskResult(value, report)
