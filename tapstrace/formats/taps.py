"""TaPS task records (https://github.com/proxystore/taps): import.

TaPS writes one JSON object per finished task to ``tasks.jsonl`` (field ``name``), or to
``tasks.json`` in older versions (field ``function_name``), in its run directory beside
``config.toml`` (older: ``config.json``). Each record has task_id, parent_task_ids,
submit_time, received_time, success, exception and execution{hostname,
execution_start_time, execution_end_time, task_start_time, task_end_time,
input_transform_start_time, input_transform_end_time, result_transform_start_time,
result_transform_end_time}; times are Unix seconds.

Mapping: submit_time -> submitted and dispatched (TaPS hands a task to its executor when
the app submits it), received_time -> received, task_start/end_time -> started/ended,
the input and result transform spans -> resolve_seconds and transform_seconds,
hostname -> worker_host. TaPS records no ready time, worker id or data sizes: they stay
null. Task ids (UUIDs) go to ``source_id``; ``task_id`` numbers tasks in submission order.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tapstrace.errors import TraceError
from tapstrace.formats.dag import resolve_parents, topological_order
from tapstrace.formats.frame import Columns
from tapstrace.formats.jsonfile import read_bytes
from tapstrace.trace.reader import Trace

RECORD_FILES = ("tasks.jsonl", "tasks.json")
CONFIG_FILES = ("config.toml", "config.json")
_WORKER_KEYS = ("max_processes", "max_workers", "max_threads", "workers", "max_workers_per_node")


def records_file(directory: Path) -> Path | None:
    """The TaPS task record file in a run directory, if there is one."""
    for name in RECORD_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def is_taps_record(document: Any) -> bool:
    """Whether a parsed JSON object looks like one TaPS task record."""
    return (
        isinstance(document, dict)
        and "task_id" in document
        and "parent_task_ids" in document
        and ("name" in document or "function_name" in document)
    )


def _records(path: Path, raw: bytes) -> list[Any]:
    try:  # a JSON array of records, or a document that is not one record per line
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        document = None
    if isinstance(document, list):
        records = document
    elif document is not None:
        records = [document]
    else:
        records = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not text"
                raise TraceError(f"{path}: line {number} is not a JSON record ({reason})") from None
    for number, record in enumerate(records, 1):
        if not is_taps_record(record):
            raise TraceError(f"{path}: record {number} is not a TaPS task record")
    return records


def _time(path: Path, record: dict[str, Any], where: dict[str, Any] | None, key: str) -> Any:
    value = (where or {}).get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TraceError(f"{path}: task {record['task_id']!r}: {key} is not a number")
    return float(value)


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def _config(directory: Path) -> tuple[dict[str, Any], str | None]:
    for name in CONFIG_FILES:
        candidate = directory / name
        if not candidate.is_file():
            continue
        try:
            text = candidate.read_text()
            data = tomllib.loads(text) if name.endswith(".toml") else json.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise TraceError(f"{candidate}: unreadable TaPS config ({exc})") from None
        return (data if isinstance(data, dict) else {}), name
    return {}, None


def _plugin(section: Any) -> dict[str, Any] | None:
    if isinstance(section, dict) and isinstance(section.get("name"), str):
        return {
            "name": section["name"],
            "params": {k: v for k, v in section.items() if k != "name"},
        }
    if isinstance(section, str):
        return {"name": section, "params": {}}
    return None


def read_taps(path: Path, raw: bytes | None = None, sha256: str | None = None) -> Trace:
    """Import TaPS task records: a tasks.jsonl/tasks.json file or a TaPS run directory."""
    if path.is_dir():
        found = records_file(path)
        if found is None:
            raise TraceError(f"{path}: a directory without TaPS task records (tasks.jsonl)")
        path, raw = found, None
    if raw is None:
        raw = read_bytes(path)
    records = _records(path, raw)
    if not records:
        raise TraceError(f"{path}: no task records")
    field = "name" if "name" in records[0] else "function_name"
    records.sort(key=lambda r: (r.get("submit_time") is None, r.get("submit_time") or 0.0))
    ids = [str(r["task_id"]) for r in records]
    parent_ids = []
    for r in records:
        if not isinstance(r["parent_task_ids"], list):
            raise TraceError(f"{path}: task {r['task_id']!r}: parent_task_ids is not a list")
        parent_ids.append([str(p) for p in r["parent_task_ids"]])
    parents = resolve_parents(path, ids, parent_ids)
    topological_order(path, ids, parents)
    digest = sha256 or hashlib.sha256(raw).hexdigest()
    columns = Columns(run_id=f"taps-{digest[:12]}")
    for i, r in enumerate(records):
        ex = r.get("execution") if isinstance(r.get("execution"), dict) else None
        started = _time(path, r, ex, "task_start_time")
        ended = _time(path, r, ex, "task_end_time")
        if started is not None and ended is not None and ended < started:
            raise TraceError(f"{path}: task {r['task_id']!r} ends before it starts")
        error_type = error_message = None
        exception = r.get("exception")
        if isinstance(exception, dict):
            error_type, error_message = exception.get("type"), exception.get("message")
        elif exception is not None:
            error_type, error_message = "Exception", str(exception)
        submitted = _time(path, r, r, "submit_time")
        columns.add(
            task_id=i,
            name=str(r.get(field) or "task"),
            parents=parents[i],
            status="ok" if r.get("success") is True else "failed",
            error_type=error_type,
            error_message=error_message,
            submitted=submitted,
            dispatched=submitted,
            started=started,
            ended=ended,
            received=_time(path, r, r, "received_time"),
            worker_host=(ex or {}).get("hostname"),
            transform_seconds=_span(
                _time(path, r, ex, "result_transform_start_time"),
                _time(path, r, ex, "result_transform_end_time"),
            ),
            resolve_seconds=_span(
                _time(path, r, ex, "input_transform_start_time"),
                _time(path, r, ex, "input_transform_end_time"),
            ),
            source_id=ids[i],
        )
    config, config_name = _config(path.parent)
    engine: dict[str, Any] = config.get("engine") or {}
    if not isinstance(engine, dict):
        engine = {}
    executor = _plugin(engine.get("executor", config.get("executor")))
    workers = None
    if executor:
        workers = next(
            (v for k in _WORKER_KEYS if isinstance(v := executor["params"].get(k), int)), None
        )
    first = records[0].get("submit_time")
    metadata: dict[str, Any] = {
        "run_id": columns.run_id,
        "workers": workers,
        "started_at": datetime.fromtimestamp(first, UTC).isoformat()
        if isinstance(first, int | float)
        else None,
        "source_format": "taps",
        "taps": {
            "records_file": path.name,
            "name_field": field,
            "config_file": config_name,
            "run_dir": str(path.parent),
        },
    }
    app = _plugin(config.get("app"))
    if app:  # Trace.app and .executor read these when present
        metadata["app"] = app
    if executor:
        metadata["executor"] = executor
    return Trace(
        tasks=columns.frame(),
        metadata=metadata,
        config=config,
        summary={"imported": "taps", "rows": len(columns)},
        path=path,
    )
