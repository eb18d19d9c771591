"""Writing any Trace (imported or read) as a tapstrace Arrow trace file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import tomli_w

from tapstrace.trace.reader import Trace, upgrade
from tapstrace.trace.schema import (
    KEY_CONFIG,
    KEY_RUN,
    KEY_SCHEMA_VERSION,
    KEY_SUMMARY,
    KEY_VERSION,
    SCHEMA,
)
from tapstrace.version import TRACE_SCHEMA_VERSION, __version__

_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


def _toml_ready(value: Any) -> Any:
    """TOML has no null: drop None values, recursively."""
    if isinstance(value, dict):
        return {str(k): _toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_toml_ready(v) for v in value if v is not None]
    return value


def write_arrow(trace: Trace, path: Path) -> None:
    """Write ``trace`` to ``path`` as an Arrow IPC file in the trace schema."""
    rows = trace.tasks if trace.client.is_empty() else pl.concat([trace.tasks, trace.client])
    table = upgrade(rows.to_arrow()).select(SCHEMA.names).cast(SCHEMA)
    summary = {**trace.summary, "complete": True, "rows": table.num_rows}
    if trace.path is not None:
        summary.setdefault("converted_from", str(trace.path))
    metadata = {
        KEY_SCHEMA_VERSION: TRACE_SCHEMA_VERSION.encode(),
        KEY_VERSION: __version__.encode(),
        KEY_RUN: json.dumps(trace.metadata, default=str).encode(),
        KEY_CONFIG: tomli_w.dumps(_toml_ready(trace.config)).encode(),
        KEY_SUMMARY: json.dumps(summary, default=str).encode(),
    }
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, SCHEMA.with_metadata(metadata), options=_OPTIONS) as writer,
    ):
        writer.write_table(table, max_chunksize=65_536)
