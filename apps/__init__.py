"""Reference applications (installed as tapstrace.apps): one module per app.

Each module registers an ``AppConfig`` subclass with ``@register("app")``; its ``build``
returns an ``App`` whose ``run(engine, run_dir)`` submits tasks through the engine.
"""

from __future__ import annotations
