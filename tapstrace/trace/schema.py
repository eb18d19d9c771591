"""The Arrow schema of a trace: one row per task attempt (docs/trace-format.md)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from tapstrace.engine.record import Row

TIME = pa.timestamp("us", tz="UTC")

#: Metadata keys in the Arrow schema (values are UTF-8 text).
KEY_SCHEMA_VERSION = b"tapstrace.schema_version"
KEY_VERSION = b"tapstrace.version"
KEY_RUN = b"tapstrace.run"  # JSON: app, executor, engine, host, packages, start time...
KEY_CONFIG = b"tapstrace.config"  # TOML: the full run config, reproduces the run
KEY_SUMMARY = b"tapstrace.summary"  # JSON, written when the trace is finalised

TIME_COLUMNS = ("submitted", "ready", "dispatched", "started", "ended", "received")

SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("task_id", pa.int64(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("parents", pa.list_(pa.int64()), nullable=False),
        pa.field("attempt", pa.int32(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error_type", pa.string()),
        pa.field("error_message", pa.string()),
        *(pa.field(name, TIME) for name in TIME_COLUMNS),
        pa.field("worker_host", pa.string()),
        pa.field("worker_pid", pa.int64()),
        pa.field("worker_id", pa.string()),
        pa.field("input_bytes", pa.int64()),
        pa.field("output_bytes", pa.int64()),
        pa.field("oob_bytes", pa.int64()),
        pa.field("transform_seconds", pa.float64()),
        pa.field("resolve_seconds", pa.float64()),
        pa.field("warmup", pa.bool_(), nullable=False),
        pa.field("source_id", pa.string()),
        # 1.1: data management (docs/data.md)
        pa.field("inband_input_bytes", pa.int64()),
        pa.field("inband_output_bytes", pa.int64()),
        pa.field("client_transform_seconds", pa.float64()),
        pa.field("client_resolve_seconds", pa.float64()),
        # 1.2: what the task did with the CPU, its payload kinds, the client's control flow
        pa.field("kind", pa.string(), nullable=False),
        pa.field("cpu_seconds", pa.float64()),
        pa.field("input_kind", pa.string()),
        pa.field("output_kind", pa.string()),
        pa.field("control_parents", pa.list_(pa.int64()), nullable=False),
        pa.field("client_seconds", pa.float64()),
        pa.field("client_busy_seconds", pa.float64()),
        pa.field("client_cpu_seconds", pa.float64()),
        pa.field("module", pa.string()),
        # 1.3: the task's run-queue wait (contention it met, apart from the CPU it used) and
        # how long the GIL was held while it ran; the module of its result's type
        pa.field("runqueue_seconds", pa.float64()),
        pa.field("gil_seconds", pa.float64()),
        pa.field("output_module", pa.string()),
        # 1.4: the task's first-use imports: their CPU time and the outermost modules
        pa.field("import_seconds", pa.float64()),
        pa.field("imported_modules", pa.list_(pa.string())),
    ]
)

#: Values of the columns a trace of an older schema lacks (``None``: null).
DEFAULTS: dict[str, object] = {"kind": "task", "control_parents": []}

_TIME_INDEX = frozenset(SCHEMA.get_field_index(name) for name in TIME_COLUMNS)


def _micros(values: Sequence[float | None]) -> pa.Array:
    seconds = pa.array(values, pa.float64())
    return pc.round(pc.multiply(seconds, 1_000_000.0)).cast(pa.int64()).cast(TIME)


def records_to_batch(records: Sequence[Row]) -> pa.RecordBatch:
    """Columnar form of records (Rows or TaskRecords), in the trace schema."""
    if not records:
        return pa.RecordBatch.from_pylist([], schema=SCHEMA)
    columns = list(zip(*records, strict=True))  # records are tuples in schema order
    arrays = [
        _micros(column) if i in _TIME_INDEX else pa.array(column, SCHEMA.field(i).type)
        for i, column in enumerate(columns)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)
