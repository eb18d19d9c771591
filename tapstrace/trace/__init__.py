"""The trace: an Arrow table per run, one row per task attempt."""

from __future__ import annotations

from tapstrace.trace.reader import PartialTraceWarning, Trace, read_trace
from tapstrace.trace.schema import SCHEMA, records_to_batch
from tapstrace.trace.writer import TraceWriter

__all__ = [
    "SCHEMA",
    "PartialTraceWarning",
    "Trace",
    "TraceWriter",
    "read_trace",
    "records_to_batch",
]
