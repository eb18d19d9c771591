"""The parsl (HighThroughputExecutor) and parsl-thread executors, and Parsl's clean-up."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.errors import UserError
from tapstrace.executors.parsl import ParslConfig, ParslThreadConfig
from tapstrace.trace import read_trace
from tests.executors.cli import check_cli_run
from tests.executors.conftest import (
    ROOT,
    family,
    leftovers,
    marked,
    marked_env,
    wait_no_leftovers,
)
from tests.executors.scenarios import run_scenarios
from tests.reliability.runs import foreground

pytestmark = pytest.mark.slow
pytest.importorskip("parsl")  # the parsl extra


def test_htex_records_every_task(tmp_path: Path) -> None:
    runinfo = Path.cwd() / "runinfo"
    had_runinfo = runinfo.exists()
    executor = ParslConfig(workers=2).build(tmp_path)
    assert executor.workers() == 2
    # Its block was launched with the executor, not at the scaling strategy's first
    # tick (5 s later; the workers' start-up is part of what a run measures).
    assert len(executor._executor.blocks_to_job_id) == 1
    recorder = MemoryRecorder()
    run_scenarios(
        Engine(executor, recorder=recorder),
        recorder,
        lambda worker_id: re.fullmatch(r"0/\w+/[01]", worker_id) is not None,
    )
    # Parsl's files stay in the run directory: its log, the interchange's, the workers'.
    assert list(tmp_path.glob("parsl/000/parsl.log"))
    assert list(tmp_path.glob("parsl/000/htex/interchange.log"))
    assert runinfo.exists() == had_runinfo


def test_thread_pool_records_every_task() -> None:
    executor = ParslThreadConfig(max_threads=2).build()
    parsl_dir = executor.parsl_dir
    recorder = MemoryRecorder()
    run_scenarios(
        Engine(executor, recorder=recorder),
        recorder,
        lambda worker_id: worker_id.startswith("ThreadPoolExecutor-threads"),
    )
    assert not parsl_dir.exists()  # without a run directory: a temporary one, removed


def test_providers_and_launchers_are_parsl_objects() -> None:
    from parsl.launchers import SrunLauncher
    from parsl.providers import LocalProvider, SlurmProvider

    config = ParslConfig(
        provider="slurm",
        launcher="srun",
        blocks=2,
        workers=4,
        provider_options={"partition": "debug", "nodes_per_block": 3, "walltime": "00:10:00"},
        launcher_options={"overrides": "--mpi=pmi2"},
    )
    provider = config.make_provider()
    assert isinstance(provider, SlurmProvider) and isinstance(provider.launcher, SrunLauncher)
    assert (provider.partition, provider.nodes_per_block, provider.max_blocks) == ("debug", 3, 2)
    assert provider.launcher.overrides == "--mpi=pmi2"
    htex = config.make_htex()
    assert isinstance(htex.provider, SlurmProvider) and htex.max_workers_per_node == 4
    assert "process_worker_pool.py" in htex.launch_cmd  # found on the nodes' PATH
    local = ParslConfig(workers=2).make_htex()
    assert isinstance(local.provider, LocalProvider)
    assert local.address == "127.0.0.1"
    assert f"{sys.executable} -m parsl.executors.high_throughput.process_worker_pool" in (
        local.launch_cmd
    )
    with pytest.raises(UserError, match=r"^--executor.provider-options: SlurmProvider: .*bogus"):
        ParslConfig(provider="slurm", provider_options={"bogus": 1}).make_provider()
    with pytest.raises(UserError, match=r"^--executor.htex-options: .*colour"):
        ParslConfig(htex_options={"colour": "red"}).make_htex()


FAILING_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tapstrace.engine import Engine
    from tapstrace.executors.parsl import ParslConfig
    from tests.tasks import sleep

    run_dir, trigger = Path(sys.argv[1]), Path(sys.argv[2])
    engine = Engine(ParslConfig(workers=1).build(run_dir))
    engine.submit(sleep, 120)
    while not trigger.exists():
        time.sleep(0.05)
    raise RuntimeError("the app failed")  # no shutdown: only the exit hook can clean up
    """
)


