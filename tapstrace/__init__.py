"""tapstrace: record, replay and analyse task-based executions on any Python executor.

The package imports lazily so that worker processes, which only need the task wrapper,
never pay for polars, pyarrow or the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapstrace.lazy import lazy_attributes
from tapstrace.version import TRACE_SCHEMA_VERSION, __version__

if TYPE_CHECKING:
    from tapstrace.engine import DependencyError, Engine, TaskFuture
    from tapstrace.plugins.registry import register
    from tapstrace.trace.reader import Trace, read_trace

__all__ = [
    "TRACE_SCHEMA_VERSION",
    "DependencyError",
    "Engine",
    "TaskFuture",
    "Trace",
    "__version__",
    "read_trace",
    "register",
]

_LAZY = {
    "Engine": "tapstrace.engine",
    "TaskFuture": "tapstrace.engine",
    "DependencyError": "tapstrace.engine",
    "register": "tapstrace.plugins.registry",
    "read_trace": "tapstrace.trace.reader",
    "Trace": "tapstrace.trace.reader",
}


__getattr__ = lazy_attributes(__name__, _LAZY)
