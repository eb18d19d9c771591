"""TaPS task records in every shape TaPS has written them, validated as they are parsed.

TaPS' record logger writes one JSON object per finished task, one per line, to the run
directory (``tasks.json`` or ``tasks.jsonl``, depending on the version). The fields
changed three times (docs/formats.md, *TaPS eras*):

=========================  ======================================================
era (from)                 record fields
=========================  ======================================================
``2024-05-13 prototype``   task_id, function_name, parent_task_ids, started_time
                           (submission), finished_time (completion callback)
``2024-05-13``             task_id, function_name, parent_task_ids, submit_time,
                           received_time, execution{hostname, 8 worker-side times}
``2024-05-29``             + success, exception (its text; from 2024-06-28 an
                           object {type, message, traceback}); TaPS 0.1.0, 0.2.0
``2024-09-06+``            ``name`` instead of ``function_name``; TaPS 0.2.1 on
=========================  ======================================================

:class:`TaskRecord` is the union of them: every field optional except the task id, the
parent ids and one of the two name fields; each field is checked for its type and
range (times are Unix seconds between 1970 and 9999).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)

from tapstrace.errors import TraceError
from tapstrace.formats.jsonfile import json_problem, loads
from tapstrace.formats.validation import UnixSeconds, problem

#: Record eras, oldest first (see the module docstring).
ERAS = ("2024-05-13 prototype", "2024-05-13", "2024-05-29", "2024-09-06+")

TaskId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)]
Text = Annotated[str, StringConstraints(strict=True, max_length=1_000_000)]


class _Part(BaseModel):
    # Fields TaPS may add later are ignored, not refused: a newer TaPS still imports.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ExceptionInfo(_Part):
    """The exception a task raised (records since 2024-06-28)."""

    type: Text | None = None
    message: Text | None = None
    traceback: Text | None = None


class ExecutionInfo(_Part):
    """What the worker measured (records since 2024-05-13)."""

    hostname: Text | None = None
    execution_start_time: UnixSeconds | None = None
    execution_end_time: UnixSeconds | None = None
    task_start_time: UnixSeconds | None = None
    task_end_time: UnixSeconds | None = None
    input_transform_start_time: UnixSeconds | None = None
    input_transform_end_time: UnixSeconds | None = None
    result_transform_start_time: UnixSeconds | None = None
    result_transform_end_time: UnixSeconds | None = None


class TaskRecord(_Part):
    """One TaPS task record, of any era."""

    task_id: TaskId
    parent_task_ids: list[TaskId]
    name: Text | None = None
    function_name: Text | None = None
    submit_time: UnixSeconds | None = None
    received_time: UnixSeconds | None = None
    started_time: UnixSeconds | None = None  # prototype: when the app submitted the task
    finished_time: UnixSeconds | None = None  # prototype: when its future completed
    success: StrictBool | None = None
    exception: ExceptionInfo | Text | None = None
    execution: ExecutionInfo | None = None

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.name is None and self.function_name is None:
            raise ValueError("a TaPS task record has a name (or function_name); this has neither")
        return self

    @property
    def era(self) -> str:
        """Which TaPS era wrote this record (by the fields it has)."""
        fields = self.model_fields_set
        if "name" in fields:
            return ERAS[3]
        if "success" in fields or "exception" in fields:
            return ERAS[2]
        if "submit_time" in fields or "execution" in fields or "received_time" in fields:
            return ERAS[1]
        return ERAS[0]

    @property
    def function(self) -> str:
        """The task's function (or task) name."""
        return self.name if self.name is not None else (self.function_name or "task")

    @property
    def submitted(self) -> float | None:
        """When the app submitted the task (prototype: ``started_time``)."""
        return self.submit_time if self.submit_time is not None else self.started_time

    @property
    def received(self) -> float | None:
        """When the client saw the task finish (prototype: ``finished_time``)."""
        return self.received_time if self.received_time is not None else self.finished_time

    @property
    def failed(self) -> bool:
        """Whether the task failed, in its era's terms: ``success`` false, or an exception.

        Records without ``success`` (2024-05) were only written for tasks that finished
        without an exception: TaPS' completion callback read the result first.
        """
        return self.success is False or self.exception is not None

    @property
    def error(self) -> tuple[str | None, str | None]:
        """The exception's type and message, when the record has one."""
        if isinstance(self.exception, ExceptionInfo):
            return self.exception.type, self.exception.message
        if self.exception is not None:  # 0.1: str(exception), no type
            return "Exception", self.exception
        return None, None


@dataclass(frozen=True)
class Parsed:
    """A validated record and where it was in the file ("line 3", "record 3")."""

    record: TaskRecord
    where: str


def _failure(path: Path, where: str, raw: Any, exc: ValidationError) -> TraceError:
    if isinstance(raw, dict) and "task_id" not in raw:
        return TraceError(f"{path}: {where} is not a TaPS task record (it has no task_id)")
    task_id = raw.get("task_id") if isinstance(raw, dict) else None
    task = f" (task {task_id!r})" if isinstance(task_id, str) and len(task_id) <= 64 else ""
    return TraceError(f"{path}: {where}{task}: {problem(exc)}")


def _validate(path: Path, where: str, document: Any) -> Parsed:
    try:
        return Parsed(TaskRecord.model_validate(document), where)
    except ValidationError as exc:
        if not isinstance(document, dict):
            raise TraceError(
                f"{path}: {where} is not a TaPS task record (not a JSON object)"
            ) from None
        raise _failure(path, where, document, exc) from None


def _lines(path: Path, raw: bytes) -> list[Parsed]:
    parsed: list[Parsed] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            parsed.append(Parsed(TaskRecord.model_validate_json(line), where))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            if first["type"] == "json_invalid":
                reason = json_problem(ValueError(first.get("ctx", {}).get("error", "")))
                raise TraceError(f"{path}: {where} is not a JSON record ({reason})") from None
            try:
                document = loads(line)
            except ValueError:
                document = None
            if not isinstance(document, dict):
                raise TraceError(
                    f"{path}: {where} is not a TaPS task record (not a JSON object)"
                ) from None
            raise _failure(path, where, document, exc) from None
    return parsed


def parse_records(path: Path, raw: bytes) -> list[Parsed]:
    """Every task record in ``raw``: JSON lines (what TaPS writes), or one JSON array or
    object. A record that is not valid raises a TraceError naming its line and field."""
    head = raw.lstrip()[:1]
    if head in (b"[", b"{"):
        try:
            document = loads(raw)
        except ValueError as exc:
            if head == b"[":
                raise TraceError(f"{path}: invalid JSON: {json_problem(exc)}") from None
            return _lines(path, raw)  # JSON lines (or a damaged record: its line is named)
        else:
            if isinstance(document, list):
                return [_validate(path, f"record {i}", d) for i, d in enumerate(document, 1)]
            one_line = b"\n" not in raw.strip()
            return [_validate(path, "line 1" if one_line else "record 1", document)]
    if not raw.strip():
        return []
    return _lines(path, raw)


def looks_like_record(document: Any) -> bool:
    """Whether a parsed JSON value has the shape of a TaPS task record (for detection)."""
    return (
        isinstance(document, dict)
        and "task_id" in document
        and "parent_task_ids" in document
        and ("name" in document or "function_name" in document)
    )
