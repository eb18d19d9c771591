"""Small traces with known timestamps, written as real Arrow trace files.

Times are given in seconds after T0 and stored as the trace schema stores them
(microseconds, UTC), so tests compare metrics with answers computed by hand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from tapstrace.trace import Trace, read_trace
from tapstrace.trace.schema import KEY_RUN, KEY_SCHEMA_VERSION, SCHEMA, TIME_COLUMNS

T0 = 1_700_000_000.0

DEFAULTS: dict[str, Any] = {
    "run_id": "test",
    "name": "f",
    "parents": [],
    "attempt": 1,
    "status": "ok",
    "warmup": False,
    "kind": "task",
    "control_parents": [],
}


def row(
    task_id: int,
    times: tuple[float | None, ...],
    *,
    worker: str | None = "w1",
    **fields: Any,
) -> dict[str, Any]:
    """One attempt: ``times`` = (submitted, ready, dispatched, started, ended, received)."""
    return {
        "task_id": task_id,
        **dict(zip(TIME_COLUMNS, times, strict=True)),
        "worker_id": worker,
        **fields,
    }


def write_trace(
    path: Path,
    rows: list[dict[str, Any]],
    *,
    app: str | None = "demo",
    executor: str | None = "thread",
    workers: int | None = 2,
    client: bool = False,
    started_at: float | None = None,
) -> Trace:
    """Write ``rows`` as a trace file at ``path`` and read it back; with ``client``, the
    file says schema 1.2 (the client's columns hold what the rows give, else nulls).
    ``started_at``: when the run started, in seconds after T0."""
    fields = list(SCHEMA)
    columns: dict[str, list[Any]] = {f.name: [] for f in fields}
    for given in rows:
        full = {**DEFAULTS, **given}
        for name in columns:
            value = full.get(name)
            if name in TIME_COLUMNS and value is not None:
                value = round((T0 + value) * 1_000_000)
            columns[name].append(value)
    arrays = [
        pa.array(columns[f.name], pa.int64()).cast(f.type)
        if f.name in TIME_COLUMNS
        else pa.array(columns[f.name], f.type)
        for f in fields
    ]
    run: dict[str, Any] = {"run_id": "test"}
    if app is not None:
        run["app"] = {"name": app, "params": {}}
    if executor is not None:
        run["executor"] = {"name": executor, "params": {}}
    if workers is not None:
        run["workers"] = workers
    if started_at is not None:
        run["started_at"] = datetime.fromtimestamp(T0 + started_at, UTC).isoformat()
    metadata = {KEY_RUN: json.dumps(run).encode()}
    if client:
        metadata[KEY_SCHEMA_VERSION] = b"1.2"
    schema = pa.schema(fields).with_metadata(metadata)
    table = pa.Table.from_arrays(arrays, schema=schema)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(table)
    return read_trace(path)


def client_rows() -> list[dict[str, Any]]:
    """A client that waits (answers in test_breakdown.py), in schema 1.2.

    Task 1 runs; the client waits for it (result() at 1.3), works 0.5 s in a phase
    "train" and submits task 2 at 1.8 (control parent 1), then task 3 at 1.81, a data
    child of task 2. Two workers.
    """
    return [
        row(1, (0, 0, 0.1, 0.2, 1.2, 1.3), name="a", client_seconds=0.0,
            client_busy_seconds=0.0, client_cpu_seconds=0.0, cpu_seconds=0.9),
        row(2, (1.8, 1.8, 1.85, 1.9, 2.9, 3.0), name="b", control_parents=[1],
            client_seconds=0.5, client_busy_seconds=0.55, client_cpu_seconds=0.4),
        row(3, (1.81, 3.05, 3.1, 3.2, 4.0, 4.2), name="c", parents=[2],
            client_seconds=0.01, client_busy_seconds=0.01, client_cpu_seconds=0.01),
        row(100, (1.3, None, None, None, None, 1.75), name="train", kind="client",
            worker=None),
    ]  # fmt: skip


def reference_rows() -> list[dict[str, Any]]:
    """The reference DAG of the metric tests (answers in test_metrics.py).

    1 (a) -> 2 (b), 3 (b) -> 4 (c); 5 (d) is independent and fails once, then succeeds;
    0 is a warm-up task before everything. Workers w1 and w2.
    """
    return [
        row(0, (-1.0, -1.0, -0.9, -0.8, -0.7, -0.6), name="warm", warmup=True,
            input_bytes=0, output_bytes=0),
        row(1, (0, 0, 0.1, 0.2, 1.2, 1.3), name="a", input_bytes=0, output_bytes=100),
        row(2, (0, 1.4, 1.5, 1.7, 3.7, 3.9), name="b", parents=[1],
            input_bytes=100, output_bytes=50),
        row(3, (0, 1.35, 1.4, 1.5, 2.0, 2.1), name="b", parents=[1], worker="w2",
            input_bytes=100, output_bytes=10),
        row(4, (0, 4.0, 4.0, 4.3, 5.3, 5.5), name="c", parents=[2, 3], worker="w2",
            input_bytes=60, output_bytes=5),
        row(5, (0, 0, 0.0, 0.1, 0.3, 0.4), name="d", worker="w2", status="failed",
            error_type="ValueError", error_message="boom", input_bytes=0),
        row(5, (0, 0, 0.5, 0.6, 0.9, 1.0), name="d", worker="w2", attempt=2,
            input_bytes=0, output_bytes=1),
    ]  # fmt: skip
