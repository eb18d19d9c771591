"""First-use imports: how much of a task's CPU time went to importing modules.

A task that imports a library inside its function pays for the import in the first task
of each worker process and never again. A thread pool, whose threads share one process,
pays it once in all; a replay must know that part of the recorded CPU time apart to
replay it as an import, not as work every replayed copy repeats (docs/replay.md).

CPython's ``import`` statement calls ``importlib._bootstrap._find_and_load`` only for a
module not yet in ``sys.modules``, and ``importlib.import_module`` calls it for every
name; both look it up by name each time. Wrapped once per process, it times every
outermost import of a new module a thread makes, and costs an ``import`` statement of
a loaded module nothing. Installed when this module is imported (by tapstrace.engine.worker).
"""

from __future__ import annotations

import importlib._bootstrap as _bootstrap
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


class _Imports(threading.local):
    """What one thread imported: cumulative CPU seconds and outermost module names."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.names: list[str] = []
        self.depth = 0


imports = _Imports()

_thread_time = time.thread_time


def install() -> None:
    """Time imports in this process (idempotent)."""
    current = _bootstrap._find_and_load  # type: ignore[attr-defined]
    if getattr(current, "_tapstrace", False):
        return
    timed = _timed(current)
    _bootstrap._find_and_load = timed  # type: ignore[attr-defined]


def _timed(original: Callable[..., Any]) -> Callable[..., Any]:
    modules = sys.modules

    def find_and_load(name: str, *args: Any) -> Any:
        state = imports
        # importlib.import_module comes here for loaded modules too; an import under
        # way counts the modules it imports with it.
        if state.depth or name in modules:
            return original(name, *args)
        state.depth = 1
        start = _thread_time()
        try:
            module = original(name, *args)
        finally:
            state.depth = 0
            state.seconds += _thread_time() - start
        state.names.append(name)  # imported (a failed import is timed, not named)
        return module

    find_and_load._tapstrace = True  # type: ignore[attr-defined]
    return find_and_load


install()
