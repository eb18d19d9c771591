"""Faithful replay (schema 1.2): the client's waits and work re-enacted, failures replayed
as their kind, retries as retries; real apps record the control edges they made."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tapstrace.config.spec import EngineOptions, RunOptions, RunSpec
from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.engine.record import TaskRecord
from tapstrace.plugins import registry
from tapstrace.replay import replay
from tapstrace.replay.plan import build_plan
from tapstrace.replay.submit import submit_plan
from tapstrace.runner.run import execute
from tapstrace.trace.reader import Trace, read_trace
from tests.analysis.builders import row, write_trace
from tests.conftest import build_executor
from tests.replay.conftest import make_trace, record_run

ROUNDS = {"structure": "rounds", "width": 4, "depth": 3, "mean_seconds": 0.05,
          "client_seconds": 0.3, "client_mode": "sleep", "warmup_tasks": 0}  # fmt: skip


def _final(records: list[TaskRecord]) -> dict[str, TaskRecord]:
    return {r.source_id: r for r in records if r.source_id is not None}


def _control_by_source(path: Path) -> dict[str, set[str]]:
    """Each task's control parents, named by source task id (the source's own ids)."""
    tasks = read_trace(path, warn=False).tasks
    ids = tasks["source_id"].fill_null(tasks["task_id"].cast(pl.String)).to_list()
    by_task = dict(zip(tasks["task_id"].to_list(), ids, strict=True))
    return {
        ident: {by_task[c] for c in control}
        for ident, control in zip(ids, tasks["control_parents"].to_list(), strict=True)
    }


def test_rounds_app_records_its_waits_and_work(tmp_path: Path) -> None:
    source = record_run(tmp_path, "thread", {"max_threads": 2}, **ROUNDS)
    trace = read_trace(source)
    tasks = trace.tasks.sort("task_id")
    controlled = tasks.filter(pl.col("control_parents").list.len() > 0)
    # the first task of rounds 2 and 3 waited on every task of the round before
    assert controlled["control_parents"].list.len().to_list() == [4, 4]
    assert controlled["client_seconds"].min() >= 0.3  # the client's work after its waits
    assert trace.client["name"].to_list() == ["plan next round"] * 2


def test_replay_reenacts_the_client(tmp_path: Path) -> None:
    source = record_run(tmp_path, "thread", {"max_threads": 2}, **ROUNDS)
    kept = replay(source, "thread", {"max_threads": 2}, trace_path=tmp_path / "keep.arrow",
                  runs_dir=tmp_path / "runs", client_time="keep")  # fmt: skip
    zero = replay(source, "thread", {"max_threads": 2}, trace_path=tmp_path / "zero.arrow",
                  runs_dir=tmp_path / "runs", client_time="zero")  # fmt: skip
    assert kept.report["client_flow"] == "recorded"
    assert kept.makespan_s is not None and zero.makespan_s is not None
    assert kept.makespan_s >= 2 * 0.3  # the client's work is in the replay
    assert zero.makespan_s < kept.makespan_s - 0.4  # and only there
    # the replay's client waited on the same sets as the source's
    assert _control_by_source(tmp_path / "keep.arrow") == _control_by_source(source)


def test_replay_submits_as_long_after_its_start_as_the_source_client(tmp_path: Path) -> None:
    """The source client set up for 1.5 s before its first submission (its executor
    started meanwhile): the replay's client does too, outside the makespan, unless the
    client's time is zeroed."""
    rows = [row(i, (0.0, 0.0, 0.0, 0.0, 0.01, 0.01), name="f") for i in range(2)]
    source = tmp_path / "source.arrow"
    write_trace(source, rows, started_at=-1.5)
    assert build_plan(read_trace(source)).lead == pytest.approx(1.5)
    assert build_plan(read_trace(source), time_scale=2.0).lead == pytest.approx(3.0)
    assert build_plan(read_trace(source), client_time="zero").lead == 0
    for client_time, at_least, below in (("keep", 1.5, None), ("zero", 0.0, 1.5)):
        path = tmp_path / f"{client_time}.arrow"
        result = replay(source, "thread", {"max_threads": 1}, trace_path=path,
                        runs_dir=tmp_path / "runs", client_time=client_time)  # fmt: skip
        replayed = read_trace(path)
        begun = datetime.fromisoformat(replayed.metadata["started_at"])
        lead = (replayed.tasks["submitted"].min() - begun).total_seconds()
        assert lead >= at_least and (below is None or lead < below)
        assert result.makespan_s is not None and result.makespan_s < 1.0


