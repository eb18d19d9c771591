"""TaPS runs (https://github.com/proxystore/taps): import, from every era of TaPS.

A TaPS run directory holds one JSON record per finished task (``tasks.jsonl``, or
``tasks.json`` in older versions) beside the run's config (``config.toml``, older:
``config.json``). ``records`` reads and validates the records of every era, ``config``
the app, executor and workers of every config layout, ``warmup`` flags warm-up tasks by
TaPS' own rule, and ``reader`` puts them together as a Trace.

Mapping: submit_time -> submitted and dispatched (TaPS hands a task to its executor when
the app submits it), received_time -> received, execution.task_start/end_time ->
started/ended, the input and result transform spans -> resolve_seconds and
transform_seconds, hostname -> worker_host. TaPS records no ready time, worker id or data
sizes: they stay null. Task ids (UUIDs) go to ``source_id``; ``task_id`` numbers tasks in
submission order. docs/formats.md describes every era.
"""

from __future__ import annotations

from tapstrace.formats.taps.config import CONFIG_FILES, EXECUTORS, RunFacts, run_facts
from tapstrace.formats.taps.reader import RECORD_FILES, read_taps, records_file
from tapstrace.formats.taps.records import TaskRecord, looks_like_record
from tapstrace.formats.taps.warmup import RULE as WARMUP_RULE

#: Whether a parsed JSON value looks like one TaPS task record (format detection).
is_taps_record = looks_like_record

__all__ = [
    "CONFIG_FILES",
    "EXECUTORS",
    "RECORD_FILES",
    "WARMUP_RULE",
    "RunFacts",
    "TaskRecord",
    "is_taps_record",
    "read_taps",
    "records_file",
    "run_facts",
]
