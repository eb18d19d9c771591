"""What runs on the worker during a replay: the synthetic task and its payloads.

Imported by worker processes, so it imports nothing heavy.
"""

from __future__ import annotations

import time
from typing import Any


def occupy(duration: float, mode: str) -> None:
    """Take ``duration`` seconds: ``sleep`` (no CPU) or ``spin`` (a busy CPU, for contention)."""
    if mode == "spin":
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            pass
    elif duration > 0:
        time.sleep(duration)


class ReplayedFailure(Exception):
    """A task that failed in the source trace, failing again in the replay."""


class ReplayTask:
    """A synthetic stand-in for one source task.

    Receives its parents' payloads (and any external input) as arguments, so the executor
    moves them; sleeps, or busy-spins the CPU, for the recorded execution time; then
    returns ``output_bytes`` zero bytes, or raises ReplayedFailure when the source task
    failed. Its ``__name__`` is the source task's function name, so the replay's trace
    names tasks as the source did. The parameters live in the callable, not in the
    arguments, so the replay's recorded input bytes are exactly the payloads.
    """

    __slots__ = ("duration", "failure", "mode", "name", "output_bytes")

    def __init__(
        self, name: str, duration: float, mode: str, output_bytes: int, failure: str | None = None
    ) -> None:
        self.name = name
        self.duration = duration
        self.mode = mode
        self.output_bytes = output_bytes
        self.failure = failure

    @property
    def __name__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            ReplayTask,
            (self.name, self.duration, self.mode, self.output_bytes, self.failure),
        )

    def __call__(self, *inputs: Any) -> bytes:
        occupy(self.duration, self.mode)
        if self.failure is not None:
            raise ReplayedFailure(self.failure)
        return bytes(self.output_bytes)


def _materialised(data: bytes) -> bytes:
    return data


class ExternalPayload:
    """Input bytes that no parent produced (in the source, the app made them on the client).

    Lazy: the bytes are made on the client only when the executor serialises the call,
    so they cross the wire as real bytes while a replay of millions of tasks never holds
    them all. An executor that passes objects in memory (the thread pool) hands the task
    this small object; its ``nbytes`` gives the engine the payload size.
    """

    __slots__ = ("nbytes",)

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes

    def __reduce__(self) -> tuple[Any, ...]:
        return (_materialised, (bytes(self.nbytes),))

    def __repr__(self) -> str:
        return f"ExternalPayload({self.nbytes})"
