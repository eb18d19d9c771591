"""Synthetic traces of any size, for exercising analyses (benchmarks, tests, demos).

A random layered DAG (``width`` tasks per layer, each with a few parents in the layer
above) scheduled on ``width`` worker slots with realistic timestamps: lognormal task
durations and payloads, exponential engine / queueing / launch / return overheads, launch
growing with input bytes. Built with numpy one layer at a time and written straight in
the trace schema (tapstrace.trace.schema.SCHEMA), so a million tasks take seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from tapstrace.trace.schema import DEFAULTS, KEY_RUN, KEY_SCHEMA_VERSION, SCHEMA, TIME
from tapstrace.version import TRACE_SCHEMA_VERSION

T0_US = 1_700_000_000_000_000  # the first submission, microseconds since the epoch
FUNCTIONS = ("load", "transform", "simulate", "reduce", "write")


def layered_trace(
    tasks: int,
    *,
    width: int = 1000,
    max_parents: int = 4,
    mean_seconds: float = 1.0,
    mean_bytes: float = 10_000,
    bandwidth: float = 1e9,
    seed: int = 0,
    executor: str = "synthetic",
) -> pa.Table:
    """A trace table of ``tasks`` tasks in layers of ``width`` (one row per task)."""
    rng = np.random.default_rng(seed)
    n = tasks
    width = max(1, min(width, n))
    layer = np.arange(n) // width
    slot = np.arange(n) % width
    # Parents: 1..max_parents consecutive slots (mod the layer's width) of the layer above.
    counts = np.where(layer > 0, rng.integers(1, max_parents + 1, n), 0)
    counts = np.minimum(counts, width)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    child = np.repeat(np.arange(n), counts)
    rank = np.arange(child.size) - offsets[child]
    base = rng.integers(0, width, n)[child]
    above = (layer[child] - 1) * width
    above_width = np.minimum(width, n - above)
    parent = above + (base + rank) % above_width
    duration = rng.lognormal(np.log(mean_seconds) - 0.125, 0.5, n)
    output = np.rint(rng.lognormal(np.log(mean_bytes) - 0.5, 1.0, n)).astype(np.int64)
    input_bytes = np.bincount(child, weights=output[parent], minlength=n).astype(np.int64)
    submitted = T0_US / 1e6 + np.arange(n) * 1e-5
    engine = rng.exponential(50e-6, n)
    queueing = rng.exponential(20e-6, n)
    launch = rng.exponential(1e-3, n) + input_bytes / bandwidth
    back = rng.exponential(0.5e-3, n) + output / bandwidth
    ready = submitted.copy()
    dispatched = np.empty(n)
    started = np.empty(n)
    ended = np.empty(n)
    received = np.empty(n)
    free = np.full(width, submitted[0])  # when each worker slot is next free
    for level in range(int(layer[-1]) + 1):
        rows = slice(level * width, min((level + 1) * width, n))
        if level:
            edges = slice(offsets[rows.start], offsets[rows.stop])
            latest = np.full(rows.stop - rows.start, -np.inf)
            np.maximum.at(latest, child[edges] - rows.start, received[parent[edges]])
            ready[rows] = np.maximum(submitted[rows], latest + engine[rows])
        dispatched[rows] = ready[rows] + queueing[rows]
        slots = slot[rows]
        started[rows] = np.maximum(dispatched[rows] + launch[rows], free[slots])
        ended[rows] = started[rows] + duration[rows]
        received[rows] = ended[rows] + back[rows]
        free[slots] = ended[rows]
    workers = np.array([f"node{w // 64}:{10_000 + w}" for w in range(width)])
    names = np.array(FUNCTIONS)

    def times(values: np.ndarray) -> pa.Array:
        return pa.array(np.rint(values * 1e6).astype(np.int64)).cast(TIME)

    def strings(values: np.ndarray, index: np.ndarray) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(index), pa.array(values)).cast(pa.string())

    columns = {
        "run_id": pa.array(np.full(n, "synthetic")).cast(pa.string()),
        "task_id": pa.array(np.arange(n, dtype=np.int64)),
        "name": strings(names, layer % len(names)),
        "parents": pa.ListArray.from_arrays(pa.array(offsets), pa.array(parent.astype(np.int64))),
        "attempt": pa.array(np.ones(n, np.int32)),
        "status": pa.array(np.full(n, "ok")).cast(pa.string()),
        "submitted": times(submitted),
        "ready": times(ready),
        "dispatched": times(dispatched),
        "started": times(started),
        "ended": times(ended),
        "received": times(received),
        "worker_host": strings(np.array([w.split(":")[0] for w in workers]), slot),
        "worker_pid": pa.array(10_000 + slot.astype(np.int64)),
        "worker_id": strings(workers, slot),
        "input_bytes": pa.array(input_bytes),
        "output_bytes": pa.array(output),
        "oob_bytes": pa.array(np.zeros(n, np.int64)),
        "warmup": pa.array(np.zeros(n, bool)),
    }
    for f in SCHEMA:  # what a synthetic run does not know stays null (or its default)
        if f.name not in columns:
            default = DEFAULTS.get(f.name)
            columns[f.name] = (
                pa.nulls(n, f.type) if default is None else pa.array([default] * n, f.type)
            )
    run = {
        "run_id": "synthetic",
        "app": {"name": "layered", "params": {"tasks": n, "width": width, "seed": seed}},
        "executor": {"name": executor, "params": {}},
        "workers": width,
    }
    schema = SCHEMA.with_metadata(
        {KEY_SCHEMA_VERSION: TRACE_SCHEMA_VERSION.encode(), KEY_RUN: json.dumps(run).encode()}
    )
    return pa.Table.from_pydict(columns, schema=schema)


def write_trace(table: pa.Table, path: str | Path) -> Path:
    """Write a trace table as an Arrow IPC file (what ``tapstrace run`` leaves)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=65_536)
    return target