def wait_for_worker_pool(marker: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if any("process_worker_pool" in p for p in leftovers(marker)):
            return
        time.sleep(0.2)
    raise TimeoutError("no Parsl worker pool started")


def test_failing_script_leaves_no_parsl_process(tmp_path: Path, marker: str) -> None:
    trigger = tmp_path / "fail-now"
    proc = subprocess.Popen(
        [sys.executable, "-c", FAILING_SCRIPT, str(tmp_path / "run"), str(trigger)],
        cwd=ROOT,
        env=marked_env(marker),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_worker_pool(marker, proc)
        started = [*marked(marker), *family(proc.pid)]
        assert any("interchange" in " ".join(p.cmdline()) for p in started)
        trigger.touch()
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "RuntimeError: the app failed" in stderr
    left = wait_no_leftovers(marker, started)
    assert not left, f"Parsl processes outlived the failed run: {left}"


@pytest.mark.parametrize(
    ("signum", "returncode"), [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)]
)
def test_interrupted_cli_run_cleans_up_and_keeps_its_trace(
    tmp_path: Path, marker: str, signum: int, returncode: int
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "parsl",
         "--executor.workers", "2", "--app.tasks", "3", "--app.mean-seconds", "60",
         "--trace", "run.arrow"],
        cwd=tmp_path,
        env=marked_env(marker),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=foreground,
    )  # fmt: skip
    try:
        wait_for_worker_pool(marker, proc)
        started = [*marked(marker), *family(proc.pid)]
        time.sleep(1.0)  # let the tasks reach the workers
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # Ctrl-C reaches the terminal's whole process group
        else:
            proc.send_signal(signum)  # a batch system's or a user's `kill`
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == returncode, stderr
    left = wait_no_leftovers(marker, started, cwd=tmp_path)
    assert not left, f"Parsl processes outlived the interrupted run: {left}"
    assert "Traceback" not in stderr, stderr
    trace = read_trace(tmp_path / "run.arrow")
    assert not trace.partial
    assert trace.tasks.height == 3  # every submitted task has its record
    assert set(trace.tasks["status"].to_list()) == {"cancelled"}


def test_cli_run_records_a_trace(tmp_path: Path, marker: str) -> None:
    check_cli_run(tmp_path, marker, "parsl", "--executor.workers", "2")
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "parsl" / "000" / "parsl.log").is_file()
    assert " parsl.dataflow" not in (run_dir / "log.txt").read_text()  # Parsl logs to its own


def test_cli_run_on_the_thread_pool(tmp_path: Path, marker: str) -> None:
    check_cli_run(tmp_path, marker, "parsl-thread", "--executor.max-threads", "2")


def test_batch_provider_without_its_scheduler_fails_tasks_clearly(tmp_path: Path) -> None:
    """A real SlurmProvider where sbatch does not exist: tasks fail, saying why; no hang."""
    import shutil

    if shutil.which("sbatch"):
        pytest.skip("a real Slurm is installed here: this test would submit jobs")
    config = ParslConfig(provider="slurm", workers=1, provider_options={"partition": "none"})
    recorder = MemoryRecorder()
    with Engine(config.build(tmp_path), recorder=recorder) as engine:
        future = engine.submit(pow, 2, 3)
        with pytest.raises(Exception, match="sbatch"):
            future.result(120)
    (record,) = recorder.records
    assert record.status == "failed" and "sbatch" in (record.error_message or "")
    script = next(tmp_path.glob("parsl/000/submit_scripts/parsl.htex.block-0.*"))
    assert "#SBATCH --partition=none" in script.read_text()  # Parsl's own job script
