"""Checks shared by the remote-executor tests: the same graphs, failures and payloads as
on the local pools, judged by the records the engine wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from tapstrace.apps.synthetic import SyntheticConfig
from tapstrace.config.spec import EngineOptions, RunOptions, RunSpec
from tapstrace.engine import Engine, MemoryRecorder, Status, TaskRecord
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.runner.run import execute
from tapstrace.trace import Trace, read_trace
from tests.tasks import add, fail, identity

MB = 1_000_000


def by_task(recorder: MemoryRecorder) -> dict[int, TaskRecord]:
    """Last record of each task."""
    return {r.task_id: r for r in recorder.records}


def check_diamond(engine: Engine, recorder: MemoryRecorder) -> None:
    """A diamond of four tasks: values flow, edges and worker facts are recorded."""
    a = engine.submit(add, 1, 2)
    b = engine.submit(add, a, 1)
    c = engine.submit(add, a, 2)
    d = engine.submit(add, b, c)
    assert d.result(timeout=120) == 9
    engine.shutdown()
    records = by_task(recorder)
    assert len(recorder.records) == 4
    assert {t: sorted(r.parents) for t, r in records.items()} == {
        a.task_id: [],
        b.task_id: [a.task_id],
        c.task_id: [a.task_id],
        d.task_id: sorted([b.task_id, c.task_id]),
    }
    for r in records.values():
        assert r.status == Status.OK, r
        assert r.submitted <= r.ready <= r.dispatched <= r.received  # type: ignore[operator]
        assert r.started is not None and r.ended is not None and r.started <= r.ended
        assert r.worker_host and r.worker_pid and r.worker_id
        assert r.input_bytes == 16 and r.output_bytes == 8


def check_failure(engine: Engine, recorder: MemoryRecorder) -> None:
    """A failing task is recorded failed with its error and the worker's report."""
    bad = engine.submit(fail, "remote boom")
    child = engine.submit(identity, bad)
    error = bad.exception(timeout=120)
    assert isinstance(error, ValueError) and str(error) == "remote boom"
    assert child.exception(timeout=60) is not None
    engine.shutdown()
    records = by_task(recorder)
    assert len(recorder.records) == 2
    failed = records[bad.task_id]
    assert failed.status == Status.FAILED
    assert (failed.error_type, failed.error_message) == ("ValueError", "remote boom")
    assert failed.started is not None and failed.worker_id  # the report came back
    assert records[child.task_id].status == Status.DEPENDENCY_FAILED


def check_payload(engine: Engine, recorder: MemoryRecorder) -> None:
    """1 MB passes from a task to its dependent (through the client: no native deps)."""
    parent = engine.submit(identity, bytes(MB))
    child = engine.submit(len, parent)
    assert child.result(timeout=120) == MB
    engine.shutdown()
    records = by_task(recorder)
    assert records[parent.task_id].output_bytes == MB
    assert records[child.task_id].input_bytes == MB
    assert records[child.task_id].parents == (parent.task_id,)


def run_synthetic(executor: ExecutorConfig, tmp_path: Path, name: str, **app: Any) -> Trace:
    """Run the synthetic app through the runner; return the trace it wrote."""
    trace = tmp_path / f"{name}.arrow"
    spec = RunSpec(
        app=SyntheticConfig(**app),
        executor=executor,
        engine=EngineOptions(),
        run=RunOptions(record=True, trace=trace, runs_dir=tmp_path / "runs"),
    )
    result = execute(spec)
    assert result.failed == 0, result.records
    return read_trace(trace)


def graph(trace: Trace) -> pl.DataFrame:
    """The DAG a trace holds: one row per task, sorted."""
    return trace.tasks.select("task_id", "name", "parents").sort("task_id")
