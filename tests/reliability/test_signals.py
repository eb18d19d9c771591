"""A run stopped by a signal exits 128 + the signal on every executor, quietly, with its
trace finalised (issue 15, item 10): SIGTERM from ``kill``, SIGINT from a terminal's
Ctrl-C (to the whole process group)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tapstrace.trace import read_trace
from tests.executors.conftest import marked_env, wait_no_leftovers
from tests.reliability.runs import EXECUTORS, foreground, needs, run_command, wait_for_records

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_signal_exit_status_is_128_plus_signal(tmp_path: Path, executor: str, signum: int) -> None:
    needs(executor)
    marker = f"tt-sig-{uuid.uuid4().hex[:10]}"
    proc = subprocess.Popen(
        run_command(executor, 100000, 4, "-q"), cwd=tmp_path, env=marked_env(marker),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=foreground,
    )  # fmt: skip
    try:
        wait_for_records(tmp_path / "t.arrow", proc)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # Ctrl-C: the terminal signals the whole group
        else:
            proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    expected = 130 if signum == signal.SIGINT else 128 + signum
    assert proc.returncode == expected, stderr
    lines = stderr.strip().splitlines()
    assert all(line.startswith("tapstrace: ") for line in lines), stderr
    assert stdout == ""
    trace = read_trace(tmp_path / "t.arrow")
    assert not trace.partial and trace.tasks.height > 0
    assert not wait_no_leftovers(marker, cwd=tmp_path, timeout=15)


def test_an_unwind_that_cannot_finish_is_bounded(tmp_path: Path) -> None:
    """SIGTERM while a thread-pool task runs for 10 minutes: a thread cannot be stopped,
    so the orderly unwind would wait for it; the run exits 143 after the unwind bound
    (UNWIND_SECONDS) instead, leaving its partial trace."""
    from tapstrace.runner.signals import UNWIND_SECONDS

    proc = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "thread",
         "--app.tasks", "2", "--app.mean-seconds", "600", "--trace", "t.arrow", "-q"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "t.arrow").exists():  # the run has started
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=UNWIND_SECONDS + 60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert UNWIND_SECONDS - 1 <= took < UNWIND_SECONDS + 30
    trace = read_trace(tmp_path / "t.arrow", warn=False)
    assert trace.app == "synthetic"
