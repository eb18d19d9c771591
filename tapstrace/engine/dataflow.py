"""Walking task arguments: the one rule every part of tapstrace follows.

The rule: a walk goes into exact builtin containers only: ``list``, ``tuple`` (named
tuples too: any tuple subclass), ``set``, ``frozenset`` and the *values* of an exact
``dict``. Dict keys are never searched (a key must stay hashable and equal to itself), and
nothing else is entered: user objects, subclasses of list or dict, lazy proxies are
leaves, never traversed or rebuilt. Types are tested with ``type()``, never
``isinstance``: a lazy proxy (ProxyStore) would fetch its target to answer isinstance.

Dependencies (TaskFutures in a task's arguments), data management (what moves out of
band, tapstrace.data), sizes and payload kinds (tapstrace.engine.sizes) all walk by it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

#: Returned by a :func:`rewrite` callback: keep this node, and walk into it if it is a
#: container.
DESCEND: Any = object()


def children(obj: Any) -> Iterable[Any] | None:
    """What a walk searches inside ``obj``: its items (a dict's values), or None for a leaf."""
    kind = type(obj)
    if kind is dict:
        return obj.values()
    if kind is list or kind is set or kind is frozenset or issubclass(kind, tuple):
        return obj
    return None


def rebuild(obj: Any, items: list[Any]) -> Any:
    """A container of ``obj``'s type holding ``items`` (for a dict: its keys, new values)."""
    kind = type(obj)
    if kind is dict:
        return dict(zip(obj, items, strict=True))
    if kind is list:
        return items
    if hasattr(obj, "_fields"):  # named tuple
        return kind(*items)
    return kind(items)


def collect(obj: Any, kind: type | tuple[type, ...], out: list[Any]) -> None:
    """Append every instance of ``kind`` found in ``obj`` (by the rule) to ``out``."""
    if issubclass(type(obj), kind):
        out.append(obj)
        return
    items = children(obj)
    if items is not None:
        for item in items:
            collect(item, kind, out)


def contains(obj: Any, kind: type | tuple[type, ...]) -> bool:
    """Whether an instance of ``kind`` is anywhere in ``obj`` (by the rule)."""
    if issubclass(type(obj), kind):
        return True
    items = children(obj)
    return items is not None and any(contains(item, kind) for item in items)


def collect_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], kind: type | tuple[type, ...]
) -> list[Any]:
    """Every instance of ``kind`` in a call's positional and keyword arguments."""
    found: list[Any] = []
    if args:
        collect(args, kind, found)
    if kwargs:
        collect(kwargs, kind, found)
    return found


def rewrite(obj: Any, fn: Callable[[Any], Any]) -> Any:
    """``obj`` with nodes replaced, top down: ``fn(node)`` returns the replacement, or
    :data:`DESCEND` to keep the node and walk into it. Containers in which nothing was
    replaced are returned as they are (no copy)."""
    new = fn(obj)
    if new is not DESCEND:
        return new
    items = children(obj)
    if items is None:
        return obj
    replaced = [rewrite(item, fn) for item in items]
    if all(a is b for a, b in zip(replaced, items, strict=True)):
        return obj
    return rebuild(obj, replaced)


def replace(obj: Any, kind: type | tuple[type, ...], fn: Callable[[Any], Any]) -> Any:
    """``obj`` with every instance of ``kind`` replaced by ``fn(instance)``."""
    return rewrite(obj, lambda node: fn(node) if issubclass(type(node), kind) else DESCEND)


def replace_call(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    kind: type | tuple[type, ...],
    fn: Callable[[Any], Any],
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``replace`` applied to a call's positional and keyword arguments."""
    return replace(args, kind, fn), replace(kwargs, kind, fn)
