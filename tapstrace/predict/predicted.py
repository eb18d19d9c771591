"""A simulated schedule as a trace in the normal schema, so every analysis, the report
and ``tapstrace show`` work on predictions as on real runs.

Each task becomes one row (its failed attempts folded into it) with the times the
engine would have recorded; the worker is the simulated slot (``slot-K`` on host
``predicted``). The run metadata says it is a prediction: ``predicted`` holds the
model, the workers, the sampled makespans and the source trace; the executor's name is
the model's with ``-predicted`` appended, so comparisons show it beside real runs.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from tapstrace.predict.model import ExecutorModel
from tapstrace.predict.prediction import Prediction
from tapstrace.predict.simulate import DEPENDENCY_FAILED, FAILED
from tapstrace.predict.workload import Workload
from tapstrace.trace import schema as trace_schema
from tapstrace.trace.reader import Trace

_STATUS = np.array(["ok", "failed", "dependency-failed"])


def _times(values: np.ndarray, origin: float) -> pa.Array:
    micros = np.rint((values + origin) * 1e6)
    mask = ~np.isfinite(micros)
    return pa.array(np.where(mask, 0, micros).astype(np.int64), mask=mask).cast(trace_schema.TIME)


def _lists(lists: list[list[int]]) -> pa.Array:
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = np.fromiter((v for x in lists for v in x), dtype=np.int64, count=int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))


def predicted_trace(
    workload: Workload,
    prediction: Prediction,
    model: ExecutorModel,
    *,
    source: dict[str, Any] | None = None,
    origin: float | None = None,
) -> Trace:
    """The median run of ``prediction`` as a Trace (times from ``origin``, default now)."""
    s = prediction.schedule
    n = len(workload)
    t0 = time.time() if origin is None else origin
    run_id = "predicted-" + uuid.uuid4().hex[:8]
    status = _STATUS[s.status]
    failed = s.status == FAILED
    dead = s.status == DEPENDENCY_FAILED
    error_type = [
        "ReplayedFailure" if f else "DependencyError" if d else None
        for f, d in zip(failed.tolist(), dead.tolist(), strict=True)
    ]
    warm = np.zeros(n, dtype=bool)
    warm[: workload.warmup] = True
    ran = s.slot >= 0
    slots = [f"slot-{k}" if k >= 0 else None for k in s.slot.tolist()]
    columns: dict[str, Any] = {
        "run_id": pa.array(np.full(n, run_id)),
        "task_id": pa.array(np.arange(n, dtype=np.int64)),
        "name": pa.array(workload.names, pa.string()),
        "parents": _lists(workload.parents),
        "attempt": pa.array(np.ones(n, dtype=np.int32)),
        "status": pa.array(status.tolist(), pa.string()),
        "error_type": pa.array(error_type, pa.string()),
        "submitted": _times(s.submitted, t0),
        "ready": _times(s.ready, t0),
        "dispatched": _times(s.dispatched, t0),
        "started": _times(s.started, t0),
        "ended": _times(np.where(ran, s.ended, np.nan), t0),
        "received": _times(s.received, t0),
        "worker_host": pa.array(["predicted" if r else None for r in ran.tolist()], pa.string()),
        "worker_id": pa.array(slots, pa.string()),
        "input_bytes": pa.array(workload.inputs),
        "output_bytes": pa.array(np.where(s.status == 0, workload.outputs, 0)),
        "warmup": pa.array(warm),
        "source_id": pa.array(workload.source_ids, pa.string()),
        "kind": pa.array(np.full(n, "task")),
        "control_parents": _lists(workload.control),
    }
    if workload.flow != "absent":
        columns["client_seconds"] = pa.array(workload.client)
        columns["client_busy_seconds"] = pa.array(workload.busy)
    defaults: dict[str, Any] = getattr(trace_schema, "DEFAULTS", {})
    arrays = []
    for field in trace_schema.SCHEMA:
        if field.name in columns:
            arrays.append(columns[field.name].cast(field.type))
        elif field.name in defaults:
            arrays.append(pa.array([defaults[field.name]] * n, field.type))
        else:
            arrays.append(pa.nulls(n, field.type))
    table = pa.Table.from_arrays(arrays, schema=trace_schema.SCHEMA)
    low, high = prediction.interval
    metadata = {
        "run_id": run_id,
        "app": {"name": (source or {}).get("app") or "predicted", "params": {}},
        "executor": {"name": f"{model.executor}-predicted", "params": model.params},
        "workers": prediction.workers,
        "predicted": {
            "model": model.label(),
            "model_source": model.source,
            "workers": prediction.workers,
            "makespan_s": prediction.makespan,
            "makespan_interval_s": [low, high],
            "samples": prediction.makespans,
            "warm": prediction.facts.get("warm", False),
            "flow": workload.flow,
        },
        "source": source or workload.facts,
    }
    return Trace(tasks=pl.from_arrow(table), metadata=metadata, config={})  # type: ignore[arg-type]
