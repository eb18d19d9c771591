"""An engine front that injects failures into the tasks an app submits.

The base app receives a :class:`FailureInjectingEngine` in place of the engine: every
``submit`` draws, from a seeded stream in submission order, whether the task fails and
how, and wraps the function accordingly. Everything else goes to the real engine, so the
trace records the app's own tasks with their own names, plus the injected failures.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ALL_COMPLETED, Future
from concurrent.futures._base import DoneAndNotDoneFutures
from dataclasses import dataclass
from typing import Any

import numpy as np

from tapstrace.apps.failures.inject import (
    PARENT_KEYWORD,
    Injected,
    Kind,
    injected_parent,
)
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture


@dataclass
class Injection:
    """One injected failure: which submission, which task, which kind."""

    index: int
    task_id: int
    name: str
    kind: Kind
    parent_task_id: int | None = None  # the injected parent of a dependency injection


class FailureInjectingEngine:
    """Wraps an Engine; ``submit`` injects failures at ``rate`` (deterministic for a seed).

    Warm-up tasks are left alone. ``futures`` holds every future submitted through it and
    ``injections`` every failure injected.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        rate: float,
        kinds: Sequence[Kind],
        seed: int,
        marker_dir: str | None,
        timeout_seconds: float,
        memory_mb: int,
    ) -> None:
        self.engine = engine
        self.rate = rate
        self.kinds = list(kinds)
        self.marker_dir = marker_dir
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self.rng = np.random.default_rng([seed, 0xFA11])
        self.client_pid = os.getpid()
        self.futures: list[TaskFuture] = []
        self.injections: list[Injection] = []
        self._index = 0
        self._warmup = False

    def _draw(self) -> Kind | None:
        u, pick = self.rng.random(), self.rng.integers(len(self.kinds))
        return self.kinds[pick] if u < self.rate else None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> TaskFuture:
        """Like ``Engine.submit``; the task may get an injected failure."""
        index = self._index
        self._index += 1
        kind = None if self._warmup else self._draw()
        if kind is None:
            future = self.engine.submit(fn, *args, **kwargs)
            self.futures.append(future)
            return future
        parent: TaskFuture | None = None
        if kind == "dependency":
            parent = self.engine.submit(injected_parent, self.marker_dir, index)
            self.futures.append(parent)
            kwargs = {**kwargs, PARENT_KEYWORD: parent}
        wrapped = Injected(
            fn,
            kind,
            index,
            marker_dir=self.marker_dir,
            timeout_seconds=self.timeout_seconds,
            memory_mb=self.memory_mb,
            client_pid=self.client_pid,
        )
        future = self.engine.submit(wrapped, *args, **kwargs)
        self.futures.append(future)
        self.injections.append(
            Injection(index, future.task_id, future.name, kind,
                      parent.task_id if parent is not None else None)
        )  # fmt: skip
        return future

    # Engine.map only calls self.submit, so it serves here as it is.
    map = Engine.map

    def as_completed(
        self, futures: Iterable[Future[Any]], timeout: float | None = None
    ) -> Iterator[Future[Any]]:
        """The engine's ``as_completed`` (the client's waits are recorded)."""
        return self.engine.as_completed(futures, timeout)

    def wait(
        self,
        futures: Iterable[Future[Any]],
        timeout: float | None = None,
        return_when: str = ALL_COMPLETED,
    ) -> DoneAndNotDoneFutures[Any]:
        """The engine's ``wait`` (the client's waits are recorded)."""
        return self.engine.wait(futures, timeout, return_when)

    @contextlib.contextmanager
    def warmup(self) -> Iterator[None]:
        """The engine's warm-up block; no failures are injected inside it."""
        previous, self._warmup = self._warmup, True
        try:
            with self.engine.warmup():
                yield
        finally:
            self._warmup = previous

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)
