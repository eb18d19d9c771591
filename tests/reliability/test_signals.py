"""A run stopped by a signal exits 128 + the signal on every executor, quietly, with its
trace finalised (issue 15, item 10): SIGTERM from ``kill``, SIGINT from a terminal's
Ctrl-C (to the whole process group)."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tapstrace.trace import read_trace
from tests.executors.conftest import marked_env, wait_no_leftovers
from tests.reliability.runs import EXECUTORS, needs, run_command, wait_for_records

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_signal_exit_status_is_128_plus_signal(tmp_path: Path, executor: str, signum: int) -> None:
    needs(executor)
    marker = f"tt-sig-{uuid.uuid4().hex[:10]}"
    proc = subprocess.Popen(
        run_command(executor, 100000, 4, "-q"), cwd=tmp_path, env=marked_env(marker),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
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
