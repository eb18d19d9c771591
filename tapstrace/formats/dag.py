"""Checks on an imported task graph: every parent exists, and there is no cycle."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from pathlib import Path

from tapstrace.errors import TraceError


def topological_order(
    path: Path | str, ids: Sequence[str], parents: Sequence[Sequence[int]]
) -> list[int]:
    """Positions of the tasks in an order where parents come first.

    Ties go to the lower position, so the given order is kept wherever the graph allows.
    ``ids`` name the tasks in errors; a cycle raises a TraceError naming one task on it.
    """
    n = len(parents)
    if all(p < i for i, ps in enumerate(parents) for p in ps):
        return list(range(n))
    waiting = [0] * n
    children: list[list[int]] = [[] for _ in range(n)]
    for i, ps in enumerate(parents):
        unique = set(ps)
        waiting[i] = len(unique)
        for p in unique:
            children[p].append(i)
    ready = [i for i in range(n) if not waiting[i]]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in children[i]:
            waiting[c] -= 1
            if not waiting[c]:
                heapq.heappush(ready, c)
    if len(order) < n:
        stuck = next(i for i in range(n) if waiting[i])
        raise TraceError(f"{path}: the task graph has a cycle (through task {ids[stuck]!r})")
    return order


def resolve_parents(
    path: Path | str, ids: Sequence[str], parent_ids: Sequence[Sequence[str]]
) -> list[list[int]]:
    """Parent ids (strings) turned into positions; a parent that is not a task is an error."""
    position = {task_id: i for i, task_id in enumerate(ids)}
    if len(position) < len(ids):
        seen: set[str] = set()
        duplicate = next(t for t in ids if t in seen or seen.add(t))  # type: ignore[func-returns-value]
        raise TraceError(f"{path}: task id {duplicate!r} appears twice")
    resolved = []
    for task_id, names in zip(ids, parent_ids, strict=True):
        row = []
        for name in names:
            p = position.get(name)
            if p is None:
                raise TraceError(
                    f"{path}: task {task_id!r} names parent {name!r}, which is not a task"
                )
            if p not in row:
                row.append(p)
        resolved.append(row)
    return resolved
