"""Running an app: run directory, logging, executor, engine and trace, in that order.

``execute`` and ``RunResult`` are imported on first use, so that executors and the CLI
can use ``tapstrace.runner.signals`` without loading the whole runner.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunResult", "execute"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tapstrace.runner import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
