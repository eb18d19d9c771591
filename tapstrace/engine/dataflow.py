"""Finding and replacing special objects (futures, results) anywhere in call arguments.

Walks exact builtin containers (list, tuple and named tuples, dict keys and values, set,
frozenset) and nothing else, so user objects are never traversed or rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def collect(obj: Any, kind: type, out: list[Any]) -> None:
    """Append every instance of ``kind`` found in ``obj`` to ``out``."""
    t = type(obj)
    if isinstance(obj, kind):
        out.append(obj)
    elif t is dict:
        for key, value in obj.items():
            collect(key, kind, out)
            collect(value, kind, out)
    elif t in (list, set, frozenset) or isinstance(obj, tuple):
        for item in obj:
            collect(item, kind, out)


def collect_call(args: tuple[Any, ...], kwargs: dict[str, Any], kind: type) -> list[Any]:
    """Every instance of ``kind`` in a call's positional and keyword arguments."""
    found: list[Any] = []
    if args:
        collect(args, kind, found)
    if kwargs:
        collect(kwargs, kind, found)
    return found


def replace(obj: Any, kind: type, fn: Callable[[Any], Any]) -> Any:
    """A copy of ``obj`` with every instance of ``kind`` replaced by ``fn(instance)``.

    Containers that hold no instance are returned as they are (no copy).
    """
    t = type(obj)
    if isinstance(obj, kind):
        return fn(obj)
    if t is dict:
        items = [(replace(k, kind, fn), replace(v, kind, fn)) for k, v in obj.items()]
        if all(a is k and b is v for (a, b), (k, v) in zip(items, obj.items(), strict=True)):
            return obj
        return dict(items)
    if t in (list, set, frozenset) or isinstance(obj, tuple):
        new = [replace(item, kind, fn) for item in obj]
        if all(a is b for a, b in zip(new, obj, strict=True)):
            return obj
        if hasattr(obj, "_fields"):  # named tuple
            return t(*new)
        return t(new)
    return obj


def replace_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], kind: type, fn: Callable[[Any], Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``replace`` applied to a call's positional and keyword arguments."""
    return replace(args, kind, fn), replace(kwargs, kind, fn)
