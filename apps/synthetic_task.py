"""The synthetic app's task, in a module of its own that imports nothing heavy.

Workers import a task's module to unpickle its function; where every task is a new Python
process (TaskVine's task mode) that import is paid per task. The app's module imports
numpy, pydantic and the engine (about 130 ms); this one only tapstrace.replay.task.
"""

from __future__ import annotations

from typing import Any

from tapstrace.replay.task import occupy


def synthetic_task(duration: float, mode: str, output_bytes: int, *inputs: Any) -> bytes:
    """Sleep or spin for ``duration`` seconds, then return ``output_bytes`` zero bytes.

    ``inputs`` are the parents' payloads: received (so the executor moves them) and
    ignored.
    """
    occupy(duration, mode)
    return bytes(output_bytes)
