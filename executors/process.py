"""Process pool executor: tasks run in worker processes on this machine."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import socket
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from tapstrace.engine.executor import PoolExecutor
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register

_process_id: tuple[int, str] = (-1, "")


def process_id() -> str:
    """Worker id of a pool process: host:pid (cached per process, fork-safe)."""
    global _process_id
    pid = os.getpid()
    if _process_id[0] != pid:
        _process_id = (pid, f"{socket.gethostname()}:{pid}")
    return _process_id[1]


@register("executor")
class ProcessConfig(ExecutorConfig):
    """Worker processes on this machine (concurrent.futures.ProcessPoolExecutor).

    Arguments and results are pickled through pipes. A worker that dies breaks the pool:
    its running and queued tasks fail with BrokenProcessPool and are recorded as failed.
    """

    name: ClassVar[str] = "process"

    max_processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Worker processes."
    )
    start_method: Literal["spawn", "fork", "forkserver"] = Field(
        "spawn",
        description="How workers start: spawn (fresh interpreter, safe everywhere), fork "
        "(fast, unsafe with threads in the client), forkserver.",
    )
    max_tasks_per_child: int | None = Field(
        None, ge=1, description="Replace a worker after this many tasks (default: never)."
    )

    def build(self, run_dir: Path | None = None) -> PoolExecutor:
        pool = concurrent.futures.ProcessPoolExecutor(
            self.max_processes,
            mp_context=multiprocessing.get_context(self.start_method),
            max_tasks_per_child=self.max_tasks_per_child,
        )
        return PoolExecutor(pool, workers=self.max_processes, worker_id=process_id)
