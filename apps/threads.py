"""One thread per task by default: numerical libraries must not oversubscribe the cores.

A worker runs several tasks at once (threads) or beside other workers (processes), so
OpenMP and BLAS pools sized to the whole machine would fight for the same cores, and task
durations in the trace would measure contention instead of work. The
environment variables only reach libraries loaded later, so the limit is also applied
with threadpoolctl to the libraries already loaded. Task functions call ``limit_threads``
after importing their heavy libraries; it works on every executor because it runs in the
worker itself.
"""

from __future__ import annotations

import os
import threading

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_lock = threading.Lock()
_applied: set[tuple[str, int]] = set()


def limit_threads(threads: int, libraries: str = "") -> None:
    """Cap OpenMP/BLAS threads of this worker process at ``threads`` (0: leave them).

    ``libraries`` names the heavy libraries the caller has just imported: the limit is
    applied once per process for each name, as applying it costs a scan of the loaded
    shared objects.
    """
    key = (libraries, threads)
    if threads <= 0 or key in _applied:
        return
    with _lock:
        if key in _applied:
            return
        for name in VARIABLES:
            os.environ[name] = str(threads)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - installed with the science extra
            pass
        else:
            threadpool_limits(limits=threads)
        _applied.add(key)
