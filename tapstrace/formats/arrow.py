"""tapstrace's own Arrow trace files: writing any Trace as one, and the checks a file's
table and run facts pass when it is read (tapstrace.trace.reader calls them), so a
damaged or foreign file is a one-line error rather than a traceback later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from tapstrace.errors import TraceError
from tapstrace.formats.validation import MAX_UNIX_SECONDS, NonNegative, problem
from tapstrace.trace.reader import Trace, upgrade
from tapstrace.trace.schema import (
    KEY_CONFIG,
    KEY_RUN,
    KEY_SCHEMA_VERSION,
    KEY_SUMMARY,
    KEY_VERSION,
    SCHEMA,
    TIME_COLUMNS,
)
from tapstrace.version import TRACE_SCHEMA_VERSION, __version__

_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


def toml_ready(value: Any) -> Any:
    """TOML has no null: drop None values, recursively."""
    if isinstance(value, dict):
        return {str(k): toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [toml_ready(v) for v in value if v is not None]
    return value


def write_arrow(trace: Trace, path: Path) -> None:
    """Write ``trace`` (its tasks and client phases) to ``path`` as an Arrow IPC file in
    the trace schema (columns an older trace lacks get their defaults)."""
    rows = trace.tasks if trace.client.is_empty() else pl.concat([trace.tasks, trace.client])
    table = upgrade(rows.to_arrow()).select(SCHEMA.names).cast(SCHEMA)
    summary = {**trace.summary, "complete": True, "rows": table.num_rows}
    if trace.path is not None:
        summary.setdefault("converted_from", str(trace.path))
    metadata = {
        KEY_SCHEMA_VERSION: TRACE_SCHEMA_VERSION.encode(),
        KEY_VERSION: __version__.encode(),
        KEY_RUN: json.dumps(trace.metadata, default=str).encode(),
        KEY_CONFIG: tomli_w.dumps(toml_ready(trace.config)).encode(),
        KEY_SUMMARY: json.dumps(summary, default=str).encode(),
    }
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, SCHEMA.with_metadata(metadata), options=_OPTIONS) as writer,
    ):
        writer.write_table(table, max_chunksize=65_536)


# -- reading: checks on a trace file's table and run facts ------------------------------

#: Columns every trace has had since schema 1.0 (later versions add columns after these).
REQUIRED = tuple(SCHEMA.names[: SCHEMA.get_field_index("inband_input_bytes")])
#: Columns that may not hold nulls.
NOT_NULL = tuple(f.name for f in SCHEMA if not f.nullable)
_TIME_RANGE = (0, round(MAX_UNIX_SECONDS * 1_000_000))


class _Plugin(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=4096)]
    params: dict[str, Any] | None = None


class RunFacts(BaseModel):
    """The run facts (``tapstrace.run`` metadata) that tapstrace itself reads back."""

    model_config = ConfigDict(extra="allow")

    run_id: Annotated[str, StringConstraints(strict=True, max_length=4096)] | None = None
    app: _Plugin | None = None
    executor: _Plugin | None = None
    workers: Annotated[int, Field(strict=True, ge=0, le=1 << 40)] | None = None
    workers_from: Annotated[str, StringConstraints(strict=True)] | None = None
    makespan_s: NonNegative | None = None
    timing: dict[str, Any] | None = None
    external_input_bytes: dict[str, Annotated[int, Field(strict=True, ge=0)]] | None = None
    dropped_parents: Annotated[int, Field(strict=True, ge=0)] | None = None
    warmup_rule: Annotated[str, StringConstraints(strict=True)] | None = None
    source_format: Annotated[str, StringConstraints(strict=True)] | None = None


def check_run_facts(path: Path, facts: Any) -> dict[str, Any]:
    """The run facts of a trace file, checked where tapstrace reads them."""
    if not isinstance(facts, dict):
        raise TraceError(f"{path}: run metadata is not a JSON object")
    try:
        RunFacts.model_validate(facts)
    except ValidationError as exc:
        raise TraceError(f"{path}: run metadata: {problem(exc, facts)}") from None
    return facts


def check_table(path: Path, table: pa.Table) -> pa.Table:
    """A trace file's table, checked: valid Arrow data, every column since schema 1.0 there
    with its type (a compatible type is cast), no nulls where the schema forbids them,
    times from 1970 to 9999. A problem raises a TraceError naming the column."""
    try:
        table.validate(full=True)
    except (pa.ArrowException, ValueError) as exc:
        raise TraceError(f"{path}: damaged Arrow data ({str(exc).splitlines()[0]})") from None
    missing = [name for name in REQUIRED if name not in table.column_names]
    if missing:
        raise TraceError(f"{path}: not a tapstrace trace: no column {missing[0]!r}")
    for name in table.column_names:
        index = SCHEMA.get_field_index(name)
        if index < 0:
            continue
        expected = SCHEMA.field(index)
        column = table.column(name)
        if column.type != expected.type:
            try:
                column = column.cast(expected.type)
            except (pa.ArrowException, ValueError):
                raise TraceError(
                    f"{path}: column {name!r} holds {column.type}, not {expected.type}"
                ) from None
            table = table.set_column(table.column_names.index(name), expected, column)
        if name in NOT_NULL and column.null_count:
            raise TraceError(f"{path}: column {name!r} has {column.null_count} missing values")
        if name == "parents" and pc.list_flatten(column).null_count:
            raise TraceError(f"{path}: column 'parents' holds missing task ids")
        if name in TIME_COLUMNS and table.num_rows:
            low, high = pc.min_max(column.cast(pa.int64())).values()
            lowest, highest = _TIME_RANGE
            if low.as_py() is not None and (low.as_py() < lowest or high.as_py() > highest):
                raise TraceError(f"{path}: column {name!r} holds times outside 1970 to 9999")
    return table
