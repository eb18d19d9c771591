"""Pinning the BLAS/OpenMP thread pools of the process a task runs in.

Executors run several tasks per machine at once; if each task's numpy/scipy call also
starts one BLAS thread per core, the machine is oversubscribed and task durations in the
trace measure contention instead of work. Environment variables (OMP_NUM_THREADS, ...)
only act before numpy is loaded, which an app cannot guarantee on workers that an
executor started earlier (Dask, Ray, Parsl), so tasks call :func:`pin_blas_threads`,
which uses threadpoolctl to change the limit of libraries already loaded.
"""

from __future__ import annotations

_pinned: int | None = None


def pin_blas_threads(threads: int) -> None:
    """Limit the BLAS/OpenMP pools loaded in this process to ``threads`` (0: leave them).

    Cheap after the first call in a process. Call it after importing the libraries whose
    pools should be limited (threadpoolctl only sees libraries already loaded).
    """
    global _pinned
    if threads <= 0 or _pinned == threads:
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # pragma: no cover - threadpoolctl is in the apps extra
        raise ImportError(
            "pinning BLAS threads needs threadpoolctl: pip install 'tapstrace[apps]'"
        ) from exc
    threadpool_limits(threads)
    _pinned = threads
