"""Writing a trace as a WfFormat 1.5 instance (for WfCommons, WRENCH and friends)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import polars as pl

from tapstrace.errors import TraceError
from tapstrace.formats.frame import final_attempts
from tapstrace.formats.timestamps import parse_timestamp
from tapstrace.trace.reader import Trace
from tapstrace.version import __version__

#: What task ids may hold to be referenced as parents or children (schema 1.5).
_ID_PATTERN = re.compile(r"^[0-9a-zA-Z\-_.#]+$")


def _safe(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z\-_.#]", "_", text) or "task"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def to_wfformat(trace: Trace) -> dict[str, Any]:
    """The trace as a WfFormat 1.5 instance (a dict ready for ``json.dump``).

    One task per traced task (its final attempt; warm-up tasks are left out). Each task
    writes one file of its output bytes, read by its children; input bytes not produced
    by parents become one input file. Tasks that never ran are in the specification but
    not in the execution section. Anchored start times (see the importer) are not
    written back as per-task ``executedAt``.
    """
    tasks = final_attempts(trace.tasks.filter(~pl.col("warmup"))).sort("task_id")
    if tasks.height == 0:
        raise TraceError(f"{trace.path}: no tasks to export")
    rows = tasks.select(
        "task_id", "name", "parents", "source_id", "worker_host", "input_bytes",
        "output_bytes",
        pl.col("started").dt.epoch("us").alias("started_us"),
        pl.col("ended").dt.epoch("us").alias("ended_us"),
        pl.col("submitted").dt.epoch("us").alias("submitted_us"),
    ).to_dicts()  # fmt: skip
    ids: dict[int, str] = {}
    used: set[str] = set()
    for row in rows:
        source = row["source_id"]
        if source and _ID_PATTERN.match(source) and source not in used:
            task_id = source
        else:
            task_id = f"{_safe(row['name'])}_ID{row['task_id']:07d}"
        used.add(task_id)
        ids[row["task_id"]] = task_id
    children: dict[int, list[str]] = {}
    outputs: dict[int, int | None] = {row["task_id"]: row["output_bytes"] for row in rows}
    for row in rows:
        for p in row["parents"]:
            if p in ids:
                children.setdefault(p, []).append(ids[row["task_id"]])
    timing = trace.metadata.get("timing") or {}
    anchor = timing.get("anchor") if timing.get("started") in ("anchored", "mixed") else None
    anchor_us = None
    if anchor:
        parsed = parse_timestamp(anchor)
        anchor_us = round(parsed[0].timestamp() * 1e6) if parsed else None
    exact = trace.metadata.get("external_input_bytes") or {}
    spec_tasks, files, exec_tasks = [], [], []
    hosts: list[str] = []
    for row in rows:
        task_id = ids[row["task_id"]]
        parents = [ids[p] for p in row["parents"] if p in ids]
        inputs = [f"{ids[p]}_output" for p in row["parents"] if p in ids and outputs[p] is not None]
        delivered = sum(outputs[p] or 0 for p in row["parents"] if p in ids)
        external = exact.get(row["source_id"], (row["input_bytes"] or 0) - delivered)
        if external > 0:
            files.append({"id": f"{task_id}_input", "sizeInBytes": int(external)})
            inputs.append(f"{task_id}_input")
        out_files = []
        if row["output_bytes"] is not None:
            files.append({"id": f"{task_id}_output", "sizeInBytes": int(row["output_bytes"])})
            out_files.append(f"{task_id}_output")
        spec_tasks.append({
            "name": task_id, "id": task_id, "parents": parents,
            "children": children.get(row["task_id"], []),
            "inputFiles": inputs, "outputFiles": out_files,
        })  # fmt: skip
        if row["started_us"] is None or row["ended_us"] is None:
            continue
        entry: dict[str, Any] = {
            "id": task_id,
            "runtimeInSeconds": max(0, row["ended_us"] - row["started_us"]) / 1e6,
            "command": {"program": row["name"] or "task"},
            "coreCount": 1,
        }
        if row["started_us"] != anchor_us:
            entry["executedAt"] = _iso(row["started_us"] / 1e6)
        if row["worker_host"]:
            entry["machines"] = [row["worker_host"]]
            if row["worker_host"] not in hosts:
                hosts.append(row["worker_host"])
        exec_tasks.append(entry)
    app, executor = trace.app or "unknown", trace.executor or "unknown"
    run_id = str(trace.metadata.get("run_id") or "run")
    instance: dict[str, Any] = {
        "name": f"{app}-{executor}-{run_id}",
        "description": f"tapstrace trace of app {app} on executor {executor}"
        + (f" (from {trace.path.name})" if trace.path else ""),
        "createdAt": datetime.now(UTC).isoformat(),
        "schemaVersion": "1.5",
        "runtimeSystem": {
            "name": "tapstrace",
            "version": __version__,
            "url": "https://github.com/tapstrace/tapstrace",
        },
        "workflow": {"specification": {"tasks": spec_tasks, "files": files}},
    }
    if exec_tasks:
        starts = [r["submitted_us"] or r["started_us"] for r in rows]
        first = min(s for s in starts if s is not None)
        makespan = trace.describe().get("makespan_s") or trace.metadata.get("makespan_s")
        if makespan is None:
            last = max(r["ended_us"] for r in rows if r["ended_us"] is not None)
            makespan = (last - first) / 1e6
        execution: dict[str, Any] = {
            "makespanInSeconds": float(makespan),
            "executedAt": timing.get("anchor") or _iso(first / 1e6),
            "tasks": exec_tasks,
        }
        if hosts:
            execution["machines"] = [{"nodeName": host} for host in hosts]
        instance["workflow"]["execution"] = execution
    return instance


def write_wfformat(trace: Trace, out: Any) -> None:
    """Write ``to_wfformat(trace)`` as JSON to the open text file ``out``."""
    json.dump(to_wfformat(trace), out, indent=1)
    out.write("\n")
