"""CLI runs of the reliability tests: one per executor, a stream of short tasks that a
test then signals, kills or starves."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tapstrace.trace import read_trace

#: Every executor that runs on this machine, with flags for 2 workers.
EXECUTORS = {
    "thread": ["--executor.max-threads", "2"],
    "process": ["--executor.max-processes", "2"],
    "dask": ["--executor.workers", "2"],
    "ray": ["--executor.num-cpus", "2"],
    "parsl": ["--executor.workers", "2"],
    "parsl-thread": ["--executor.max-threads", "2"],
    "taskvine": ["--executor.workers", "2"],
}
#: What an executor needs to import; its tests skip where that is missing.
MODULES = {
    "dask": "distributed",
    "ray": "ray",
    "parsl": "parsl",
    "parsl-thread": "parsl",
    "taskvine": "ndcctools.taskvine",  # conda-forge only
}


def needs(executor: str) -> None:
    """Skip the test where the executor's framework is not installed."""
    if executor in MODULES:
        pytest.importorskip(MODULES[executor])


def foreground() -> None:
    """A ``preexec_fn`` for a run that stands for a terminal's foreground job: SIGINT at
    its default. A suite started in the background (``make test &``) has it ignored,
    which its children inherit and a run keeps, as a background job must."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_command(executor: str, tasks: int, in_flight: int, *extra: str) -> list[str]:
    """``tapstrace run synthetic`` of ``tasks`` 50 ms tasks (``in_flight`` at once),
    flushing every 0.2 s into ``t.arrow``."""
    return [
        sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", executor,
        *EXECUTORS[executor], "--app.tasks", str(tasks), "--app.max-in-flight", str(in_flight),
        "--app.mean-seconds", "0.05", "--engine.flush-interval", "0.2", "--trace", "t.arrow",
        *extra,
    ]  # fmt: skip


def records(path: Path) -> int:
    """Task records in the trace at ``path`` so far (0 while it is absent or being written)."""
    try:
        return read_trace(path, warn=False).tasks.height if path.exists() else 0
    except Exception:  # a batch being written
        return 0


def wait_for_records(
    path: Path, proc: subprocess.Popen[str], at_least: int = 1, timeout: float = 150
) -> None:
    """Return once the trace holds ``at_least`` records: workers are running tasks."""
    deadline = time.monotonic() + timeout
    while records(path) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no task finished"
        time.sleep(0.3)
