"""Thread pool executor: tasks run in threads of the client process."""

from __future__ import annotations

import concurrent.futures
import os
import threading
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from tapstrace.engine.executor import PoolExecutor
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register


def thread_name() -> str:
    """Worker id of a pool thread: its thread name."""
    return threading.current_thread().name


@register("executor")
class ThreadConfig(ExecutorConfig):
    """Threads in the client process (concurrent.futures.ThreadPoolExecutor).

    No serialisation and no process start-up; CPU-bound pure-Python tasks contend for
    the GIL.
    """

    name: ClassVar[str] = "thread"

    max_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Threads in the pool."
    )

    def build(self, run_dir: Path | None = None) -> PoolExecutor:
        pool = concurrent.futures.ThreadPoolExecutor(
            self.max_threads, thread_name_prefix="tapstrace-worker"
        )
        return PoolExecutor(pool, workers=self.max_threads, worker_id=thread_name)
