"""The parts of a WfFormat instance tapstrace reads, as pydantic models.

Written from the WfFormat documentation (the 1.5 JSON schema of wfcommons/WfFormat, and
the flat layout of 1.4 and earlier): types and ranges of every field the importer uses
are checked; other fields are ignored, so instances with extra keys still import. Where
real instances differ from the schema (``runtime`` for ``runtimeInSeconds``, ``jobs`` for
``tasks``, ``size`` for ``sizeInBytes``, a 1.4 file's ``name`` or ``path``, ``count`` for a
CPU's ``coreCount``), both spellings are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

#: Longest runtime or makespan accepted: about 317 years.
MAX_SECONDS = 1e10
#: Largest file accepted: 1 PiB.
MAX_FILE_BYTES = 1 << 50


def _integral(value: Any) -> Any:
    """JSON numbers that are whole (``100`` or ``100.0``) as int; booleans refused."""
    if isinstance(value, bool):
        raise ValueError("a number is expected, not a boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Name = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=4096)]
Text = Annotated[str, StringConstraints(strict=True, max_length=1_000_000)]
Seconds = Annotated[float, Field(strict=True, ge=0.0, le=MAX_SECONDS, allow_inf_nan=False)]
Bytes = Annotated[int, BeforeValidator(_integral), Field(strict=True, ge=0, le=MAX_FILE_BYTES)]
Count = Annotated[int, BeforeValidator(_integral), Field(strict=True, ge=1, le=1 << 40)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Command(_Part):
    """``command``: the program a task ran."""

    program: Text | None = None


class Cpu(_Part):
    """A machine's CPU."""

    coreCount: Count | None = Field(None, validation_alias=AliasChoices("coreCount", "count"))
    speedInMHz: Count | None = None
    vendor: Text | None = None


class Machine(_Part):
    """A machine (node) of the execution."""

    nodeName: Text | None = None
    system: Text | None = None
    architecture: Text | None = None
    release: Text | None = None
    memoryInBytes: Annotated[int, BeforeValidator(_integral), Field(strict=True, ge=0)] | None = (
        None
    )
    cpu: Cpu | None = None


class RuntimeSystem(_Part):
    """``runtimeSystem`` (1.5) or ``wms`` (1.4): the workflow system that ran it."""

    name: Name
    version: Text | None = None
    url: Text | None = None


class Author(_Part):
    """Who made the instance."""

    name: Text | None = None
    email: Text | None = None
    institution: Text | None = None
    country: Text | None = None


class SpecTask(_Part):
    """A task of ``workflow.specification.tasks`` (1.5)."""

    id: Name | None = None
    name: Name | None = None
    parents: list[Name] = []
    children: list[Name] = []
    inputFiles: list[Name] = []
    outputFiles: list[Name] = []

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.id is None and self.name is None:
            raise ValueError("a task has an id (or a name); this has neither")
        return self

    @property
    def key(self) -> str:
        """The task's id (its name when it has no id)."""
        return self.id if self.id is not None else str(self.name)


class SpecFile(_Part):
    """A file of ``workflow.specification.files`` (1.5)."""

    id: Name
    sizeInBytes: Bytes | None = Field(None, validation_alias=AliasChoices("sizeInBytes", "size"))


class Specification(_Part):
    """``workflow.specification`` (1.5): the DAG and its files."""

    tasks: list[SpecTask]
    files: list[SpecFile] = []


class ExecTask(_Part):
    """A task of ``workflow.execution.tasks`` (1.5): how it ran."""

    id: Name
    runtimeInSeconds: Seconds = Field(validation_alias=AliasChoices("runtimeInSeconds", "runtime"))
    executedAt: Text | None = None
    command: Command | None = None
    machines: list[Text] = []


class Execution(_Part):
    """``workflow.execution`` (1.5)."""

    makespanInSeconds: Seconds | None = Field(
        None, validation_alias=AliasChoices("makespanInSeconds", "makespan")
    )
    executedAt: Text | None = None
    tasks: list[ExecTask] = []
    machines: list[Machine] = []


class FlatFile(_Part):
    """A file of a 1.4 task: read or written (``link``)."""

    id: Text | None = None
    name: Text | None = None
    path: Text | None = None
    link: Text | None = None
    sizeInBytes: Bytes | None = Field(None, validation_alias=AliasChoices("sizeInBytes", "size"))

    @property
    def key(self) -> str:
        """The file's identity: its path and its name (or id)."""
        return (self.path or "") + (self.name if self.name is not None else (self.id or ""))


class FlatTask(_Part):
    """A task of a 1.4 (flat) instance: DAG, files and execution in one object."""

    name: Name
    id: Name | None = None
    category: Text | None = None
    command: Command | None = None
    parents: list[Name] = []
    children: list[Name] = []
    files: list[FlatFile] = []
    runtimeInSeconds: Seconds = Field(validation_alias=AliasChoices("runtimeInSeconds", "runtime"))
    machine: Text | None = None
    executedAt: Text | None = None


class Workflow(_Part):
    """``workflow``: nested (1.5: specification + execution) or flat (1.4: tasks)."""

    specification: Specification | None = None
    execution: Execution | None = None
    tasks: list[FlatTask] | None = Field(None, validation_alias=AliasChoices("tasks", "jobs"))
    makespanInSeconds: Seconds | None = Field(
        None, validation_alias=AliasChoices("makespanInSeconds", "makespan")
    )
    executedAt: Text | None = None
    machines: list[Machine] = []

    @model_validator(mode="after")
    def _has_tasks(self) -> Self:
        if self.specification is None and self.tasks is None:
            raise ValueError("a workflow has specification.tasks (1.5) or tasks (1.4)")
        return self


class Instance(_Part):
    """A WfFormat instance."""

    name: Text | None = None
    description: Text | None = None
    createdAt: Text | None = None
    schemaVersion: Text | None = None
    author: Author | None = None
    runtimeSystem: RuntimeSystem | None = Field(
        None, validation_alias=AliasChoices("runtimeSystem", "wms")
    )
    workflow: Workflow
