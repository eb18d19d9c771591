"""WfCommons WfFormat instances (https://github.com/wfcommons/wfformat): import and export.

Import reads schema 1.5 and later (``workflow.specification`` + ``workflow.execution``)
and the flat layout of 1.4 and earlier (``workflow.tasks`` with per-task ``files``). A
task's output bytes are the sum of its output files, its input bytes the sum of the files
it reads; ``runtimeInSeconds`` is its execution time.

WfFormat records runtimes, not start times (a 1.5 task may carry its own ``executedAt``;
real instances rarely do). A task without one gets ``started`` = the workflow's
``executedAt`` and ``ended`` = started + runtime: only ``ended - started`` is a measurement,
and the trace metadata says so under ``timing``. Client-side times (submitted, ready,
dispatched, received) stay null. See docs/formats.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from tapstrace.errors import TraceError
from tapstrace.formats.dag import resolve_parents, topological_order
from tapstrace.formats.frame import Columns, final_attempts
from tapstrace.formats.jsonfile import parse_json, read_bytes
from tapstrace.formats.timestamps import parse_timestamp
from tapstrace.trace.reader import Trace
from tapstrace.version import __version__

#: What task ids may hold to be referenced as parents or children (schema 1.5).
_ID_PATTERN = re.compile(r"^[0-9a-zA-Z\-_.#]+$")
_ID_SUFFIX = re.compile(r"_ID\d+$")

ANCHORED_NOTE = (
    "WfFormat records each task's runtime but not its start: tasks without their own "
    "executedAt start at the workflow's executedAt (the anchor); only ended - started "
    "is measured"
)


def is_wfformat(document: Any) -> bool:
    """Whether a parsed JSON document looks like a WfFormat instance."""
    if not isinstance(document, dict):
        return False
    workflow = document.get("workflow")
    return isinstance(workflow, dict) and (
        "specification" in workflow or "tasks" in workflow or "jobs" in workflow
    )


class _Task:
    """One task of an instance, whatever its layout."""

    __slots__ = ("executed_at", "inputs", "machine", "name", "outputs", "parents", "program",
                 "runtime", "task_id")  # fmt: skip

    def __init__(self, task_id: str, name: str) -> None:
        self.task_id = task_id
        self.name = name
        self.program: str | None = None
        self.parents: list[str] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.runtime: float | None = None
        self.executed_at: str | None = None
        self.machine: str | None = None


def _need(path: Path, value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise TraceError(f"{path}: {where} must be a {names} (got {type(value).__name__})")
    return value


def _runtime(path: Path, entry: dict[str, Any], task_id: str) -> float:
    value = entry.get("runtimeInSeconds", entry.get("runtime"))
    if value is None:
        raise TraceError(f"{path}: task {task_id!r} has no runtimeInSeconds")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TraceError(f"{path}: task {task_id!r}: runtimeInSeconds must be a number")
    if value < 0:
        raise TraceError(f"{path}: task {task_id!r} has a negative runtime ({value})")
    return float(value)


def _nested(path: Path, workflow: dict[str, Any]) -> tuple[list[_Task], dict[str, int | None]]:
    spec = _need(path, workflow["specification"], dict, "workflow.specification")
    entries = _need(path, spec.get("tasks"), list, "workflow.specification.tasks")
    sizes: dict[str, int | None] = {}
    for f in _need(path, spec.get("files", []), list, "workflow.specification.files"):
        _need(path, f, dict, "each file")
        sizes[str(f.get("id"))] = f.get("sizeInBytes")
    tasks: list[_Task] = []
    seen: set[str] = set()
    for entry in entries:
        _need(path, entry, dict, "each task")
        task_id = entry.get("id", entry.get("name"))
        if not isinstance(task_id, str) or not task_id:
            raise TraceError(f"{path}: a task has no id")
        if task_id in seen:
            raise TraceError(f"{path}: task id {task_id!r} appears twice")
        seen.add(task_id)
        task = _Task(task_id, str(entry.get("name") or task_id))
        task.parents = [str(p) for p in _need(path, entry.get("parents", []), list, "parents")]
        task.inputs = [str(f) for f in entry.get("inputFiles") or []]
        task.outputs = [str(f) for f in entry.get("outputFiles") or []]
        tasks.append(task)
    _add_children(path, tasks, [entry.get("children") or [] for entry in entries])
    execution = workflow.get("execution")
    if execution is None:
        return tasks, sizes
    _need(path, execution, dict, "workflow.execution")
    by_id = {t.task_id: t for t in tasks}
    ran: set[str] = set()
    for entry in _need(path, execution.get("tasks", []), list, "workflow.execution.tasks"):
        _need(path, entry, dict, "each execution task")
        task_id = str(entry.get("id"))
        if task_id not in by_id:
            raise TraceError(f"{path}: execution task {task_id!r} is not in the specification")
        task = by_id[task_id]
        ran.add(task_id)
        task.runtime = _runtime(path, entry, task_id)
        task.executed_at = entry.get("executedAt")
        machines = entry.get("machines") or []
        task.machine = str(machines[0]) if machines else None
        command = entry.get("command")
        if isinstance(command, dict) and command.get("program"):
            task.program = str(command["program"])
    missing = [t.task_id for t in tasks if t.task_id not in ran]
    if missing:
        raise TraceError(
            f"{path}: task {missing[0]!r} has no execution entry (no runtime)"
            + (f", and {len(missing) - 1} more" if len(missing) > 1 else "")
        )
    return tasks, sizes


def _flat(path: Path, workflow: dict[str, Any]) -> tuple[list[_Task], dict[str, int | None]]:
    entries: list[Any] = _need(
        path, workflow.get("tasks", workflow.get("jobs")), list, "workflow.tasks"
    )
    sizes: dict[str, int | None] = {}
    tasks: list[_Task] = []
    alias: dict[str, str] = {}  # 1.4 tasks name their parents by name or by id
    for index, entry in enumerate(entries):
        _need(path, entry, dict, "each task")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise TraceError(f"{path}: task number {index + 1} has no name")
        if name in alias and alias[name] == name:
            raise TraceError(f"{path}: task name {name!r} appears twice")
        task = _Task(name, name)
        for key in ("id", "name"):
            if isinstance(entry.get(key), str):
                alias.setdefault(entry[key], name)
        command = entry.get("command")
        if isinstance(command, dict) and command.get("program"):
            task.program = str(command["program"])
        elif entry.get("category"):
            task.program = str(entry["category"])
        task.parents = [str(p) for p in _need(path, entry.get("parents", []), list, "parents")]
        for f in _need(path, entry.get("files", []), list, "files"):
            _need(path, f, dict, "each file")
            file_id = str(f.get("path", "")) + str(f.get("name", f.get("id", "")))
            sizes.setdefault(file_id, f.get("sizeInBytes", f.get("size")))
            (task.inputs if str(f.get("link", "")).lower() == "input" else task.outputs).append(
                file_id
            )
        task.runtime = _runtime(path, entry, name)
        task.machine = str(entry["machine"]) if entry.get("machine") else None
        task.executed_at = entry.get("executedAt")
        tasks.append(task)
    for task in tasks:
        task.parents = [alias.get(p, p) for p in task.parents]
    _add_children(
        path, tasks, [[alias.get(c, c) for c in e.get("children") or []] for e in entries]
    )
    return tasks, sizes


def _add_children(path: Path, tasks: list[_Task], children: list[list[Any]]) -> None:
    """Edges declared on the parent's side (``children``) become parents of the child."""
    by_id = {t.task_id: t for t in tasks}
    for task, kids in zip(tasks, children, strict=True):
        for kid in kids:
            child = by_id.get(str(kid))
            if child is None:
                raise TraceError(
                    f"{path}: task {task.task_id!r} names child {kid!r}, which is not a task"
                )
            if task.task_id not in child.parents:
                child.parents.append(task.task_id)


