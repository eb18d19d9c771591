"""Importing a WfFormat instance (1.5 nested, or 1.4 flat) as a Trace, validated as parsed."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tapstrace.errors import TraceError
from tapstrace.formats.dag import resolve_parents, topological_order
from tapstrace.formats.frame import Columns
from tapstrace.formats.jsonfile import json_problem, loads, read_bytes
from tapstrace.formats.timestamps import parse_timestamp
from tapstrace.formats.validation import MAX_UNIX_SECONDS, problem
from tapstrace.formats.wfformat.model import Instance, Machine, Workflow
from tapstrace.trace.reader import Trace

_ID_SUFFIX = re.compile(r"_ID\d+$")

#: Most bytes a task may read or write in all (int64 holds them).
_MAX_TOTAL_BYTES = 1 << 62

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


def _instance(path: Path, raw: bytes) -> Instance:
    """The instance, validated; a problem is one line naming the record and field."""
    try:
        return Instance.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            reason = json_problem(ValueError(first.get("ctx", {}).get("error", "")))
            raise TraceError(f"{path}: invalid WfFormat JSON: {reason}") from None
        document = loads(raw)  # valid JSON: the error is in its content
        if not is_wfformat(document):
            raise TraceError(f"{path}: not a WfFormat instance (no workflow tasks)") from None
        raise TraceError(f"{path}: {problem(exc, document)}") from None


def _nested(path: Path, workflow: Workflow) -> tuple[list[_Task], dict[str, int | None]]:
    spec = workflow.specification
    assert spec is not None
    sizes: dict[str, int | None] = {f.id: f.sizeInBytes for f in spec.files}
    tasks: list[_Task] = []
    seen: set[str] = set()
    for entry in spec.tasks:
        if entry.key in seen:
            raise TraceError(f"{path}: task id {entry.key!r} appears twice")
        seen.add(entry.key)
        task = _Task(entry.key, entry.name or entry.key)
        task.parents = list(entry.parents)
        task.inputs = list(entry.inputFiles)
        task.outputs = list(entry.outputFiles)
        tasks.append(task)
    _add_children(path, tasks, [list(entry.children) for entry in spec.tasks])
    execution = workflow.execution
    if execution is None:
        return tasks, sizes
    by_id = {t.task_id: t for t in tasks}
    for number, ran in enumerate(execution.tasks):
        found = by_id.get(ran.id)
        if found is None:
            raise TraceError(
                f"{path}: workflow.execution.tasks[{number}] (task {ran.id!r}) is not in the "
                "specification"
            )
        found.runtime = ran.runtimeInSeconds
        found.executed_at = ran.executedAt
        found.machine = ran.machines[0] if ran.machines else None
        if ran.command is not None and ran.command.program:
            found.program = ran.command.program
    missing = [t.task_id for t in tasks if t.runtime is None]
    if missing:
        raise TraceError(
            f"{path}: task {missing[0]!r} has no execution entry (no runtime)"
            + (f", and {len(missing) - 1} more" if len(missing) > 1 else "")
        )
    return tasks, sizes


def _flat(path: Path, workflow: Workflow) -> tuple[list[_Task], dict[str, int | None]]:
    assert workflow.tasks is not None
    sizes: dict[str, int | None] = {}
    tasks: list[_Task] = []
    alias: dict[str, str] = {}  # 1.4 tasks name their parents by name or by id
    for entry in workflow.tasks:
        name = entry.name
        if alias.get(name) == name:
            raise TraceError(f"{path}: task name {name!r} appears twice")
        task = _Task(name, name)
        for key in (entry.id, entry.name):
            if key is not None:
                alias.setdefault(key, name)
        if entry.command is not None and entry.command.program:
            task.program = entry.command.program
        elif entry.category:
            task.program = entry.category
        task.parents = list(entry.parents)
        for f in entry.files:
            sizes.setdefault(f.key, f.sizeInBytes)
            (task.inputs if (f.link or "").lower() == "input" else task.outputs).append(f.key)
        task.runtime = entry.runtimeInSeconds
        task.machine = entry.machine or None
        task.executed_at = entry.executedAt
        tasks.append(task)
    for task in tasks:
        task.parents = [alias.get(p, p) for p in task.parents]
    _add_children(
        path, tasks, [[alias.get(c, c) for c in entry.children] for entry in workflow.tasks]
    )
    return tasks, sizes


def _add_children(path: Path, tasks: list[_Task], children: list[list[str]]) -> None:
    """Edges declared on the parent's side (``children``) become parents of the child."""
    by_id = {t.task_id: t for t in tasks}
    for task, kids in zip(tasks, children, strict=True):
        for kid in kids:
            child = by_id.get(kid)
            if child is None:
                raise TraceError(
                    f"{path}: task {task.task_id!r} names child {kid!r}, which is not a task"
                )
            if task.task_id not in child.parents:
                child.parents.append(task.task_id)


