"""Lost workers never hang a run (issue 15, item 6).

First the case of the issue: a run started as a background job of a script (the shell
sets its SIGINT to ignored) whose process group gets SIGINT. Its workers must ignore it
too, on every executor, and the run goes on to its end. Then a Dask cluster whose only
worker is killed: the run fails the waiting tasks after ``--executor.lost-workers-timeout``
with one line naming the cause, instead of waiting forever.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapstrace.trace import read_trace
from tests.executors.conftest import free_port, marked_env, stop_tree, wait_no_leftovers, wait_port
from tests.reliability.runs import EXECUTORS, needs, run_command, wait_for_records

pytestmark = pytest.mark.slow

TASKS = 60


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_sigint_to_a_background_job_does_not_stop_or_stall_the_run(
    tmp_path: Path, executor: str
) -> None:
    needs(executor)
    marker = f"tt-bg-{uuid.uuid4().hex[:10]}"
    command = " ".join(run_command(executor, TASKS, 4))
    # A background job (the shell sets its SIGINT to ignored); then the script ignores
    # SIGINT too, to wait for the job and write its exit status.
    script = f"{command} &\njob=$!\ntrap '' INT\nwait $job\necho $? > status\n"
    job = subprocess.Popen(
        ["bash", "-c", script], cwd=tmp_path, env=marked_env(marker), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for_records(tmp_path / "t.arrow", job, at_least=4)
        os.killpg(job.pid, signal.SIGINT)  # the script's whole process group
        sent = time.monotonic()
        stdout, stderr = job.communicate(timeout=120)
        while not (tmp_path / "status").exists() or not (tmp_path / "status").read_text():
            assert time.monotonic() < sent + 120, "the run never ended"
            time.sleep(0.1)
        took = time.monotonic() - sent
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert (tmp_path / "status").read_text().strip() == "0", (stdout, stderr)
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    trace = read_trace(tmp_path / "t.arrow")
    assert not trace.partial
    assert trace.tasks["status"].to_list() == ["ok"] * TASKS
    print(f"\n{executor}: all {TASKS} tasks ok, ended {took:.1f} s after the SIGINT")
    assert not wait_no_leftovers(marker, cwd=tmp_path, timeout=15)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A scheduler and one worker (no nanny: nobody restarts it), both on 127.0.0.1."""
    pytest.importorskip("distributed")
    marker = f"tt-lost-{uuid.uuid4().hex[:8]}"
    env = marked_env(marker, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=env, cwd=tmp_path, **quiet,
    )  # fmt: skip
    worker = None
    try:
        wait_port(port, scheduler)
        worker = subprocess.Popen(
            [*dask, "worker", address, "--nthreads", "2", "--no-dashboard", "--no-nanny",
             "--host", "127.0.0.1", "--local-directory", str(tmp_path / "w")],
            env=env, cwd=tmp_path, **quiet,
        )  # fmt: skip
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        yield address, worker
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                stop_tree(proc)
        assert not wait_no_leftovers(marker, timeout=10)


def test_dask_cluster_that_loses_its_workers_fails_the_waiting_tasks(
    tmp_path: Path, dask_cluster: tuple[str, subprocess.Popen[bytes]]
) -> None:
    address, worker = dask_cluster
    timeout = 5.0
    run = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "dask",
         "--executor.scheduler-address", address, "--executor.lost-workers-timeout",
         str(timeout), "--app.tasks", "200", "--app.mean-seconds", "0.1",
         "--app.max-in-flight", "6", "--engine.flush-interval", "0.2", "--trace", "t.arrow"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for_records(tmp_path / "t.arrow", run, at_least=6)
        worker.kill()  # the cluster's only worker dies; no nanny restarts it
        killed = time.monotonic()
        _, stderr = run.communicate(timeout=timeout + 60)
        took = time.monotonic() - killed
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(f"tapstrace: error: the Dask cluster at {address} has had no worker")
    assert f"{timeout:g} s (--executor.lost-workers-timeout)" in line
    trace = read_trace(tmp_path / "t.arrow")
    assert not trace.partial
    lost = trace.tasks.filter(trace.tasks["error_type"] == "WorkersLost")
    assert lost.height >= 1
    assert trace.tasks["status"].value_counts().height <= 3  # ok, failed (and cancelled)
    print(f"\ndask: worker killed; the run ended {took:.1f} s later ({lost.height} tasks lost)")
    assert timeout <= took < timeout + 30
