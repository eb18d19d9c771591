"""Executor plugins (installed as tapstrace.executors): one module per executor family.

Each module registers an ``ExecutorConfig`` subclass with ``@register("executor")`` and
imports its framework lazily, inside ``build``, so listing plugins stays fast and an
executor whose extra is not installed fails only when chosen.
"""

from __future__ import annotations
