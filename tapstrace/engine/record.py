"""The task record: one per attempt of every submitted task, whatever its outcome."""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import Any, NamedTuple, Protocol


class Status(StrEnum):
    """How an attempt ended."""

    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEPENDENCY_FAILED = "dependency-failed"


class TaskRecord(NamedTuple):
    """Everything tapstrace knows about one attempt of one task (fields in schema order).

    Times are wall-clock seconds since the Unix epoch (``time.time()``): client-side
    times come from the submitting process, ``started``/``ended`` from the worker, so
    cross-host differences include clock skew (docs/trace-format.md). A NamedTuple:
    cheap to turn into columns.

    On the hot path the engine hands recorders a plain ``tuple`` in this field order (a
    :data:`Row`): every field holds an atomic value (``parents`` a tuple, ``status`` a
    plain str), so CPython's cyclic GC untracks buffered rows instead of rescanning them
    at every collection (it untracks exact tuples only, not NamedTuples).
    ``TaskRecord._make(row)`` gives the typed view.
    """

    run_id: str
    task_id: int
    name: str
    parents: tuple[int, ...]
    attempt: int
    status: str  # a Status value, kept as plain str: see below
    error_type: str | None = None
    error_message: str | None = None
    submitted: float | None = None
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
    kind: str = "task"  # or "client": a client phase (Engine.client_phase)
    cpu_seconds: float | None = None
    input_kind: str | None = None
    output_kind: str | None = None
    control_parents: tuple[int, ...] = ()
    client_seconds: float | None = None
    client_busy_seconds: float | None = None
    client_cpu_seconds: float | None = None
    module: str | None = None  # the task function's module (replay imports it)
    runqueue_seconds: float | None = None  # runnable, waiting for a CPU (Linux)
    gil_seconds: float | None = None  # the GIL held by Python code while it ran
    output_module: str | None = None  # module of the result's type (a library's)
    import_seconds: float | None = None  # CPU time of first-use imports in the task
    imported_modules: tuple[str, ...] | None = None  # the modules they imported


#: A record as the engine hands it to recorders: a plain tuple in TaskRecord field order.
Row = tuple[Any, ...]
#: Index of ``status`` in a Row.
STATUS = TaskRecord._fields.index("status")
#: Index of ``kind`` in a Row (``task``, or ``client`` for a client phase).
KIND = TaskRecord._fields.index("kind")


class Recorder(Protocol):
    """Where the engine hands each finished attempt. Must be thread-safe and cheap."""

    def record(self, row: Row) -> None: ...


class MemoryRecorder:
    """Keeps records in lists: for tests and for programs that analyse in-process.

    ``records`` holds the task records, ``phases`` the client phases (kind ``client``).
    """

    def __init__(self) -> None:
        self.records: list[TaskRecord] = []
        self.phases: list[TaskRecord] = []
        self._lock = threading.Lock()

    def record(self, row: Row) -> None:
        record = TaskRecord._make(row)
        with self._lock:
            (self.records if row[KIND] == "task" else self.phases).append(record)
