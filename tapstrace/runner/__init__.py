"""Running an app: run directory, logging, executor, engine and trace, in that order."""

from __future__ import annotations

from tapstrace.runner.run import RunResult, execute

__all__ = ["RunResult", "execute"]
