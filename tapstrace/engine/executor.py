"""The executor interface that every executor plugin implements.

An executor plugin's config builds an ``Executor``: anything with ``submit`` returning a
``concurrent.futures.Future`` (or a future the plugin adapts to one) and ``shutdown``.
Executors that take futures as task arguments (Dask, Parsl, Ray) set
``native_dependencies`` so the engine hands them parents' futures directly and data moves
worker to worker; the others get the engine's dependency wrapper.
"""

from __future__ import annotations

import concurrent.futures
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any


class Executor(ABC):
    """A task executor as the engine sees it."""

    #: The executor resolves futures passed as arguments itself.
    native_dependencies: bool = False
    #: ... also when nested in lists, tuples and dicts (Dask), not only at top level.
    native_nested: bool = False

    @abstractmethod
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Schedule ``fn(*args, **kwargs)``; return a concurrent.futures-style future."""

    @abstractmethod
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Release every resource; leave no process behind."""

    def native_argument(self, future: Any) -> Any:
        """What to pass to a child task in place of a parent's executor future."""
        return future

    def worker_id_function(self) -> Callable[[], str | None] | None:
        """A picklable function that returns the executor's id for the current worker."""
        return None

    def workers(self) -> int | None:
        """How many workers (task slots) the executor has, when known."""
        return None

    def describe(self) -> dict[str, Any]:
        """Facts about the live executor for the trace metadata (versions, addresses)."""
        return {}


class PoolExecutor(Executor):
    """Adapter for a ``concurrent.futures.Executor`` (thread and process pools)."""

    def __init__(
        self,
        pool: concurrent.futures.Executor,
        workers: int | None = None,
        worker_id: Callable[[], str | None] | None = None,
    ) -> None:
        self.pool = pool
        self._workers = workers
        self._worker_id = worker_id

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def worker_id_function(self) -> Callable[[], str | None] | None:
        return self._worker_id

    def workers(self) -> int | None:
        return self._workers
