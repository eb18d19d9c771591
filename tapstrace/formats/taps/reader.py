"""Importing a TaPS run: its task records (any era) and its config (any layout) as a Trace."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tapstrace.errors import TraceError
from tapstrace.formats.dag import topological_order
from tapstrace.formats.frame import build_frame
from tapstrace.formats.jsonfile import read_bytes
from tapstrace.formats.taps.config import run_facts
from tapstrace.formats.taps.records import ExecutionInfo, TaskRecord, parse_records
from tapstrace.formats.taps.warmup import RULE, warmup_flags
from tapstrace.trace.reader import Trace

#: Task record file names, newest first (TaPS wrote tasks.json, then tasks.jsonl).
RECORD_FILES = ("tasks.jsonl", "tasks.json")


def records_file(directory: Path) -> Path | None:
    """The TaPS task record file in a run directory, if there is one."""
    for name in RECORD_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def _span(execution: ExecutionInfo | None, start: str, end: str) -> float | None:
    if execution is None:
        return None
    first, last = getattr(execution, start), getattr(execution, end)
    return None if first is None or last is None else last - first


def _parents(
    records: list[TaskRecord], where: list[str], path: Path
) -> tuple[list[list[int]], int]:
    """Parent positions of each record; parents without a record are dropped and counted.

    TaPS lost records (TaskVine tasks whose futures only fed other tasks were never
    logged), so a child may name a parent the file does not hold: the run is kept.
    """
    position: dict[str, int] = {}
    for i, record in enumerate(records):
        if position.setdefault(record.task_id, i) != i:
            raise TraceError(f"{path}: {where[i]}: task id {record.task_id!r} appears twice")
    parents: list[list[int]] = []
    dropped = 0
    for record in records:
        row: list[int] = []
        for name in record.parent_task_ids:
            p = position.get(name)
            if p is None:
                dropped += 1
            elif p not in row:
                row.append(p)
        parents.append(row)
    return parents, dropped


def read_taps(path: Path, raw: bytes | None = None, sha256: str | None = None) -> Trace:
    """Import a TaPS run: its tasks.jsonl/tasks.json file, or its run directory."""
    if path.is_dir():
        found = records_file(path)
        if found is None:
            raise TraceError(f"{path}: a directory without TaPS task records (tasks.jsonl)")
        path, raw = found, None
    if raw is None:
        raw = read_bytes(path)
    parsed = parse_records(path, raw)
    if not parsed:
        raise TraceError(f"{path}: no task records")
    parsed.sort(key=lambda p: (p.record.submitted is None, p.record.submitted or 0.0))
    records = [p.record for p in parsed]
    where = [p.where for p in parsed]
    parents, dropped = _parents(records, where, path)
    topological_order(path, [r.task_id for r in records], parents)  # rejects cycles
    warmup = warmup_flags(records)
    executions = [r.execution for r in records]
    started = [e.task_start_time if e else None for e in executions]
    ended = [e.task_end_time if e else None for e in executions]
    for i, (start, end) in enumerate(zip(started, ended, strict=True)):
        if start is not None and end is not None and end < start:
            raise TraceError(
                f"{path}: {where[i]} (task {records[i].task_id!r}): execution.task_end_time "
                "is before execution.task_start_time"
            )
    errors = [r.error for r in records]
    submitted = [r.submitted for r in records]
    digest = sha256 or hashlib.sha256(raw).hexdigest()
    run_id = f"taps-{digest[:12]}"
    tasks = build_frame(
        run_id,
        {
            "task_id": range(len(records)),
            "name": [r.function for r in records],
            "parents": parents,
            "status": ["failed" if r.failed else "ok" for r in records],
            "error_type": [e[0] for e in errors],
            "error_message": [e[1] for e in errors],
            "submitted": submitted,
            "dispatched": submitted,
            "started": started,
            "ended": ended,
            "received": [r.received for r in records],
            "worker_host": [e.hostname if e else None for e in executions],
            "transform_seconds": [
                _span(e, "result_transform_start_time", "result_transform_end_time")
                for e in executions
            ],
            "resolve_seconds": [
                _span(e, "input_transform_start_time", "input_transform_end_time")
                for e in executions
            ],
            "warmup": warmup,
            "source_id": [r.task_id for r in records],
        },
    )
    facts = run_facts(path.parent)
    first = records[0].submitted
    eras = sorted({r.era for r in records})
    metadata: dict[str, Any] = {
        "run_id": run_id,
        "workers": facts.workers,
        "workers_from": facts.workers_from,
        "started_at": datetime.fromtimestamp(first, UTC).isoformat() if first is not None else None,
        "source_format": "taps",
        "dropped_parents": dropped,
        "warmup_rule": RULE,
        "taps": {
            "records_file": path.name,
            "record_era": eras[0] if len(eras) == 1 else eras,
            "config_file": facts.config_file,
            "config_era": facts.era,
            "executor_from": facts.executor_from,
            "run_dir": str(path.parent),
            "warmup_tasks": sum(warmup),
        },
    }
    if facts.app:  # Trace.app and .executor read these when present
        metadata["app"] = {"name": facts.app, "params": facts.app_params}
    if facts.executor:
        metadata["executor"] = {"name": facts.executor, "params": facts.executor_params}
    return Trace(
        tasks=tasks,
        metadata=metadata,
        config=facts.config,
        summary={"imported": "taps", "rows": len(records)},
        path=path,
    )