def _file_bytes(
    path: Path, task: _Task, files: list[str], sizes: dict[str, int | None]
) -> int | None:
    values = [s for s in (sizes.get(f) for f in files) if s is not None]
    if files and not values:
        return None
    total = sum(values)
    if total > _MAX_TOTAL_BYTES:
        raise TraceError(f"{path}: task {task.task_id!r}: its files add up to more than 2^62 bytes")
    return total


def _program(task: _Task) -> str:
    if task.program:
        return task.program
    return _ID_SUFFIX.sub("", task.name) or task.name


def _workers(machines: list[Machine]) -> int | None:
    cores = []
    for m in machines:
        count = m.cpu.coreCount if m.cpu is not None else None
        if count is None:
            return len(machines) or None
        cores.append(count)
    return sum(cores) or None


def _instant(path: Path, text: str, what: str) -> tuple[float, bool]:
    """Unix seconds of a date in an instance, and whether it named its time zone."""
    parsed = parse_timestamp(text)
    if parsed is None:
        raise TraceError(f"{path}: {what} {text!r} is not a date")
    seconds = parsed[0].timestamp()
    if not 0.0 <= seconds <= MAX_UNIX_SECONDS:
        raise TraceError(f"{path}: {what} {text!r} is out of range (1970 to 9999)")
    return seconds, parsed[1]


def read_wfformat(path: Path, raw: bytes | None = None, sha256: str | None = None) -> Trace:
    """Import a WfFormat instance (see the package docstring for what goes where)."""
    if raw is None:
        raw = read_bytes(path)
    instance = _instance(path, raw)
    workflow = instance.workflow
    nested = workflow.specification is not None
    tasks, sizes = _nested(path, workflow) if nested else _flat(path, workflow)
    if not tasks:
        raise TraceError(f"{path}: the workflow has no tasks")
    ids = [t.task_id for t in tasks]
    parents = resolve_parents(path, ids, [t.parents for t in tasks])
    topological_order(path, ids, parents)  # rejects cycles
    execution = workflow.execution if nested else None
    executed_raw = execution.executedAt if execution is not None else workflow.executedAt
    anchor: float | None = None
    zone_note = None
    if executed_raw is not None:
        anchor, zoned = _instant(path, executed_raw, "workflow executedAt")
        if not zoned:
            zone_note = "executedAt has no time zone; read as UTC"
    has_runtimes = any(t.runtime is not None for t in tasks)
    if has_runtimes and anchor is None:
        anchor = 0.0
        zone_note = "the instance has no executedAt; tasks are anchored at the Unix epoch"
    digest = sha256 or hashlib.sha256(raw).hexdigest()
    columns = Columns(run_id=f"wf-{digest[:12]}")
    anchored = 0
    outputs = [_file_bytes(path, t, t.outputs, sizes) for t in tasks]
    external: dict[str, int] = {}
    for i, (task, task_parents) in enumerate(zip(tasks, parents, strict=True)):
        started = ended = None
        if task.runtime is not None:
            if task.executed_at:
                started = _instant(path, task.executed_at, f"task {task.task_id!r}: executedAt")[0]
            else:
                started = anchor
                anchored += 1
            assert started is not None
            ended = started + task.runtime
            if ended > MAX_UNIX_SECONDS:
                raise TraceError(f"{path}: task {task.task_id!r} ends after the year 9999")
        input_bytes = _file_bytes(path, task, task.inputs, sizes)
        # An edge carries the files the parent wrote and the child reads: files read that
        # no parent wrote are external input. Kept where "input minus the parents'
        # outputs" (what replay assumes otherwise) gets it wrong.
        written = {f for p in task_parents for f in tasks[p].outputs}
        exact = _file_bytes(path, task, [f for f in task.inputs if f not in written], sizes) or 0
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
    machines = execution.machines if execution is not None else workflow.machines
    makespan = execution.makespanInSeconds if execution is not None else workflow.makespanInSeconds
    runtime_system = instance.runtimeSystem
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
        "app": {"name": instance.name or path.stem, "params": {}},
        "workers": _workers(machines),
        "started_at": timing["anchor"],
        "makespan_s": makespan,
        "source_format": "wfformat",
        "timing": timing,
        "external_input_bytes": external,
        "wfformat": {
            "schema_version": instance.schemaVersion,
            "layout": "nested" if nested else "flat",
            "name": instance.name,
            "description": instance.description,
            "created_at": instance.createdAt,
            "author": instance.author.model_dump(exclude_none=True) if instance.author else None,
            "runtime_system": runtime_system.model_dump(exclude_none=True)
            if runtime_system
            else None,
            "executed_at": executed_raw,
            "machines": [m.model_dump(exclude_none=True) for m in machines],
        },
    }
    if runtime_system is not None:
        metadata["executor"] = {
            "name": runtime_system.name,
            "params": runtime_system.model_dump(exclude_none=True, exclude={"name"}),
        }
    return Trace(
        tasks=columns.frame(),
        metadata=metadata,
        summary={"imported": "wfformat", "rows": len(columns)},
        schema_version=None,
        path=path,
    )
