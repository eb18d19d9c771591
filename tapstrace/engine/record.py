"""The task record: one per attempt of every submitted task, whatever its outcome."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Status(StrEnum):
    """How an attempt ended."""

    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEPENDENCY_FAILED = "dependency-failed"


@dataclass(slots=True)
class TaskRecord:
    """Everything tapstrace knows about one attempt of one task.

    Times are wall-clock seconds since the Unix epoch (``time.time()``): client-side
    times come from the submitting process, ``started``/``ended`` from the worker, so
    cross-host differences include clock skew (docs/trace-format.md).
    """

    run_id: str
    task_id: int
    name: str
    parents: list[int]
    attempt: int
    status: Status
    submitted: float
    error_type: str | None = None
    error_message: str | None = None
    ready: float | None = None
    dispatched: float | None = None
    started: float | None = None
    ended: float | None = None
    received: float | None = None
    worker_host: str | None = None
    worker_pid: int | None = None
    worker_id: str | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    oob_bytes: int | None = None
    transform_seconds: float | None = None
    resolve_seconds: float | None = None
    warmup: bool = False
    source_id: str | None = None
    inband_input_bytes: int | None = None
    inband_output_bytes: int | None = None
    client_transform_seconds: float | None = None
    client_resolve_seconds: float | None = None


class Recorder(Protocol):
    """Where the engine hands each finished attempt. Must be thread-safe and cheap."""

    def record(self, record: TaskRecord) -> None: ...


class MemoryRecorder:
    """Keeps records in a list: for tests and for programs that analyse in-process."""

    def __init__(self) -> None:
        self.records: list[TaskRecord] = []
        self._lock = threading.Lock()

    def record(self, record: TaskRecord) -> None:
        with self._lock:
            self.records.append(record)
