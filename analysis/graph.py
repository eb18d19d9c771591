"""The task graph as numpy edge arrays, and the longest path through it.

A million-task trace has millions of edges, too many for a graph library's Python
objects. Nodes are the tasks' row numbers in ``Tasks.final``; edges are two integer
arrays. The longest path is a dynamic programme over the graph's topological levels
(Kahn's algorithm, one vectorised step per level), so its cost grows with the number of
tasks and edges and with the depth of the graph, never with a Python loop over tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from tapstrace.analysis.tasks import Tasks, as_tasks
from tapstrace.errors import TraceError

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace


class CycleError(TraceError):
    """The dependencies of a trace form a cycle (a damaged or mis-imported trace)."""


@dataclass(frozen=True)
class Dag:
    """Task dependencies: edge ``k`` runs from node ``source[k]`` to node ``target[k]``.

    Attributes:
        nodes: number of tasks (rows of ``Tasks.final``).
        source: parent node of each edge.
        target: child node of each edge.
        dangling: parent ids that name no task of the trace (a partial trace, or a
            parent excluded as warm-up); those dependencies are dropped.
    """

    nodes: int
    source: np.ndarray
    target: np.ndarray
    dangling: int = 0

    @property
    def edges(self) -> int:
        """Number of dependencies."""
        return int(self.source.size)

    @cached_property
    def csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Edges sorted by source, and each node's first edge (``offsets[n]`` = edges)."""
        order = np.argsort(self.source, kind="stable")
        offsets = np.zeros(self.nodes + 1, np.int64)
        np.cumsum(np.bincount(self.source, minlength=self.nodes), out=offsets[1:])
        return order, offsets


def build_dag(final: pl.DataFrame) -> Dag:
    """The dependency graph of the final attempts (``final`` sorted by task_id)."""
    n = final.height
    if n == 0:
        empty = np.zeros(0, np.int64)
        return Dag(0, empty, empty)
    ids = final["task_id"].to_numpy()
    counts = final["parents"].list.len().to_numpy().astype(np.int64)
    exploded = final["parents"].explode(empty_as_null=False, keep_nulls=False)
    parent_ids = exploded.drop_nulls().to_numpy().astype(np.int64)
    target = np.repeat(np.arange(n, dtype=np.int64), counts)
    if parent_ids.size != target.size:  # null entries inside parent lists
        raise TraceError("parents column holds null task ids")
    if ids[-1] - ids[0] == n - 1:  # contiguous ids (a recorded trace): arithmetic
        source = parent_ids - ids[0]
        found = (source >= 0) & (source < n)
    else:
        source = np.searchsorted(ids, parent_ids)
        found = source < n
        found[found] = ids[source[found]] == parent_ids[found]
    dangling = int(parent_ids.size - found.sum())
    return Dag(n, source[found], target[found], dangling)


def task_dag(trace: Trace | Tasks) -> Dag:
    """The dependency graph of a trace's final attempts (nodes: rows of ``Tasks.final``)."""
    tasks = as_tasks(trace)
    return tasks.cached("dag", lambda: build_dag(tasks.final))


@dataclass(frozen=True)
class LongestPath:
    """The heaviest path of a weighted DAG.

    Attributes:
        length: total weight of the path (seconds for task graphs).
        path: its nodes, from first to last.
        finish: for every node, the weight of the heaviest path ending at it.
        levels: number of topological levels (the graph's depth in tasks).
    """

    length: float
    path: np.ndarray
    finish: np.ndarray
    levels: int


def _out_edges(order: np.ndarray, offsets: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Indices of all edges leaving ``nodes``, vectorised over the CSR offsets."""
    starts = offsets[nodes]
    lengths = offsets[nodes + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return order[shift + np.arange(total)]


def longest_path(
    dag: Dag, weight: np.ndarray, edge_weight: np.ndarray | None = None
) -> LongestPath:
    """The path of greatest total node (and edge) weight, by levels of Kahn's algorithm.

    ``finish[v] = weight[v] + max(finish[u] + edge_weight[u->v])`` over v's parents, with
    nodes taken level by level (a level: the nodes whose parents are all done).
    Raises CycleError when some nodes are never freed.
    """
    n = dag.nodes
    if n == 0:
        return LongestPath(0.0, np.zeros(0, np.int64), np.zeros(0), 0)
    weight = np.asarray(weight, np.float64)
    edge_w = None if edge_weight is None else np.asarray(edge_weight, np.float64)
    order, offsets = dag.csr
    indegree = np.bincount(dag.target, minlength=n)
    # Heaviest path into each node, before its own weight (weights may be negative).
    arrival = np.where(indegree > 0, -np.inf, 0.0)
    finish = np.zeros(n)
    frontier = np.flatnonzero(indegree == 0)
    owner = np.zeros(n, np.int64)
    done, levels = 0, 0
    while frontier.size:
        finish[frontier] = arrival[frontier] + weight[frontier]
        done += frontier.size
        levels += 1
        edges = _out_edges(order, offsets, frontier)
        if edges.size == 0:
            break
        children = dag.target[edges]
        reach = finish[dag.source[edges]]
        if edge_w is not None:
            reach = reach + edge_w[edges]
        np.maximum.at(arrival, children, reach)
        np.subtract.at(indegree, children, 1)
        freed = children[indegree[children] == 0]
        # Each freed node once (it appears once per parent in this level), without a sort:
        # the last of its positions wins the write, and only that position is kept.
        position = np.arange(freed.size)
        owner[freed] = position
        frontier = freed[owner[freed] == position]
    if done < n:
        raise CycleError(f"task dependencies form a cycle ({n - done} tasks on or after it)")
    # Each node's heaviest parent: the edge whose arrival equals the node's arrival.
    reach = finish[dag.source] + (edge_w if edge_w is not None else 0.0)
    best = np.full(n, -1, np.int64)
    tight = reach == arrival[dag.target]
    best[dag.target[tight]] = dag.source[tight]
    end = int(np.argmax(finish))
    path = [end]
    while best[path[-1]] >= 0:
        path.append(int(best[path[-1]]))
    return LongestPath(float(finish[end]), np.asarray(path[::-1], np.int64), finish, levels)
