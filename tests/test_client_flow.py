"""The client's control flow (schema 1.2): which results the client waited on before each
submission, its client time, client phases; and what the worker records of each task
(CPU time, payload kinds). On real thread and process pools."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.engine.record import TaskRecord
from tapstrace.engine.sizes import kind_of
from tapstrace.replay.task import occupy
from tapstrace.trace.reader import read_trace
from tapstrace.trace.writer import TraceWriter
from tests.conftest import build_executor
from tests.tasks import add, identity, sleep


def _spin(seconds: float) -> float:
    occupy(seconds, "spin")
    return seconds


def _by_id(recorder: MemoryRecorder) -> dict[int, TaskRecord]:
    return {r.task_id: r for r in recorder.records}


def test_each_blocking_call_makes_control_parents(engine: Engine, recorder: MemoryRecorder) -> None:
    a = engine.submit(sleep, 0.05)
    b = engine.submit(sleep, 0.01)
    a.result()  # one result
    c = engine.submit(add, 1, 2)  # the client saw a: a is c's control parent
    engine.wait([b, c])  # a set
    d = engine.submit(identity, 4)
    e, f = engine.submit(identity, 5), engine.submit(identity, 6)
    for future in engine.as_completed([e, f]):  # one at a time
        future.result()
    g = engine.submit(identity, 7)
    h = engine.submit(identity, 8)
    concurrent.futures.wait([h])  # the stdlib's wait, through the futures' waiters
    i = engine.submit(identity, 9)
    listed = list(engine.map(identity, [1, 2]))  # map: each result read in order
    j = engine.submit(identity, listed)
    engine.shutdown()
    records = _by_id(recorder)
    control = {r.task_id: set(r.control_parents) for r in records.values()}
    assert control[a.task_id] == control[b.task_id] == set()
    assert control[c.task_id] == {a.task_id}
    assert control[d.task_id] == {b.task_id, c.task_id}
    assert control[e.task_id] == control[f.task_id] == set()
    assert control[g.task_id] == {e.task_id, f.task_id}
    assert control[i.task_id] == {h.task_id}
    assert len(control[j.task_id]) == 2  # the two map tasks
    # only the first observation counts: d's parents are not observed again
    assert sum(len(v) for v in control.values()) == 1 + 2 + 2 + 1 + 2


def test_engine_internals_are_not_client_waits(engine: Engine, recorder: MemoryRecorder) -> None:
    """Data parents resolved by the engine (also ones already done at submission)
    never look like client waits."""
    a = engine.submit(identity, 1)
    time.sleep(0.3)  # a is done before its child is submitted: callbacks run at once
    b = engine.submit(add, a, 1)
    c = engine.submit(add, b, a)
    engine.wait([c])
    engine.shutdown()
    assert all(r.control_parents == () for r in recorder.records)


def test_client_time_and_cpu_are_recorded(engine: Engine, recorder: MemoryRecorder) -> None:
    a = engine.submit(sleep, 1.5)
    time.sleep(0.15)  # client work before its wait (sleeping: no CPU)
    a.result()  # blocked for more than a second
    occupy(0.2, "spin")  # client work after its wait (busy CPU)
    b = engine.submit(identity, 1)
    engine.shutdown()
    record = _by_id(recorder)[b.task_id]
    assert record.control_parents == (a.task_id,)
    assert 0.2 <= record.client_seconds < 1.0  # after the wait only
    # both pieces of work, not the blocked time between them
    assert record.client_busy_seconds - record.client_seconds >= 0.15
    assert record.client_busy_seconds < 1.2
    assert 0 < record.client_cpu_seconds <= record.client_busy_seconds


def test_submissions_from_other_threads_carry_no_client_flow(recorder: MemoryRecorder) -> None:
    with Engine(build_executor("thread", max_threads=2), recorder=recorder) as engine:
        first = engine.submit(identity, 0)  # the client thread is this one
        first.result()
        box: list[int] = []
        thread = threading.Thread(target=lambda: box.append(engine.submit(identity, 1).task_id))
        thread.start()
        thread.join()
    other = _by_id(recorder)[box[0]]
    assert other.control_parents == () and other.client_seconds is None


def test_worker_records_cpu_time_and_payload_kinds(
    engine: Engine, recorder: MemoryRecorder
) -> None:
    spin, nap = engine.submit(_spin, 0.5), engine.submit(sleep, 0.5)
    array = engine.submit(identity, np.zeros(1000))
    objects = engine.submit(identity, [1.5] * 100)
    engine.wait([spin, nap, array, objects])
    engine.shutdown()
    records = _by_id(recorder)
    spun, slept = records[spin.task_id].cpu_seconds, records[nap.task_id].cpu_seconds
    assert spun >= 0.05 and slept < 0.05 and spun > 5 * slept  # even on a shared machine
    assert (records[array.task_id].input_kind, records[array.task_id].output_kind) == (
        "array",
        "array",
    )
    assert records[objects.task_id].output_kind == "object"
    assert records[nap.task_id].module == "tests.tasks"


def test_kind_of() -> None:
    assert kind_of(b"x") == kind_of("text") == "bytes"
    assert kind_of(np.ones(3)) == kind_of([np.ones(2), np.ones(2)]) == "array"
    assert kind_of(3) == kind_of([b"x", 1]) == kind_of({"a": [1.0]}) == "object"
    assert kind_of({"a": 1.0}) == kind_of(Counter("words")) == kind_of({}) == "mapping"
    assert kind_of({"a": np.ones(2)}) == "array"
    assert kind_of(None) == "none"


def test_client_phases_are_rows_of_their_own(tmp_path: Path) -> None:
    path = tmp_path / "t.arrow"
    writer = TraceWriter(path)
    with Engine(build_executor("thread", max_threads=2), recorder=writer) as engine:
        a = engine.submit(identity, 1)
        a.result()
        with engine.client_phase("train surrogate"):
            time.sleep(0.1)
        engine.submit(identity, 2).result()
    writer.close()
    trace = read_trace(path)
    assert trace.tasks["kind"].unique().to_list() == ["task"] and trace.tasks.height == 2
    assert trace.client["name"].to_list() == ["train surrogate"]
    phase = trace.client.row(0, named=True)
    assert (phase["ended"] - phase["started"]).total_seconds() >= 0.1
    assert trace.tasks.filter(pl.col("task_id") == 2)["control_parents"].to_list() == [[0]]


def test_older_traces_read_with_the_current_columns() -> None:
    old = read_trace(Path(__file__).parent / "fixtures" / "schema-1.0.arrow")
    assert old.schema_version == "1.0"
    assert old.tasks.columns == read_trace_columns()
    assert old.tasks["kind"].unique().to_list() == ["task"]
    assert old.tasks["control_parents"].list.len().sum() == 0
    assert old.tasks["cpu_seconds"].null_count() == old.tasks.height
    assert old.client.height == 0


def read_trace_columns() -> list[str]:
    from tapstrace.trace.schema import SCHEMA

    return SCHEMA.names
