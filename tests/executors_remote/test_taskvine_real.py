"""The taskvine executor on the real TaskVine library, with real vine_worker processes.

Skipped where ndcctools.taskvine does not import or vine_worker is not on PATH (TaskVine
is installed from conda-forge, not PyPI; see docs/executors-remote.md for a source build).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ndcctools.taskvine")
if shutil.which("vine_worker") is None:  # pragma: no cover - depends on the machine
    pytest.skip("vine_worker is not on PATH", allow_module_level=True)

from tapstrace.engine import Engine, MemoryRecorder, Status
from tapstrace.executors.taskvine import TaskVineConfig, TaskVineError
from tests.conftest import ROOT
from tests.executors_remote import checks
from tests.tasks import add, identity, sleep

pytestmark = pytest.mark.slow
MODES = ["task", "function-call"]


@pytest.fixture(autouse=True)
def worker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers inherit this environment: their python3 is this interpreter (as in an
    activated environment) and they can import tests.tasks."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv(
        "PATH", os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])
    )


def vine_processes(port: int) -> list[str]:
    """Live (not zombie) processes whose command line names the manager's port."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if "vine_" in cmdline and f" {port}" in cmdline and state != "Z":
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture(params=MODES)
def vine_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Engine, MemoryRecorder]]:
    executor = TaskVineConfig(workers=2, mode=request.param).build(tmp_path)
    recorder = MemoryRecorder()
    engine = Engine(executor, recorder=recorder)
    yield engine, recorder
    engine.shutdown(wait=True, cancel_futures=True)
    assert vine_processes(executor.port) == []


def test_diamond(vine_engine: tuple[Engine, MemoryRecorder]) -> None:
    engine, recorder = vine_engine
    checks.check_diamond(engine, recorder)
    for record in recorder.records:  # TaskVine's id of the worker: its address and port
        host, port = record.worker_id.rsplit(":", 1)  # type: ignore[union-attr]
        assert host and int(port) > 0


def test_failure(vine_engine: tuple[Engine, MemoryRecorder]) -> None:
    checks.check_failure(*vine_engine)


def test_payload(vine_engine: tuple[Engine, MemoryRecorder]) -> None:
    checks.check_payload(*vine_engine)


def test_closure_by_value(vine_engine: tuple[Engine, MemoryRecorder]) -> None:
    """A closure travels by value (cloudpickle) and may return one: in task mode the
    task's process reads it with the standard pickle, which imports cloudpickle for it."""
    engine, _ = vine_engine
    offset = 5

    def make_adder(x: int) -> Any:
        return lambda y: x + y + offset

    assert engine.submit(make_adder, 1).result(timeout=120)(2) == 8


def test_every_task_recorded_when_only_the_last_result_is_read(
    vine_engine: tuple[Engine, MemoryRecorder],
) -> None:
    """TaPS lost the records of TaskVine tasks whose futures only fed other tasks: here a
    tree of 15 tasks is submitted, only the root's result is read, and all 15 are there."""
    engine, recorder = vine_engine
    level = [engine.submit(identity, i) for i in range(8)]
    while len(level) > 1:
        level = [engine.submit(add, a, b) for a, b in zip(level[::2], level[1::2], strict=True)]
    assert level[0].result(timeout=120) == sum(range(8))
    engine.shutdown()
    assert len(recorder.records) == 15
    assert {r.status for r in recorder.records} == {Status.OK}


def test_cancel_on_shutdown_records_every_task(tmp_path: Path) -> None:
    executor = TaskVineConfig(workers=1).build(tmp_path)
    recorder = MemoryRecorder()
    engine = Engine(executor, recorder=recorder)
    first = engine.submit(sleep, 0.2)
    rest = [engine.submit(sleep, 30) for _ in range(3)]
    assert first.result(timeout=60) == 0.2
    started = time.monotonic()
    engine.shutdown(wait=True, cancel_futures=True)
    assert time.monotonic() - started < 30  # the 30 s sleeps were not waited for
    statuses = sorted(r.status for r in recorder.records)
    assert statuses == ["cancelled", "cancelled", "cancelled", "ok"]
    assert all(f.cancelled() for f in rest)
    assert vine_processes(executor.port) == []


def test_random_dag_trace(tmp_path: Path) -> None:
    from tapstrace.executors.thread import ThreadConfig

    app = {"structure": "random", "width": 4, "depth": 3, "mean_seconds": 0.0, "seed": 5}
    vine = checks.run_synthetic(TaskVineConfig(workers=2), tmp_path, "vine", **app)
    local = checks.run_synthetic(ThreadConfig(max_threads=2), tmp_path, "thread", **app)
    assert vine.tasks.height == 12
    assert checks.graph(vine).equals(checks.graph(local))
    assert vine.metadata["executor"]["taskvine_version"]
    assert vine.metadata["workers"] == 2
    assert vine.tasks["worker_id"].null_count() == 0
    run_dir = Path(vine.metadata["run_dir"])
    assert (run_dir / "taskvine" / "manager").is_dir()  # TaskVine's logs stay in the run


def test_factory_workers_leave_with_the_executor(tmp_path: Path) -> None:
    executor = TaskVineConfig(workers=2, factory="local").build(tmp_path)
    engine = Engine(executor)
    assert sum(engine.map(identity, range(6))) == 15
    engine.shutdown()
    assert vine_processes(executor.port) == []


def test_no_worker_fails_within_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(TaskVineError, match=r"0 of 1 workers connected to port \d+ within 1 s"):
        TaskVineConfig(workers=0, worker_timeout=1).build(tmp_path)
    assert time.monotonic() - started < 15


def test_taken_port_is_a_user_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(TaskVineError, match=f"cannot listen on port {port}"):
            TaskVineConfig(port=port).build(tmp_path)


def test_function_call_mode_without_conda_pack_is_one_line(tmp_path: Path) -> None:
    """TaskVine's poncho needs conda-pack for the function-call mode: without it, one line
    naming it and exit 2, before any manager or worker starts."""
    import subprocess

    hidden = tmp_path / "hide" / "conda_pack"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'conda_pack\'", name="conda_pack")\n'
    )
    paths = [str(hidden.parent), *os.environ["PYTHONPATH"].split(os.pathsep)]  # ROOT first
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    result = subprocess.run(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "taskvine",
         "--executor.mode", "function-call", "--app.tasks", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tapstrace: error: --executor.mode function-call needs TaskVine")
    assert "conda install -c conda-forge conda-pack" in lines[0]
    assert not list(tmp_path.glob("runs/*"))
