"""Process pool executor: tasks run in worker processes on this machine."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import socket
from pathlib import Path
from types import FrameType
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


class Interrupted(SystemExit):
    """A pool worker got Ctrl-C: the run is stopping; the worker exits (status 130)."""

    def __init__(self) -> None:
        super().__init__(130)

    def __str__(self) -> str:
        return "interrupted by SIGINT (Ctrl-C)"


def _exit_on_interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted


def worker_start() -> None:
    """Pool worker initializer: Ctrl-C ends the worker quietly.

    A terminal's Ctrl-C reaches every process of its group. A worker's default
    KeyboardInterrupt, raised while it waits for or unpickles its next task, prints a
    traceback on the terminal; :class:`Interrupted` (a SystemExit) exits quietly, and
    fails a running task with a clear error, so the run still stops at once. Where the
    run ignores SIGINT (a background job), the worker inherited the ignore and keeps it.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _exit_on_interrupt)


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
            initializer=worker_start,
        )
        return PoolExecutor(pool, workers=self.max_processes, worker_id=process_id)
