"""Reading traces: complete IPC files and partial IPC streams left by a crashed run."""

from __future__ import annotations

import logging
import os
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from tapstrace.errors import TraceError
from tapstrace.trace.schema import (
    DEFAULTS,
    KEY_CONFIG,
    KEY_RUN,
    KEY_SCHEMA_VERSION,
    KEY_SUMMARY,
    SCHEMA,
)

log = logging.getLogger(__name__)

_FILE_MAGIC = b"ARROW1"
#: What pyarrow raises on a damaged file (its errors, and plain ones from bad lengths).
_ARROW_ERRORS = (pa.ArrowException, OSError, ValueError, MemoryError, IndexError)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class PartialTraceWarning(UserWarning):
    """The trace was never finalised (the run crashed or is still going)."""


@dataclass
class Trace:
    """One run: its task records and what is known about the run.

    Attributes:
        tasks: one row per task attempt (columns: docs/trace-format.md).
        client: the client phases the app marked (schema 1.2; empty before).
        metadata: run facts (app, executor, parameters, host, packages, start time).
        config: the full run config, as loaded from its TOML text.
        summary: facts written when the trace was finalised (empty when partial).
        partial: True when the run never finalised the trace; completed tasks are all
            there up to the last flush, later ones are missing.
        path: where the trace was read from.
    """

    tasks: pl.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Client-phase rows (kind ``client``, Engine.client_phase), same columns as tasks.
    client: pl.DataFrame = field(default_factory=lambda: _empty())
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    schema_version: str | None = None
    path: Path | None = None

    @property
    def app(self) -> str | None:
        """Name of the app that produced the trace."""
        app = self.metadata.get("app")
        return app.get("name") if isinstance(app, dict) else None

    @property
    def executor(self) -> str | None:
        """Name of the executor the trace was recorded on."""
        executor = self.metadata.get("executor")
        return executor.get("name") if isinstance(executor, dict) else None

    def describe(self) -> dict[str, Any]:
        """A short summary: tasks by status, makespan, time span (see tapstrace show)."""
        from tapstrace.trace.summary import describe

        return describe(self)

    # Notebook display and shortcuts: tapstrace.analysis, imported only when used.

    def _repr_html_(self) -> str:
        """A summary table (facts and where the makespan went) in Jupyter."""
        from tapstrace.analysis.notebook import trace_html

        return trace_html(self)

    def gantt(self) -> Any:
        """The Gantt timeline of this trace, as an altair chart."""
        from tapstrace.analysis.plots.charts import gantt

        return gantt(self)

    def report(self, out: str | os.PathLike[str] = "analysis-report") -> Path:
        """Write this trace's HTML report under ``out``; returns report.html's path."""
        from tapstrace.analysis.notebook import report

        return report(self, out)


def _empty() -> pl.DataFrame:
    from tapstrace.formats.frame import empty_frame

    return empty_frame()


def upgrade(table: pa.Table) -> pa.Table:
    """``table`` in the current schema: columns of later versions than the table's are
    added (null, or their default), so traces of every version concatenate."""
    if table.schema.names == SCHEMA.names:
        return table
    n = table.num_rows
    columns = []
    for schema_field in SCHEMA:
        if schema_field.name in table.schema.names:
            columns.append(table.column(schema_field.name).cast(schema_field.type))
        elif schema_field.name in DEFAULTS:
            value = DEFAULTS[schema_field.name]
            columns.append(pa.array([value] * n, schema_field.type))
        else:
            columns.append(pa.nulls(n, schema_field.type))
    return pa.Table.from_arrays(columns, schema=SCHEMA.with_metadata(table.schema.metadata))


