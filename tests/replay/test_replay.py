"""Replaying plans and traces through the real engine on real executors."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tapstrace.engine import Engine, MemoryRecorder, PoolExecutor, TaskRecord
from tapstrace.errors import TraceError
from tapstrace.replay import replay
from tapstrace.replay.plan import Plan, build_plan
from tapstrace.replay.submit import submit_plan
from tapstrace.trace.reader import read_trace
from tests.conftest import build_executor
from tests.replay.conftest import make_trace, record_run, taps_records
from tests.replay.test_plan import _failing, _rows


@pytest.fixture
def threads() -> Iterator[tuple[Engine, MemoryRecorder]]:
    recorder = MemoryRecorder()
    engine = Engine(build_executor("thread", max_threads=4), recorder=recorder)
    yield engine, recorder
    engine.shutdown(wait=True, cancel_futures=True)


def _by_source(records: list[TaskRecord]) -> dict[str, TaskRecord]:
    return {r.source_id: r for r in records if r.source_id is not None}


def test_replay_keeps_dag_names_sources_and_bytes(threads: tuple[Engine, MemoryRecorder]) -> None:
    engine, recorder = threads
    plan = build_plan(make_trace(_rows()), time_scale=0.02)
    outcome = submit_plan(engine, plan)
    assert outcome.statuses == {"ok": 5} and outcome.makespan is not None
    records = _by_source(recorder.records)
    assert set(records) == {"0", "1", "2", "3", "4"}
    ids = {s: r.task_id for s, r in records.items()}
    assert sorted(records["3"].parents) == sorted([ids["1"], ids["2"]])
    assert list(records["2"].parents) == [ids["0"]]
    assert [records[s].name for s in "01234"] == ["a", "b", "c", "d", "e"]
    # inputs: parents' payloads plus the external payload, exactly as recorded
    assert [records[s].input_bytes for s in "01234"] == [100, 0, 40, 1070, 0]
    assert [records[s].output_bytes for s in "01234"] == [40, 60, 10, 0, 0]
    for s, planned in zip("01234", plan.durations, strict=True):
        r = records[s]
        assert r.ended - r.started >= planned * 0.99


@pytest.mark.slow
def test_process_pool_receives_real_payloads() -> None:
    recorder = MemoryRecorder()
    engine = Engine(build_executor("process", max_processes=2), recorder=recorder)
    try:
        plan = build_plan(make_trace(_rows()), time_scale=0.01, data_scale=1000.0)
        assert submit_plan(engine, plan).statuses == {"ok": 5}
    finally:
        engine.shutdown(wait=True)
    records = _by_source(recorder.records)
    # the worker measured the bytes it received (pickled across the pipe)
    assert records["3"].input_bytes == 1_070_000 and records["0"].input_bytes == 100_000
    assert {r.worker_host for r in recorder.records} == {records["0"].worker_host}


def test_failures_replay_as_failures(threads: tuple[Engine, MemoryRecorder]) -> None:
    engine, recorder = threads
    outcome = submit_plan(engine, build_plan(make_trace(_failing()), time_scale=0.01))
    assert outcome.statuses == {"ok": 3, "failed": 1, "dependency-failed": 1}
    records = _by_source(recorder.records)
    # the failure keeps its kind: the same error type as in the source
    assert records["2"].status == "failed" and records["2"].error_type == "ValueError"
    assert records["2"].error_message == "ValueError: boom"
    assert records["3"].status == "dependency-failed"


def test_tasks_are_not_serialised_by_levels(threads: tuple[Engine, MemoryRecorder]) -> None:
    engine, recorder = threads
    rows = [
        {"task_id": 0, "name": "long", "submitted": 0.0, "started": 0.0, "ended": 0.4},
        {"task_id": 1, "name": "short", "submitted": 0.1, "started": 0.0, "ended": 0.02},
        {"task_id": 2, "name": "after-short", "parents": [1], "submitted": 0.2,
         "started": 0.1, "ended": 0.12},
        {"task_id": 3, "name": "after-long", "parents": [0], "submitted": 0.3,
         "started": 0.5, "ended": 0.52},
    ]  # fmt: skip
    submit_plan(engine, build_plan(make_trace(rows)))
    records = _by_source(recorder.records)
    assert records["2"].ended < records["0"].ended  # level 1 ran during level 0


def test_max_in_flight_bounds_unfinished_tasks(threads: tuple[Engine, MemoryRecorder]) -> None:
    engine, recorder = threads
    rows = [{"task_id": i, "submitted": i * 0.001, "started": 0.0, "ended": 0.005}
            for i in range(40)]  # fmt: skip
    outcome = submit_plan(engine, build_plan(make_trace(rows)), max_in_flight=3)
    assert outcome.statuses == {"ok": 40}
    events = sorted(
        [(r.submitted, 1) for r in recorder.records] + [(r.received, -1) for r in recorder.records]
    )
    level = peak = 0
    for _, change in events:
        level += change
        peak = max(peak, level)
    assert peak <= 3


def _chain(n: int, size: int) -> Plan:
    rows = [{"task_id": i, "parents": [i - 1] if i else [], "submitted": float(i),
             "started": 0.0, "ended": 0.001, "output_bytes": size} for i in range(n)]  # fmt: skip
    return build_plan(make_trace(rows))


class _OtherFuture(concurrent.futures.Future):  # type: ignore[type-arg]
    """A future of another class, as Dask, Parsl and Ray return."""


class _WrappingPool(concurrent.futures.Executor):
    """A thread pool whose futures are not plain concurrent.futures.Futures (the
    adapter goes through its ``submit``, where a plain ThreadPoolExecutor gets the
    tasks on its queue)."""

    def __init__(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        self.pool = pool

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> _OtherFuture:
        inner, outer = self.pool.submit(fn, *args, **kwargs), _OtherFuture()

        def copy(done: concurrent.futures.Future) -> None:  # type: ignore[type-arg]
            exc = done.exception()
            outer.set_result(done.result()) if exc is None else outer.set_exception(exc)

        inner.add_done_callback(copy)
        return outer


@pytest.mark.parametrize("futures", ["pool", "other"])
def test_payloads_are_released_when_consumers_are_done(futures: str) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(4)
    wrapped = _WrappingPool(pool)
    executor = PoolExecutor(pool) if futures == "pool" else PoolExecutor(wrapped, local=True)
    engine = Engine(executor, recorder=MemoryRecorder())
    try:
        _check_release(engine)
    finally:
        engine.shutdown(wait=True)


def _check_release(engine: Engine) -> None:
    size, n = 4_000_000, 50  # 200 MB if every payload were kept
    chain = _chain(n, size)
    fan = build_plan(make_trace([
        {"task_id": i, "submitted": float(i), "started": 0.0, "ended": 0.001, "input_bytes": size}
        for i in range(n)
    ]))  # fmt: skip
    tracemalloc.start()
    try:
        assert submit_plan(engine, chain).statuses == {"ok": n}
        chain_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert submit_plan(engine, fan).statuses == {"ok": n}
        fan_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert chain_peak < 10 * size, chain_peak  # a few payloads alive at a time
    assert fan_peak < 2 * size, fan_peak  # external payloads are never built for threads


def test_replay_of_wfformat_names_its_source(tmp_path: Path, wf15: Path) -> None:
    result = replay(wf15, "thread", {"max_threads": 4}, time_scale=0.002, record=True,
                    runs_dir=tmp_path / "runs", traces_dir=tmp_path / "traces")  # fmt: skip
    assert result.report["statuses"] == {"ok": 5}
    trace = read_trace(result.run.trace)
    source = trace.metadata["source"]
    assert source["sha256"] == hashlib.sha256(wf15.read_bytes()).hexdigest()
    assert source["format"] == "wfformat" and source["path"] == str(wf15.resolve())
    assert (source["app"], source["executor"]) == ("test-workflow", "Pegasus")
    assert source["workers"] == 12
    assert trace.app == "replay" and trace.executor == "thread"
    rows = {r["source_id"]: r for r in trace.tasks.to_dicts()}
    assert set(rows) == {"split_ID01", "work_ID02", "work_ID03", "merge_ID04", "report_ID05"}
    assert rows["merge_ID04"]["name"] == "merge"
    assert sorted(rows["merge_ID04"]["parents"]) == sorted(
        [rows["work_ID02"]["task_id"], rows["work_ID03"]["task_id"]]
    )
    report = json.loads((result.run.run_dir / "replay.json").read_text())
    assert report["source_makespan_s"] == 21.0 and report["difference"] is None  # rescaled


def test_replay_of_taps_records(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in taps_records()))
    result = replay(path, "thread", {"max_threads": 2}, record=True, time_scale=0.1,
                    runs_dir=tmp_path / "runs", traces_dir=tmp_path / "traces")  # fmt: skip
    assert result.report["statuses"] == {"ok": 2, "failed": 1}
    trace = read_trace(result.run.trace)
    failed = trace.tasks.filter(trace.tasks["status"] == "failed").row(0, named=True)
    assert failed["source_id"].endswith("3") and failed["error_message"] == "ValueError: bad input"
    skipped = replay(path, "thread", failures="skip", runs_dir=tmp_path / "runs")
    assert skipped.report["statuses"] == {"ok": 2} and skipped.report["skipped"] == 1


def test_bad_trace_fails_before_anything_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"workflow": {"specification": {"tasks": [')
    with pytest.raises(TraceError, match=r"bad\.json: invalid WfFormat JSON"):
        replay(bad, "thread", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_fidelity_random_dag_on_the_process_pool(tmp_path: Path) -> None:
    """About 200 tasks of 20-100 ms recorded on the process pool replay within 10 %."""
    params = {"max_processes": 4}
    source = record_run(tmp_path, "process", params, structure="random", width=20, depth=10,
                        edge_probability=0.15, duration="normal", mean_seconds=0.06,
                        std_seconds=0.013, warmup_tasks=4, seed=7)  # fmt: skip
    tasks = read_trace(source).tasks
    tasks = tasks.filter(~tasks["warmup"])
    seconds = (tasks["ended"] - tasks["started"]).dt.total_microseconds() / 1e6
    # drawn from 20-100 ms; a loaded machine oversleeps, so the upper bound is loose
    assert tasks.height == 200 and seconds.min() > 0.015 and seconds.quantile(0.9) < 0.11
    differences = []
    for _ in range(2):  # one re-measurement: load from other processes is not a fidelity error
        result = replay(source, "process", params, runs_dir=tmp_path / "runs")
        assert result.report["statuses"] == {"ok": 200}
        assert result.difference is not None
        differences.append(result.difference)
        if abs(result.difference) < 0.10:
            break
    assert min(abs(d) for d in differences) < 0.10, (differences, result.report)
