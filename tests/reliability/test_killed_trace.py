"""What a SIGKILL leaves in the trace: the run's facts from the first moment, and records
no older than the flush interval, even on a loaded machine (issue 15, items 5 and 8)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapstrace.errors import TraceError
from tapstrace.trace import read_trace

FLUSH_INTERVAL = 1.0


def start_run(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", *args, "--trace", "t.arrow", "-q"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_size(path: Path, size: int, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or path.stat().st_size < size:
        assert proc.poll() is None, f"the run ended: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, "the trace never grew"
        time.sleep(0.01)


@pytest.mark.slow
def wait_for_records(path: Path, proc: subprocess.Popen[str], timeout: float = 90) -> None:
    """Wait until the partial trace holds task records (the file grows before that: its
    header, then an empty batch written at start)."""
    wait_for_size(path, 1, proc, timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if read_trace(path, warn=False).tasks.height:
                return
        except TraceError:  # caught in the middle of writing its header
            pass
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no records in {path} after {timeout} s"
        time.sleep(0.05)


def test_killed_before_the_first_flush_the_trace_holds_the_run_facts(tmp_path: Path) -> None:
    proc = start_run(
        tmp_path, "--executor", "thread", "--app.tasks", "2", "--app.mean-seconds", "60"
    )
    wait_for_size(tmp_path / "t.arrow", 1, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    trace = read_trace(tmp_path / "t.arrow", warn=False)
    assert trace.partial and trace.tasks.height == 0
    assert trace.app == "synthetic" and trace.executor == "thread"
    assert len(trace.metadata["run_id"]) == 12 and trace.metadata["started_at"]
    assert trace.config["app"]["tasks"] == 2
    shown = subprocess.run(
        [sys.executable, "-m", "tapstrace", "show", "t.arrow"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "partial" in shown.stdout and "synthetic" in shown.stdout


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """Two processes spinning the CPU (this machine has 2 cores) while the test runs."""
    spin = "while True: pass"
    spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
    try:
        yield
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()


LOADS = {
    # CPU-bound Python tasks in threads: the flush thread competes with them for the GIL.
    "thread-spin": ["--executor", "thread", "--executor.max-threads", "2", "--app.mode", "spin"],
    # sleeping tasks in 2 worker processes, with 2 more processes spinning the CPU.
    "process-sleep": ["--executor", "process", "--executor.max-processes", "2"],
}


@pytest.mark.slow
@pytest.mark.parametrize("load", list(LOADS))
def test_newest_record_is_younger_than_the_flush_interval_under_load(
    tmp_path: Path, load: str, cpu_load: None
) -> None:
    """A stream of 5 ms tasks under CPU load, SIGKILLed 3 times at arbitrary moments: the
    newest record in the partial trace finished less than the flush interval (1 s)
    before the kill."""
    ages = []
    for attempt in range(3):
        workdir = tmp_path / str(attempt)
        workdir.mkdir()
        proc = start_run(
            workdir, *LOADS[load], "--app.tasks", "1000000", "--app.max-in-flight", "8",
            "--app.mean-seconds", "0.005", "--engine.flush-interval", str(FLUSH_INTERVAL),
        )  # fmt: skip
        path = workdir / "t.arrow"
        try:
            wait_for_records(path, proc)
            time.sleep(2.0 + 0.37 * attempt)
        finally:  # never leave a million-task run behind a failed wait
            os.kill(proc.pid, signal.SIGKILL)
        killed = time.time()
        proc.wait(30)
        trace = read_trace(path, warn=False)
        assert trace.partial and trace.tasks.height > 0
        newest = trace.tasks["received"].max().timestamp()  # type: ignore[union-attr]
        ages.append(killed - newest)
    load_average = os.getloadavg()[0]
    print(f"{load}: newest record ages {[round(a, 3) for a in ages]} s, load {load_average:.1f}")
    assert max(ages) < FLUSH_INTERVAL, (ages, load_average)
