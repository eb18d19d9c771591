"""The replay app (``tapstrace run replay --app.trace T``, same as ``tapstrace replay T``).

Its code is in the core (tapstrace.replay); this module makes plugin discovery find it,
so ``tapstrace list apps`` shows it and a replay's saved config.toml reruns.
"""

from __future__ import annotations

from tapstrace.replay.app import ReplayConfig

__all__ = ["ReplayConfig"]
