"""The engine: apps submit Python callables, it runs them on an executor and records them."""

from __future__ import annotations

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
