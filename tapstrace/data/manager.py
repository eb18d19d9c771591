"""The DataManager: applies a filter and a transformer to task arguments and results.

The engine owns one and sends it to the workers with every task, so it holds only
picklable parts. Client side: ``transform_call`` moves arguments out of band before a
task is handed to the executor, ``resolve_value`` turns a result's references back into
objects for the user. Worker side (the ``DataResolver`` of tapstrace.engine.worker):
``resolve_call`` before the call, ``transform_result`` after it.

Which objects are candidates: each positional and keyword argument (and a result) is
tested as a whole; if it passes the filter it moves as one object. If it does not pass,
or holds something that must stay in band (a TaskFuture, a reference), the walk goes
into it by the argument rule (tapstrace.engine.dataflow: lists, tuples, sets, dict
values) and tests its items the same way. None and booleans never move.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapstrace.data.filters import AllFilter
from tapstrace.data.reference import Reference, Transformer
from tapstrace.engine.dataflow import DESCEND, children, contains, replace, replace_call, rewrite

_NEVER = (type(None), bool)


class DataManager:
    """A filter (``filter(obj) -> bool``; every object when None) and a transformer."""

    __slots__ = ("filter", "transformer")

    def __init__(self, filter: Callable[[Any], bool] | None, transformer: Transformer) -> None:
        self.filter: Callable[[Any], bool] = filter if filter is not None else AllFilter()
        self.transformer = transformer

    def __reduce__(self) -> tuple[Any, ...]:
        return (DataManager, (self.filter, self.transformer))

    # -- client side ----------------------------------------------------------------

    def transform_call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], keep: type | tuple[type, ...] = ()
    ) -> tuple[tuple[Any, ...], dict[str, Any], int]:
        """Arguments with the objects that pass the filter replaced by references.

        Instances of ``keep`` (the engine's TaskFutures) stay in place, and so do the
        containers that hold them. Returns the new arguments and the bytes stored.
        """
        stop: tuple[type, ...] = (Reference, *(keep if isinstance(keep, tuple) else (keep,)))
        moved = 0
        new_args: list[Any] = []
        for arg in args:
            new, n = self._move(arg, stop)
            new_args.append(new)
            moved += n
        new_kwargs = {}
        for key, value in kwargs.items():
            new, n = self._move(value, stop)
            new_kwargs[key] = new
            moved += n
        if not moved:
            return args, kwargs, 0
        return tuple(new_args), new_kwargs, moved

    def resolve_value(self, value: Any) -> Any:
        """``value`` with its references resolved (``value`` itself when it holds none)."""
        if isinstance(value, Reference):
            return self.transformer.resolve(value)
        if not contains(value, Reference):
            return value
        return replace(value, Reference, _Fetcher(self.transformer))

    def close(self) -> None:
        """Remove everything the run stored out of band."""
        self.transformer.close()

    # -- worker side (tapstrace.engine.worker.DataResolver) ---------------------------

    def resolve_call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any], int]:
        """Arguments with their references resolved, and the bytes they stood for."""
        if not (contains(args, Reference) or contains(kwargs, Reference)):
            return args, kwargs, 0
        fetch = _Fetcher(self.transformer)
        args, kwargs = replace_call(args, kwargs, Reference, fetch)
        return args, kwargs, fetch.stored_bytes

    def transform_result(self, value: Any) -> tuple[Any, int]:
        """The result with what passes the filter moved out of band, and the bytes stored."""
        return self._move(value, (Reference,))

    # -- internals --------------------------------------------------------------------

    def _move(self, obj: Any, stop: tuple[type, ...]) -> tuple[Any, int]:
        moved = 0

        def visit(node: Any) -> Any:
            nonlocal moved
            kind = type(node)
            if kind in _NEVER or issubclass(kind, stop):
                return node
            # A container that holds a future or a reference never moves whole (its
            # items may).
            if self.filter(node) and (children(node) is None or not contains(node, stop)):
                ref = self.transformer.transform(node)
                moved += ref.stored_bytes
                return ref
            return DESCEND

        new = rewrite(obj, visit)
        return (new, moved) if moved else (obj, 0)


class _Fetcher:
    """Resolves references, each distinct one once, and adds up the bytes behind them."""

    __slots__ = ("done", "stored_bytes", "transformer")

    def __init__(self, transformer: Transformer) -> None:
        self.transformer = transformer
        self.done: dict[int, Any] = {}
        self.stored_bytes = 0

    def __call__(self, ref: Reference) -> Any:
        key = id(ref)
        if key not in self.done:
            self.done[key] = self.transformer.resolve(ref)
            self.stored_bytes += ref.stored_bytes
        return self.done[key]
