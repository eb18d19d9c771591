"""The function that the remote executors (globus, taskvine) run on their workers.

A module of its own that imports nothing: a worker that unpickles the function by
reference loads only this and the task wrapper, not the plugin (pydantic, the registry),
which matters where every task starts a new Python process (TaskVine's PythonTask).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any


def run_task(call: Callable[[], Any], /) -> Any:
    """Run the engine's task call; return a failure instead of raising it.

    Both executors would turn a raised exception into text (Globus Compute) or into a
    missing output (TaskVine). Returned, the call's TaskFailed keeps the worker's report
    (times, host, sizes), and the plugin reports it as the task's failure.
    """
    try:
        return call()
    except Exception as failure:
        return failure


def host_pid() -> str:
    """Worker id where the executor exposes none of its own: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"
