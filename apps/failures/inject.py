"""The failures themselves: a picklable wrapper that makes a task fail in a chosen way.

Each kind fails the way real tasks do, with an exception type that names it in the
trace's ``error_type``:

- ``exception``: raises :class:`InjectedException`;
- ``dependency``: the task gets an extra parent (``injected_parent``) that raises
  :class:`InjectedDependencyFailure`, so the task itself ends ``dependency_failed``;
- ``killed``: the worker process exits with :data:`KILL_EXIT_CODE` (``os._exit``), as if
  killed; in the client's own process (thread executor) it raises
  :class:`InjectedWorkerKill` instead of taking the client down;
- ``timeout``: hangs for the limit, then raises :class:`InjectedTimeout`, as a watchdog
  would;
- ``memory``: allocates (and touches) up to a bounded number of MB, then raises
  :class:`InjectedMemoryError`;
- ``import``: imports a module that does not exist: a real ``ModuleNotFoundError``.

By default an injected task fails only on its first attempt (a marker file records the
attempt), so engine retries show a failed attempt followed by a successful one.
"""

from __future__ import annotations

import functools
import importlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

Kind = Literal["exception", "dependency", "killed", "timeout", "memory", "import"]
KINDS: tuple[Kind, ...] = ("exception", "dependency", "killed", "timeout", "memory", "import")
#: Exit status of a worker killed by injection.
KILL_EXIT_CODE = 70
#: Keyword argument that carries the injected parent of a ``dependency`` injection.
PARENT_KEYWORD = "_tapstrace_injected_parent"
MISSING_MODULE = "tapstrace_injected_missing_module"
_BLOCK = 8 << 20


class InjectedException(Exception):
    """An injected task error."""


class InjectedDependencyFailure(Exception):
    """The injected parent of a ``dependency`` injection failed (as it always does)."""


class InjectedWorkerKill(Exception):
    """A ``killed`` injection that ran in the client process and so did not exit."""


class InjectedTimeout(TimeoutError):
    """The task hung past its time limit."""


class InjectedMemoryError(MemoryError):
    """The task allocated memory up to the injection's cap."""


def _task_name(fn: Callable[..., Any]) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", type(fn).__name__)


def first_attempt(marker_dir: str | None, index: int) -> bool:
    """True the first time it is called for ``index`` (atomic across processes).

    ``marker_dir`` None means every attempt counts as the first (persistent failures).
    """
    if marker_dir is None:
        return True
    try:
        fd = os.open(Path(marker_dir) / f"{index}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def fail(kind: Kind, *, timeout_seconds: float, memory_mb: int, client_pid: int) -> None:
    """Fail now in the way ``kind`` says (never returns)."""
    if kind == "exception":
        raise InjectedException("injected task error")
    if kind == "killed":
        if os.getpid() == client_pid:
            raise InjectedWorkerKill(
                "injected worker kill refused: the task runs in the client process"
            )
        os._exit(KILL_EXIT_CODE)
    if kind == "timeout":
        time.sleep(timeout_seconds)
        raise InjectedTimeout(f"injected hang: stopped at the {timeout_seconds:g} s limit")
    if kind == "memory":
        blocks = []
        for _ in range(max(1, (memory_mb << 20) // _BLOCK)):
            blocks.append(b"\x01" * _BLOCK)  # written, so really resident
        del blocks
        raise InjectedMemoryError(f"injected memory blow-up: {memory_mb} MB allocated")
    if kind == "import":
        importlib.import_module(MISSING_MODULE)
    raise ValueError(f"cannot inject {kind!r} here")


class Injected:
    """Calls the task's function after failing in the injected way (first attempt only,
    unless persistent). Keeps the function's name, so the trace still names the task."""

    def __init__(
        self,
        fn: Callable[..., Any],
        kind: Kind,
        index: int,
        *,
        marker_dir: str | None,
        timeout_seconds: float,
        memory_mb: int,
        client_pid: int,
    ) -> None:
        self.fn = fn
        self.kind = kind
        self.index = index
        self.marker_dir = marker_dir
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.client_pid = client_pid

    @property
    def __name__(self) -> str:
        return _task_name(self.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop(PARENT_KEYWORD, None)
        if self.kind != "dependency" and first_attempt(self.marker_dir, self.index):
            fail(
                self.kind,
                timeout_seconds=self.timeout_seconds,
                memory_mb=self.memory_mb,
                client_pid=self.client_pid,
            )
        return self.fn(*args, **kwargs)


def injected_parent(marker_dir: str | None, index: int) -> None:
    """The extra parent of a ``dependency`` injection: fails (first attempt only, unless
    persistent), so its child ends ``dependency_failed``."""
    if first_attempt(marker_dir, index):
        raise InjectedDependencyFailure("injected failure of a task's dependency")
