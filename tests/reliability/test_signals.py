"""A run stopped by a signal exits 128 + the signal on every executor, quietly, with its
trace finalised (issue 15, item 10): SIGTERM from ``kill``, SIGINT from a terminal's
Ctrl-C (to the whole process group)."""

from __future__ import annotations

import os
import random
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
    command = run_command(executor, 100000, 4, "-q")
    status, stdout, stderr = signalled(command, tmp_path, signum, env=marked_env(marker))
    expected = 130 if signum == signal.SIGINT else 128 + signum
    assert status == expected, stderr + run_log(tmp_path)
    lines = stderr.strip().splitlines()
    assert all(line.startswith("tapstrace: ") for line in lines), stderr
    assert stdout == ""
    trace = read_trace(tmp_path / "t.arrow", warn=False)
    assert not trace.partial, stderr + run_log(tmp_path)  # the stacks, if it was bounded
    assert trace.tasks.height > 0
    assert not wait_no_leftovers(marker, cwd=tmp_path, timeout=15)


@pytest.mark.parametrize(
    ("executor", "signum"),
    [("ray", signal.SIGINT), ("parsl", signal.SIGTERM), ("thread", signal.SIGINT)],
    ids=["ray-INT", "parsl-TERM", "thread-INT"],
)  # fmt: skip
def test_a_signal_while_the_client_is_busy(tmp_path: Path, executor: str, signum: int) -> None:
    """1 ms tasks, 64 in flight: the client's thread is mostly submitting, waiting in
    concurrent.futures' lock loops and logging, where a signal once left a lock held or
    a launched task untracked and the unwind waited forever (before the fix: Ray and
    Ctrl-C 3 runs in 31, Parsl and SIGTERM 1 in 8). Three runs, each signalled at a
    random moment."""
    needs(executor)
    for attempt in range(3):
        cwd = tmp_path / str(attempt)
        cwd.mkdir()
        command = run_command(executor, 100000, 64, "-q")
        command[command.index("--app.mean-seconds") + 1] = "0.001"
        status, _, stderr = signalled(command, cwd, signum, delay=random.random())
        assert status == 128 + signum, stderr + run_log(cwd)
        assert not read_trace(cwd / "t.arrow", warn=False).partial, stderr + run_log(cwd)


def signalled(
    command: list[str],
    cwd: Path,
    signum: int,
    env: dict[str, str] | None = None,
    delay: float = 0.0,
) -> tuple[int, str, str]:
    """Run ``command`` in ``cwd`` as a terminal's foreground job and signal it once its
    trace holds records (and ``delay`` seconds more): SIGINT as Ctrl-C does, to the
    whole process group, other signals to the run. Its exit status, stdout, stderr."""
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, preexec_fn=foreground,
    )  # fmt: skip
    try:
        wait_for_records(cwd / "t.arrow", proc)
        time.sleep(delay)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stdout, stderr


def run_log(cwd: Path) -> str:
    """The log of the run started in ``cwd`` (its default runs directory), for a message."""
    logs = sorted((cwd / "runs").glob("*/log.txt"))
    return "".join(f"\n--- {log}:\n{log.read_text()[-20000:]}" for log in logs)


def test_a_bad_unwind_bound_is_refused_before_the_run(tmp_path: Path) -> None:
    """``$TAPSTRACE_UNWIND_SECONDS`` that is not a positive number: one line naming it,
    exit 2, nothing run."""
    from tapstrace.runner.signals import UNWIND_ENV, unwind_seconds

    for bad in ("abc", "0", "-1", "inf"):
        done = subprocess.run(
            [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "thread",
             "--app.tasks", "2", "--trace", "t.arrow", "-q"],
            cwd=tmp_path, capture_output=True, text=True, env={**os.environ, UNWIND_ENV: bad},
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert UNWIND_ENV in line and repr(bad) in line
        assert not (tmp_path / "t.arrow").exists()
    assert unwind_seconds() > 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_an_unwind_that_cannot_finish_is_bounded(tmp_path: Path, signum: int) -> None:
    """A signal while a thread-pool task runs for 10 minutes: a thread cannot be
    stopped, so the orderly unwind would wait for it; the run exits 128 + the signal
    after the unwind bound (its default 20 s) instead, leaving its partial trace, and the
    threads' stacks (what it waited on) in its log. The bound is set short here
    (``$TAPSTRACE_UNWIND_SECONDS``)."""
    from tapstrace.runner.signals import UNWIND_ENV

    bound = 3.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "thread",
         "--app.tasks", "2", "--app.mean-seconds", "600", "--trace", "t.arrow", "-q"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=foreground, env={**os.environ, UNWIND_ENV: f"{bound:g}"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "t.arrow").exists():  # the run has started
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signum)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=bound + 60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, stderr
    assert bound - 1 <= took < bound + 30
    trace = read_trace(tmp_path / "t.arrow", warn=False)
    assert trace.app == "synthetic"
    (log,) = (tmp_path / "runs").glob("*/log.txt")
    assert f"not unwound within {bound:g} s; exiting (the threads' stacks are in" in stderr
    stacks = log.read_text().split(f"unwind exceeded {bound:g} s; the threads' stacks:")
    assert len(stacks) == 2 and "most recent call first" in stacks[1]
    assert "shutdown" in stacks[1]  # the main thread waits in the engine's shutdown
