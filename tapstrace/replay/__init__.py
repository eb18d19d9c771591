"""Replay: re-execute any trace on any executor as synthetic tasks that keep its DAG.

Worker processes import tapstrace.replay.task only, so this package imports nothing at
load time; ``replay`` (the Python API) is loaded on first use. docs/replay.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapstrace.replay.api import ReplayResult, replay

__all__ = ["ReplayResult", "replay"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("tapstrace.replay.api"), name)
    raise AttributeError(f"module 'tapstrace.replay' has no attribute {name!r}")
