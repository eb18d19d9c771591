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
from tests.reliability.test_orphans_and_ports import EXECUTORS, MODULES

pytestmark = pytest.mark.slow


def _flowing(path: Path) -> bool:
    try:
        return path.exists() and read_trace(path, warn=False).tasks.height > 0
    except Exception:  # being written
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_signal_exit_status_is_128_plus_signal(tmp_path: Path, executor: str, signum: int) -> None:
    if executor in MODULES:
        pytest.importorskip(MODULES[executor])
    marker = f"tt-sig-{uuid.uuid4().hex[:10]}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", executor,
         *EXECUTORS[executor], "--app.tasks", "100000", "--app.max-in-flight", "4",
         "--app.mean-seconds", "0.05", "--engine.flush-interval", "0.2",
         "--trace", "t.arrow", "-q"],
        cwd=tmp_path, env=marked_env(marker), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 150
        while not _flowing(tmp_path / "t.arrow"):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no task finished"
            time.sleep(0.3)
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
