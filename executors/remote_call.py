"""The function that the remote executors (globus, taskvine) run on their workers.

A module of its own that imports nothing: a worker that unpickles the function by
reference loads only this and the task wrapper, not the plugin (pydantic, the registry),
which matters where every task starts a new Python process (TaskVine's task mode, whose
process runs :func:`run_file`).
"""

from __future__ import annotations

import os
import pickle
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


def run_file(source: str, target: str) -> None:
    """TaskVine's task mode: run the task call pickled in file ``source`` and pickle what
    :func:`run_task` returns into file ``target``.

    The call was pickled by cloudpickle, whose output the standard pickle reads: a task
    process imports cloudpickle (20 ms) only when the call holds something pickled by
    value (a lambda, a function of ``__main__``), and a result only cloudpickle can
    pickle is pickled by it.
    """
    with open(source, "rb") as file:
        call = pickle.load(file)
    result = run_task(call)
    try:
        data = pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle

        data = cloudpickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    with open(target, "wb") as file:
        file.write(data)


def host_pid() -> str:
    """Worker id where the executor exposes none of its own: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"
