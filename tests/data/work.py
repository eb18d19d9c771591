"""Task functions for the data tests (importable by worker processes)."""

from __future__ import annotations

from typing import Any

import numpy as np


def kinds(*args: Any, **kwargs: Any) -> list[str]:
    """Type names of the arguments as the task received them (``type()``: no proxy fetch)."""
    return [type(v).__name__ for v in [*args, *kwargs.values()]]


def array_sum(values: Any) -> float:
    return float(np.sum(values))


def make_array(n: int, value: float = 1.0) -> np.ndarray:
    return np.full(n, value)


def nested_total(items: Any, scale: Any = 1.0) -> float:
    """Sum of the arrays and numbers in a list/tuple/dict, times the sum of ``scale``."""
    if isinstance(items, dict):
        items = list(items.values())
    return float(sum(float(np.sum(x)) for x in items) * float(np.sum(scale)))


def proxy_state(value: Any) -> tuple[str, bool, float]:
    """Type name of the argument, whether it was resolved on entry, and its sum."""
    from proxystore.proxy import Proxy, is_resolved

    kind = type(value)
    resolved = is_resolved(value) if kind is Proxy else True
    return kind.__name__, resolved, float(np.sum(value))


class FlakySum:
    """Fails on its first call (creating a marker file), then sums its argument."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.__name__ = "flaky_sum"

    def __call__(self, values: Any) -> float:
        import os

        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("first attempt fails")
        return float(np.sum(values))
