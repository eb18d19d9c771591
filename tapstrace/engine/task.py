"""The engine's object for one task: the call an executor runs, the task's state, and its
record's fields under their trace names.

A record is never assembled by position: every producer sets the fields by name on the
task (the worker on its TaskCall, the engine here, the client flow in
tapstrace.engine.client), mypy checks each against its annotation, and :func:`row_of`
reads them in the schema's order with getters made from ``TaskRecord._fields``.
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Callable
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any

from tapstrace.engine.record import Row, TaskRecord
from tapstrace.engine.sizes import SizeMode
from tapstrace.engine.worker import DataResolver, TaskCall, WorkerReport

if TYPE_CHECKING:
    from tapstrace.engine.adapter import Outcome
    from tapstrace.engine.engine import Engine
    from tapstrace.engine.future import TaskFuture


class State(enum.Enum):
    """Where a task is; it moves forward only, under the engine's lock."""

    WAITING = 1  # for parents
    DISPATCHED = 2  # handed to the executor (from just before the launch)
    DONE = 3  # final record made


class Task(TaskCall):
    """Everything the engine knows of one task (not of one attempt: a retry launches the
    same task again).

    The record fields not measured on the worker are declared here, with their
    defaults; the worker's (WorkerReport's) are declared on TaskCall.
    """

    # Record fields (TaskRecord's names and types), set by name.
    run_id: str = ""
    name: str = ""
    parents: tuple[int, ...] = ()
    attempt: int = 1
    status: str = "ok"
    error_type: str | None = None
    error_message: str | None = None
    submitted: float | None = None
    ready: float | None = None
    dispatched: float | None = None
    received: float | None = None
    warmup: bool = False
    source_id: str | None = None
    client_transform_seconds: float | None = None
    client_resolve_seconds: float | None = None
    kind: str = "task"
    control_parents: tuple[int, ...] = ()
    client_seconds: float | None = None
    client_busy_seconds: float | None = None
    client_cpu_seconds: float | None = None
    module: str | None = None

    # Engine state.
    state: State = State.WAITING
    retries: int = 0
    #: Parents not done yet (waiting tasks only).
    waiting: int = 0
    #: Launched with its parents' native handles (the framework resolves them).
    native: bool = False
    #: The executor's handle of the current launch.
    handle: Any = None
    #: The parents' futures (for native tasks: to tell a parent's failure).
    parent_futures: tuple[TaskFuture, ...] = ()
    #: Tasks that registered as this one's children while it ran (None: none yet;
    #: CLOSED once it is done and they were released).
    children: list[Task] | None = None
    #: The result as the executor carried it, when it holds out-of-band references.
    carried: Any = None

    #: The engine, with what is the same for all of its tasks: class attributes of the
    #: engine's own subclass (:func:`task_class`), not stored on every task.
    engine: Engine

    def __init__(
        self,
        future: TaskFuture,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        task_id: int,
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.task_id = task_id

    def settle(self, outcome: Outcome, detail: Any) -> None:
        """The executor reports how the current launch ended (tapstrace.engine.adapter)."""
        self.engine._settle(self, outcome, detail)

    def __repr__(self) -> str:
        return f"<Task {self.task_id} {self.name!r} {self.state.name}>"


#: A done task's list of children: none can register any more.
CLOSED: list[Task] = []


def task_class(
    engine: Engine,
    *,
    local: bool,
    size_mode: SizeMode,
    worker_id_of: Callable[[], str | None] | None,
    data: DataResolver | None,
) -> type[Task]:
    """The Task subclass of one engine: what its tasks share is set once, on the class
    (a Python object with few attributes keeps them inline, cheap to set and to scan for
    the garbage collector). A local executor's tasks run in this process: their host and
    process are this one's."""
    shared: dict[str, Any] = {
        "engine": engine,
        "run_id": engine.run_id,
        "size_mode": size_mode,
        # A function as a class attribute would become a method: keep it as it is.
        "worker_id_of": None if worker_id_of is None else staticmethod(worker_id_of),
        "data": data,
        "local": local,
        # A task without arguments measures no input: this unless sizes are off.
        "input_bytes": None if size_mode == "off" else 0,
    }
    if local:
        shared["worker_host"] = socket.gethostname()
        shared["worker_pid"] = os.getpid()
    return type("Task", (Task,), shared)


#: Names of the record fields the engine sets (the others are WorkerReport's).
CLIENT_FIELDS = tuple(name for name in TaskRecord._fields if name not in WorkerReport._fields)
_all = attrgetter(*TaskRecord._fields)
_client = attrgetter(*CLIENT_FIELDS)
_order = itemgetter(
    *((*CLIENT_FIELDS, *WorkerReport._fields).index(name) for name in TaskRecord._fields)
)


def row_of(task: Task, report: tuple[Any, ...] | None) -> Row:
    """The task's record as a Row (TaskRecord's field order): the worker's fields from
    ``report`` (a WorkerReport tuple), or from the task itself when None (a local call)."""
    if report is None:
        return _all(task)
    return _order(_client(task) + report)