def split_client(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Task rows and client-phase rows of a trace table in the current schema."""
    is_client = pl.col("kind") == "client"
    if not frame.select(is_client.any()).item():
        return frame, frame.clear()
    return frame.filter(~is_client), frame.filter(is_client)


def _read_stream(path: Path) -> tuple[pa.Schema, list[pa.RecordBatch], bool]:
    """All complete batches of an IPC stream; True when the stream ended cleanly."""
    batches: list[pa.RecordBatch] = []
    with open(path, "rb") as f:
        try:
            reader = pa.ipc.open_stream(f)
        except _ARROW_ERRORS as exc:
            raise TraceError(f"{path}: not an Arrow trace ({_first_line(exc)})") from None
        schema = reader.schema
        while True:
            try:
                batches.append(reader.read_next_batch())
            except StopIteration:
                return schema, batches, True
            except _ARROW_ERRORS as exc:  # truncated by a crash mid-write
                log.debug("%s: stream ends in a truncated batch: %s", path, exc)
                return schema, batches, False


def _arrow_head(path: Path) -> bool:
    """Whether the file starts like an Arrow IPC file or stream (or is empty)."""
    if path.is_dir():
        return False
    with open(path, "rb") as f:
        head = f.read(len(_FILE_MAGIC))
    return not head or head.startswith((_FILE_MAGIC, b"\xff\xff\xff\xff"))


def read_trace(
    path: str | os.PathLike[str], *, warn: bool = True, format: str | None = None
) -> Trace:
    """Read a trace: tapstrace's own (``.arrow``, complete or partial) or, detected by
    content unless ``format`` is given, a WfFormat instance or TaPS task records
    (tapstrace.formats, docs/formats.md).

    A partial trace (the run was killed before finalising it) is read up to its last
    complete batch, with a PartialTraceWarning unless ``warn`` is False.
    """
    p = Path(path)
    if not p.exists():
        raise TraceError(f"{p}: no such file")
    if format not in (None, "arrow") or (format is None and not _arrow_head(p)):
        from tapstrace.formats.detect import load

        return load(p, format, warn=warn)
    if p.is_dir():
        raise TraceError(f"{p}: is a directory, not a trace file")
    with open(p, "rb") as f:
        head = f.read(len(_FILE_MAGIC))
    if not head:
        raise TraceError(f"{p}: empty file, not a trace")
    if head == _FILE_MAGIC:
        try:
            table = pa.ipc.open_file(p).read_all()
        except _ARROW_ERRORS as exc:
            raise TraceError(f"{p}: damaged Arrow file ({_first_line(exc)})") from None
        schema, partial = table.schema, False
    else:
        schema, batches, _ = _read_stream(p)
        try:
            table = pa.Table.from_batches(batches, schema=schema)
        except _ARROW_ERRORS as exc:
            raise TraceError(f"{p}: damaged Arrow stream ({_first_line(exc)})") from None
        partial = True
    from tapstrace.formats.arrow import check_run_facts, check_table
    from tapstrace.formats.jsonfile import loads

    table = check_table(p, table)
    raw = schema.metadata or {}
    try:
        metadata = check_run_facts(p, loads(raw[KEY_RUN], inf_nan=True) if KEY_RUN in raw else {})
        config = tomllib.loads(raw[KEY_CONFIG].decode()) if KEY_CONFIG in raw else {}
        summary = loads(raw[KEY_SUMMARY], inf_nan=True) if KEY_SUMMARY in raw else {}
    except (ValueError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise TraceError(f"{p}: unreadable run metadata ({_first_line(exc)})") from None
    if not isinstance(summary, dict):
        raise TraceError(f"{p}: unreadable run metadata (the summary is not a JSON object)")
    if partial and warn:
        warnings.warn(
            f"{p}: partial trace (the run did not finish it); {table.num_rows} records read",
            PartialTraceWarning,
            stacklevel=2,
        )
    version = raw.get(KEY_SCHEMA_VERSION)
    try:
        table = upgrade(table)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise TraceError(f"{p}: columns do not match the trace schema ({exc})") from None
    tasks, client = split_client(pl.from_arrow(table))  # type: ignore[arg-type]
    return Trace(
        tasks=tasks,
        client=client,
        metadata=metadata,
        config=config,
        summary=summary,
        partial=partial,
        schema_version=version.decode() if version else None,
        path=p,
    )