def _file_bytes(path: Path, files: list[str], sizes: dict[str, int | None]) -> int | None:
    known = [sizes.get(f) for f in files]
    values = [s for s in known if s is not None]
    if files and not values:
        return None
    for s in values:
        if isinstance(s, bool) or not isinstance(s, int | float) or s < 0:
            raise TraceError(f"{path}: a file size is not a non-negative number ({s!r})")
    return int(sum(values))


def _program(task: _Task) -> str:
    if task.program:
        return task.program
    return _ID_SUFFIX.sub("", task.name) or task.name


def _workers(machines: list[Any]) -> int | None:
    cores = []
    for m in machines:
        cpu = m.get("cpu") if isinstance(m, dict) else None
        count = cpu.get("coreCount", cpu.get("count")) if isinstance(cpu, dict) else None
        if not isinstance(count, int):
            return len(machines) or None
        cores.append(count)
    return sum(cores) or None


def read_wfformat(path: Path, raw: bytes | None = None, sha256: str | None = None) -> Trace:
    """Import a WfFormat instance (see the module docstring for what goes where)."""
    if raw is None:
        raw = read_bytes(path)
    document = parse_json(path, raw, "WfFormat JSON")
    if not is_wfformat(document):
        raise TraceError(f"{path}: not a WfFormat instance (no workflow tasks)")
    workflow = document["workflow"]
    nested = "specification" in workflow
    tasks, sizes = _nested(path, workflow) if nested else _flat(path, workflow)
    if not tasks:
        raise TraceError(f"{path}: the workflow has no tasks")
    ids = [t.task_id for t in tasks]
    parents = resolve_parents(path, ids, [t.parents for t in tasks])
    topological_order(path, ids, parents)  # rejects cycles
    execution = workflow.get("execution", workflow) if nested else workflow
    executed_raw = execution.get("executedAt") if isinstance(execution, dict) else None
    anchor: float | None = None
    zone_note = None
    if executed_raw is not None:
        parsed = parse_timestamp(str(executed_raw))
        if parsed is None:
            raise TraceError(f"{path}: workflow executedAt {executed_raw!r} is not a date")
        anchor = parsed[0].timestamp()
        if not parsed[1]:
            zone_note = "executedAt has no time zone; read as UTC"
    has_runtimes = any(t.runtime is not None for t in tasks)
    if has_runtimes and anchor is None:
        anchor = 0.0
        zone_note = "the instance has no executedAt; tasks are anchored at the Unix epoch"
    digest = sha256 or hashlib.sha256(raw).hexdigest()
    columns = Columns(run_id=f"wf-{digest[:12]}")
    anchored = 0
    outputs = [_file_bytes(path, t.outputs, sizes) for t in tasks]
    external: dict[str, int] = {}
    for i, (task, task_parents) in enumerate(zip(tasks, parents, strict=True)):
        started = ended = None
        if task.runtime is not None:
            own = parse_timestamp(str(task.executed_at)) if task.executed_at else None
            if task.executed_at and own is None:
                raise TraceError(
                    f"{path}: task {task.task_id!r}: executedAt {task.executed_at!r} is not a date"
                )
            if own is not None:
                started = own[0].timestamp()
            else:
                started = anchor
                anchored += 1
            assert started is not None
            ended = started + task.runtime
        input_bytes = _file_bytes(path, task.inputs, sizes)
        # An edge carries the files the parent wrote and the child reads: files read that
        # no parent wrote are external input. Kept where "input minus the parents'
        # outputs" (what replay assumes otherwise) gets it wrong.
        written = {f for p in task_parents for f in tasks[p].outputs}
        exact = _file_bytes(path, [f for f in task.inputs if f not in written], sizes) or 0
        delivered = sum(outputs[p] or 0 for p in task_parents)
        if exact != max(0, (input_bytes or 0) - delivered):
            external[task.task_id] = exact
        columns.add(
            task_id=i,
            name=_program(task),
            parents=task_parents,
            status="ok",
            started=started,
            ended=ended,
            worker_host=task.machine,
            input_bytes=input_bytes,
            output_bytes=outputs[i],
            source_id=task.task_id,
        )
    machines = execution.get("machines", []) if isinstance(execution, dict) else []
    runtime_system = document.get("runtimeSystem", document.get("wms"))
    makespan = execution.get("makespanInSeconds", execution.get("makespan"))
    timing: dict[str, Any] = {
        "started": "none" if not has_runtimes else
        ("anchored" if anchored == len(tasks) else "recorded" if not anchored else "mixed"),
        "anchored_tasks": anchored,
        "anchor": None if anchor is None else datetime.fromtimestamp(anchor, UTC).isoformat(),
    }  # fmt: skip
    if anchored:
        timing["note"] = ANCHORED_NOTE
    if zone_note:
        timing["anchor_note"] = zone_note
    metadata: dict[str, Any] = {
        "run_id": columns.run_id,
        "app": {"name": str(document.get("name") or path.stem), "params": {}},
        "workers": _workers(machines) if isinstance(machines, list) else None,
        "started_at": timing["anchor"],
        "makespan_s": makespan if isinstance(makespan, int | float) else None,
        "source_format": "wfformat",
        "timing": timing,
        "external_input_bytes": external,
        "wfformat": {
            "schema_version": document.get("schemaVersion"),
            "layout": "nested" if nested else "flat",
            "name": document.get("name"),
            "description": document.get("description"),
            "created_at": document.get("createdAt"),
            "author": document.get("author"),
            "runtime_system": runtime_system,
            "executed_at": executed_raw,
            "machines": machines,
        },
    }
    if isinstance(runtime_system, dict) and runtime_system.get("name"):
        metadata["executor"] = {
            "name": str(runtime_system["name"]),
            "params": {k: v for k, v in runtime_system.items() if k != "name"},
        }
    return Trace(
        tasks=columns.frame(),
        metadata=metadata,
        summary={"imported": "wfformat", "rows": len(columns)},
        schema_version=None,
        path=path,
    )


# -- export ---------------------------------------------------------------------------


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
