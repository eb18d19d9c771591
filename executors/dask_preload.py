"""Dask preload run in each worker process of a local cluster that tapstrace starts.

The workers ignore SIGINT: Ctrl-C in a terminal signals the whole process group, and
workers that die of it print tracebacks and leave their tasks to the run. The run itself
handles Ctrl-C, records what was pending and closes the cluster, which stops the workers.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    """Called by Dask as the worker starts."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
