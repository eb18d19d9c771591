"""Task functions the app tests submit (importable by spawned worker processes)."""

from __future__ import annotations


def blas_threads() -> dict[str, int]:
    """Threads of each BLAS/OpenMP pool loaded in the calling process."""
    from threadpoolctl import threadpool_info

    return {info["filepath"]: info["num_threads"] for info in threadpool_info()}
