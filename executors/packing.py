"""Handing a task's parent futures to an executor as top-level arguments, wherever they sit.

The engine finds futures at any depth of a task's arguments (lists, tuples, named tuples,
dict keys and values, sets, frozensets). Executors resolve less: Ray only top-level
arguments, Dask neither dict keys nor frozensets, Parsl what its dependency resolver
walks; and Dask's and Parsl's ``submit`` reserve keyword names (``priority``,
``walltime``, ``inputs``...) that a task's own keywords would collide with.

So the executor plugins submit ``run_packed(call, *futures)``: the framework sees only
the futures, as top-level arguments, and resolves them natively (data moves worker to
worker); ``call`` holds the task's arguments with each future replaced by a numbered
placeholder, filled with the resolved values on the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapstrace.engine.dataflow import collect_call, replace_call


class Slot:
    """Placeholder for the ``index``-th future of a packed call."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __reduce__(self) -> tuple[Any, ...]:
        return (Slot, (self.index,))

    def __repr__(self) -> str:
        return f"Slot({self.index})"


class PackedCall:
    """``fn(*args, **kwargs)`` whose futures were replaced by :class:`Slot` placeholders."""

    __slots__ = ("args", "fn", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedCall, (self.fn, self.args, self.kwargs))

    @property
    def __name__(self) -> str:
        return getattr(self.fn, "__name__", type(self.fn).__name__)

    def __call__(self, *values: Any) -> Any:
        args, kwargs = self.args, self.kwargs
        if values:
            args, kwargs = replace_call(args, kwargs, Slot, lambda slot: values[slot.index])
        return self.fn(*args, **kwargs)


def pack_call(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], kind: type
) -> tuple[PackedCall, list[Any]]:
    """Lift every instance of ``kind`` (the executor's futures) out of the arguments.

    Returns the packed call and the distinct futures, in order of first appearance; a
    future that appears twice is passed once.
    """
    found = collect_call(args, kwargs, kind) if args or kwargs else []
    if not found:
        return PackedCall(fn, args, kwargs), []
    futures: list[Any] = []
    index: dict[int, int] = {}
    for future in found:
        if id(future) not in index:
            index[id(future)] = len(futures)
            futures.append(future)
    args, kwargs = replace_call(args, kwargs, kind, lambda f: Slot(index[id(f)]))
    return PackedCall(fn, args, kwargs), futures


def run_packed(call: PackedCall, *values: Any) -> Any:
    """What the framework runs: the packed call with its futures' values."""
    return call(*values)
