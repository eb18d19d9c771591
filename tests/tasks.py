"""Task functions for tests: importable by worker processes (spawn pickles by name)."""

from __future__ import annotations

import os
import time
from typing import Any


def add(a: float, b: float) -> float:
    return a + b


def identity(x: Any) -> Any:
    return x


def total(values: Any) -> float:
    """Sum of numbers nested in lists, tuples, dicts (values) and sets."""
    if isinstance(values, dict):
        return sum(total(v) for v in values.values())
    if isinstance(values, list | tuple | set | frozenset):
        return sum(total(v) for v in values)
    return float(values)


def fail(message: str = "boom") -> None:
    raise ValueError(message)


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def ray_get_first(refs: list[Any]) -> Any:
    """The value of the first Ray ObjectRef in ``refs``, fetched on the worker."""
    import ray

    return ray.get(refs[0])


def die() -> None:
    os._exit(13)


class Flaky:
    """Fails until a marker file exists, then succeeds; creates the marker on failure."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.__name__ = "flaky"

    def __call__(self) -> str:
        if os.path.exists(self.marker):
            return "ok"
        open(self.marker, "w").close()
        raise RuntimeError("first attempt fails")


def import_from(directory: str, module: str) -> str:
    """Import ``module`` from ``directory`` inside the task (a first-use import)."""
    import importlib
    import sys

    if directory not in sys.path:
        sys.path.insert(0, directory)
    importlib.import_module(module)
    return module
