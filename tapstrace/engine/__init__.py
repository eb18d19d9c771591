"""The engine: apps submit Python callables, it runs them on an executor and records them.

The names below load on first use: a worker process imports tapstrace.engine.worker,
which makes Python import this package first, and must not pay for the client's side
(the Engine, futures, records: about 13 ms, per task where every task is a new process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapstrace.lazy import lazy_attributes

if TYPE_CHECKING:
    from tapstrace.engine.adapter import Outcome
    from tapstrace.engine.engine import Engine
    from tapstrace.engine.executor import Executor, PoolExecutor
    from tapstrace.engine.future import DependencyError, TaskFuture
    from tapstrace.engine.record import MemoryRecorder, Recorder, Status, TaskRecord
    from tapstrace.engine.worker import TaskFailed

__all__ = [
    "DependencyError",
    "Engine",
    "Executor",
    "MemoryRecorder",
    "Outcome",
    "PoolExecutor",
    "Recorder",
    "Status",
    "TaskFailed",
    "TaskFuture",
    "TaskRecord",
]

_LAZY = {
    "DependencyError": "tapstrace.engine.future",
    "Engine": "tapstrace.engine.engine",
    "Executor": "tapstrace.engine.executor",
    "MemoryRecorder": "tapstrace.engine.record",
    "Outcome": "tapstrace.engine.adapter",
    "PoolExecutor": "tapstrace.engine.executor",
    "Recorder": "tapstrace.engine.record",
    "Status": "tapstrace.engine.record",
    "TaskFailed": "tapstrace.engine.worker",
    "TaskFuture": "tapstrace.engine.future",
    "TaskRecord": "tapstrace.engine.record",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
