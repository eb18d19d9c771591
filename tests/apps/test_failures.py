"""failures: every injected failure is in the trace with its type; runs always finish."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tapstrace.apps.failures import FailuresApp, FailuresConfig
from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.engine.record import TaskRecord
from tapstrace.trace.reader import read_trace
from tests.conftest import build_executor, tapstrace_cli

#: error_type in the trace of the task that got each kind of failure.
ERROR_TYPE = {
    "exception": "InjectedException",
    "dependency": "DependencyError",
    "timeout": "InjectedTimeout",
    "memory": "InjectedMemoryError",
    "import": "ModuleNotFoundError",
}
FAST = {"timeout_seconds": 0.2, "memory_mb": 16}
BAG = {"structure": "bag", "tasks": 40, "mean_seconds": 0.0}


def run_app(engine: Engine, tmp_path: Path, **params: Any) -> FailuresApp:
    app = FailuresConfig(**{"base_config": BAG, **FAST, **params}).build()
    app.run(engine, tmp_path)
    engine.shutdown()
    return app


def by_task(records: list[TaskRecord]) -> dict[int, list[TaskRecord]]:
    out: dict[int, list[TaskRecord]] = {}
    for r in sorted(records, key=lambda r: (r.task_id, r.attempt)):
        out.setdefault(r.task_id, []).append(r)
    return out


def test_injected_failures_are_in_the_trace(
    engine: Engine, recorder: MemoryRecorder, tmp_path: Path
) -> None:
    app = run_app(engine, tmp_path, rate=0.5, seed=2)
    kinds = Counter(i.kind for i in app.injections)
    assert set(kinds) == set(ERROR_TYPE), kinds  # every default kind was drawn
    tasks = by_task(recorder.records)
    assert all(len(attempts) == 1 for attempts in tasks.values())  # no retries asked for
    injected = {i.task_id: i for i in app.injections}
    parents = {i.parent_task_id for i in app.injections if i.parent_task_id is not None}
    for task_id, (record,) in tasks.items():
        if task_id in injected:
            kind = injected[task_id].kind
            assert record.error_type == ERROR_TYPE[kind], (kind, record)
            assert record.status == ("dependency-failed" if kind == "dependency" else "failed")
            assert record.name == "synthetic_task"
        elif task_id in parents:
            assert record.name == "injected_parent"
            assert record.error_type == "InjectedDependencyFailure"
        else:
            assert record.status == "ok", record
    for i in app.injections:
        if i.kind == "dependency":
            assert tasks[i.task_id][0].parents == (i.parent_task_id,)
        if i.kind == "timeout":
            (record,) = tasks[i.task_id]
            assert record.ended is not None and record.started is not None
            assert record.ended - record.started >= 0.2
    with (tmp_path / "injections.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["task_id"]), r["kind"]) for r in rows] == [
        (i.task_id, i.kind) for i in app.injections
    ]
    assert app.base_error is None  # the bag app does not read results


def test_injection_is_deterministic(tmp_path: Path) -> None:
    def plan(seed: int, run: str) -> list[tuple[int, str]]:
        (tmp_path / run).mkdir()
        with Engine(build_executor("thread", max_threads=4)) as engine:
            app = run_app(engine, tmp_path / run, rate=0.3, seed=seed)
        return [(i.index, i.kind) for i in app.injections]

    first, again, other = plan(0, "a"), plan(0, "b"), plan(1, "c")
    assert first == again and first != other
    assert 4 <= len(first) <= 20  # ~30% of 40


def test_retries_show_as_extra_attempts(tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    engine = Engine(build_executor("thread", max_threads=4), recorder=recorder, retries=1)
    app = run_app(engine, tmp_path, rate=0.4, seed=3)
    tasks = by_task(recorder.records)
    assert app.injections
    for i in app.injections:
        task_id = i.parent_task_id if i.kind == "dependency" else i.task_id
        first, second = tasks[task_id]
        assert (first.attempt, first.status) == (1, "failed")
        assert (second.attempt, second.status) == (2, "ok")
    assert all(attempts[-1].status == "ok" for attempts in tasks.values())
    assert sum(len(a) for a in tasks.values()) == len(tasks) + len(app.injections)


def test_persistent_failures_fail_every_attempt(tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    engine = Engine(build_executor("thread", max_threads=4), recorder=recorder, retries=2)
    app = run_app(engine, tmp_path, rate=0.3, seed=4, persistent=True, kinds=["exception"])
    tasks = by_task(recorder.records)
    for i in app.injections:
        assert [r.error_type for r in tasks[i.task_id]] == ["InjectedException"] * 3


def test_killed_in_client_process_is_refused(tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    engine = Engine(build_executor("thread", max_threads=2), recorder=recorder)
    app = run_app(engine, tmp_path, rate=0.2, kinds=["killed"])
    types = {r.task_id: r.error_type for r in recorder.records}
    assert app.injections
    assert all(types[i.task_id] == "InjectedWorkerKill" for i in app.injections)


@pytest.mark.slow
def test_killed_worker_breaks_the_process_pool(tmp_path: Path) -> None:
    """os._exit in a worker breaks a ProcessPoolExecutor: the killed task and every task
    in flight or submitted later fail with BrokenProcessPool; the run still finishes and
    every task has its record."""
    recorder = MemoryRecorder()
    engine = Engine(build_executor("process", max_processes=2), recorder=recorder)
    base = {"structure": "sequential", "tasks": 30, "mean_seconds": 0.0}
    app = run_app(engine, tmp_path, rate=0.1, seed=1, kinds=["killed"], base_config=base)
    first = min(i.task_id for i in app.injections)
    tasks = by_task(recorder.records)
    assert len(tasks) == 30
    assert tasks[first][0].error_type == "BrokenProcessPool"
    for task_id, (record,) in tasks.items():
        if task_id < first:
            assert record.status == "ok"
        else:  # a chain: later tasks depend on the killed one
            assert record.status in ("failed", "dependency-failed")


def test_base_app_that_stops_on_a_failure(tmp_path: Path) -> None:
    """mapreduce reads its final result: the failure stops it, the run still finishes."""
    recorder = MemoryRecorder()
    engine = Engine(build_executor("thread", max_threads=2), recorder=recorder)
    base = {"files": 6, "words_per_file": 50, "files_per_map": 1, "fan_in": 2}
    app = run_app(engine, tmp_path, base="mapreduce", base_config=base, rate=0.3, seed=0,
              kinds=["exception"])  # fmt: skip
    assert app.injections and app.base_error is not None
    injected = {i.task_id for i in app.injections}
    failed = {r.task_id for r in recorder.records if r.status == "failed"}
    assert failed and failed <= injected  # an injected task below a failure never runs
    statuses = Counter(r.status for r in recorder.records)
    assert statuses["dependency-failed"] >= 1
    assert sum(statuses.values()) == engine.submitted  # every task has its record


def test_config_validation() -> None:
    assert FailuresConfig(base="cholesky", base_config={"matrix_size": 8, "block_size": 4})
    cases = [
        ({"base": "nope"}, "unknown app 'nope'"),
        ({"base": "failures"}, "cannot wrap itself"),
        ({"base_config": {"colour": 1}}, "app 'synthetic' has no parameter 'colour'"),
        ({"base_config": {"tasks": 0}}, "app 'synthetic': tasks: Input should be greater"),
        ({"base": "cholesky", "base_config": {"matrix_size": 10, "block_size": 3}},
         "block_size 3 does not divide"),
        ({"kinds": ["exception", "gremlins"]}, "kinds.1"),
        ({"memory_mb": 100_000}, "memory_mb"),
    ]  # fmt: skip
    for params, message in cases:
        with pytest.raises(ValidationError, match=message):
            FailuresConfig(**params)


@pytest.mark.slow
def test_cli_base_config_from_json_and_toml(tmp_path: Path) -> None:
    flags = tapstrace_cli(
        "run", "failures", "--executor", "thread", "--trace", "json.arrow", "-q",
        "--app.base-config", '{"tasks": 30, "mean_seconds": 0}', "--app.rate", "0.5",
        "--app.kinds", "exception,import", cwd=tmp_path,
    )  # fmt: skip
    assert flags.returncode == 0, flags.stderr
    (tmp_path / "run.toml").write_text(
        '[app]\nname = "failures"\nrate = 0.5\nkinds = ["exception", "import"]\n'
        '[app.base_config]\ntasks = 30\nmean_seconds = 0.0\n[executor]\nname = "thread"\n'
    )
    toml = tapstrace_cli("run", "--config", "run.toml", "--trace", "toml.arrow", "-q",
                         cwd=tmp_path)  # fmt: skip
    assert toml.returncode == 0, toml.stderr
    traces = [read_trace(tmp_path / name) for name in ("json.arrow", "toml.arrow")]
    for trace in traces:
        assert trace.config["app"]["base_config"] == {"tasks": 30, "mean_seconds": 0.0}
        assert trace.metadata["app"]["params"]["base_config"] == {"tasks": 30, "mean_seconds": 0.0}
        assert trace.tasks.height == 30
    one, two = (t.tasks.sort("task_id")["error_type"].to_list() for t in traces)
    assert one == two and set(one) == {None, "InjectedException", "ModuleNotFoundError"}
    bad = tapstrace_cli("run", "failures", "--app.base-config", "{tasks: 1}", cwd=tmp_path)
    assert bad.returncode == 2 and "--app.base-config: invalid JSON" in bad.stderr