def _failing_rows() -> list[dict[str, Any]]:
    return [
        {"task_id": 0, "submitted": 0.0, "started": 0.0, "ended": 0.2, "status": "failed",
         "error_type": "InjectedTimeout", "error_message": "hung"},
        {"task_id": 1, "submitted": 0.0, "started": 0.0, "ended": 0.01, "status": "failed",
         "error_type": "InjectedMemoryError", "error_message": "too big"},
        {"task_id": 2, "attempt": 1, "submitted": 0.0, "started": 0.0, "ended": 0.01,
         "status": "failed", "error_type": "InjectedException", "error_message": "first"},
        {"task_id": 2, "attempt": 2, "submitted": 0.0, "started": 0.02, "ended": 0.03},
        {"task_id": 3, "submitted": 0.0, "started": 0.0, "ended": 0.01, "parents": [2]},
    ]  # fmt: skip


def test_failures_replay_as_their_kind_and_retries_as_retries() -> None:
    recorder = MemoryRecorder()
    with Engine(build_executor("thread", max_threads=2), recorder=recorder) as engine:
        outcome = submit_plan(engine, build_plan(make_trace(_failing_rows())))
    assert outcome.statuses == {"failed": 2, "ok": 2}
    final = _final(recorder.records)
    assert final["0"].error_type == "InjectedTimeout"
    assert final["0"].ended - final["0"].started >= 0.2  # it hung as long as in the source
    assert final["1"].error_type == "InjectedMemoryError"
    attempts = sorted((r.attempt, r.status, r.error_type) for r in recorder.records
                      if r.source_id == "2")  # fmt: skip
    assert attempts == [(1, "failed", "InjectedException"), (2, "ok", None)]
    assert final["3"].status == "ok"


@pytest.mark.slow
def test_a_dead_worker_replays_as_a_dead_worker() -> None:
    rows = [{"task_id": 0, "submitted": 0.0, "started": 0.0, "ended": 0.01, "status": "failed",
             "error_type": "BrokenProcessPool", "error_message": "a worker died"}]  # fmt: skip
    recorder = MemoryRecorder()
    with Engine(build_executor("process", max_processes=1), recorder=recorder) as engine:
        submit_plan(engine, build_plan(make_trace(rows)))
    assert _final(recorder.records)["0"].error_type == "BrokenProcessPool"
    # on threads the worker is the client: the same kind of error, no exit
    recorder = MemoryRecorder()
    with Engine(build_executor("thread", max_threads=1), recorder=recorder) as engine:
        submit_plan(engine, build_plan(make_trace(rows)))
    assert _final(recorder.records)["0"].error_type == "BrokenProcessPool"


@pytest.mark.parametrize(
    ("app", "params"),
    [("cholesky", {"matrix_size": 256, "block_size": 64}),
     ("mapreduce", {"files": 8, "words_per_file": 200})],
)  # fmt: skip
def test_apps_that_never_wait_mid_run_record_no_control_edges(
    tmp_path: Path, app: str, params: dict[str, Any]
) -> None:
    """cholesky and mapreduce submit their whole graph before reading any result: no task
    has a control parent, although the engine resolves many data parents."""
    trace_path = tmp_path / f"{app}.arrow"
    spec = RunSpec(
        app=registry.get("app", app)(**params),  # type: ignore[arg-type]
        executor=registry.get("executor", "thread")(max_threads=2),  # type: ignore[arg-type]
        engine=EngineOptions(),
        run=RunOptions(record=True, trace=trace_path, runs_dir=tmp_path / "runs"),
    )
    execute(spec)
    tasks = read_trace(trace_path).tasks
    assert tasks.height > 5 and tasks["parents"].list.len().sum() > 0
    assert tasks["control_parents"].list.len().sum() == 0


def test_inferred_waits_match_the_recorded_ones(tmp_path: Path) -> None:
    """Without its recorded flow, the client's waits of the rounds app are inferred from
    submit and receive times: the same control parents, and at least the client time."""
    source = read_trace(record_run(tmp_path, "thread", {"max_threads": 2}, **ROUNDS))
    recorded = build_plan(source)
    blank = source.tasks.with_columns(
        pl.lit(None, pl.Float64).alias(c)
        for c in ("client_seconds", "client_busy_seconds", "client_cpu_seconds")
    ).with_columns(pl.lit([], pl.List(pl.Int64)).alias("control_parents"))
    stripped = Trace(tasks=blank, metadata=source.metadata, path=source.path)
    assert build_plan(stripped).flow == "absent"
    inferred = build_plan(stripped, client_flow="infer")
    assert recorded.flow == "recorded" and inferred.flow == "inferred"
    assert inferred.control == recorded.control
    waits = [i for i, c in enumerate(recorded.control) if c]
    assert all(inferred.client[i] >= 0.3 for i in waits)
    assert build_plan(source, client_flow="none").flow == "absent"
