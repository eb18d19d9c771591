"""The task graph as numpy edge arrays, and the longest path through it.

A million-task trace has millions of edges, too many for a graph library's Python
objects. Nodes are the tasks' row numbers in ``Tasks.final``; edges are two integer
arrays. The longest path is a dynamic programme over the graph's topological levels
(Kahn's algorithm, one vectorised step per level) after contracting chains of single
links (pointer jumping), so its cost grows with the number of tasks and edges and with
the depth of the contracted graph, never with a Python loop over tasks. (The walk back
along the path loops over the chains it crosses.)
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
        weight: each edge's weight in seconds (None: all 0). Control edges weigh the
            client's time between seeing its parents' results and submitting the child.
        control: how many of the edges are control edges (the rest are data edges).
    """

    nodes: int
    source: np.ndarray
    target: np.ndarray
    dangling: int = 0
    weight: np.ndarray | None = None
    control: int = 0

    @property
    def edges(self) -> int:
        """Number of dependencies."""
        return int(self.source.size)

    @cached_property
    def chains(self) -> Chains:
        """The graph with its chains of single links contracted (see :func:`contract`)."""
        return contract(self)

    @cached_property
    def depth(self) -> int:
        """Tasks on the longest chain of dependencies (0 for an empty graph)."""
        plain = self if self.weight is None else Dag(self.nodes, self.source, self.target)
        return round(longest_path(plain, np.ones(self.nodes)).length)

    @cached_property
    def csr(self) -> tuple[np.ndarray, np.ndarray]:
        """Edges sorted by source, and each node's first edge (``offsets[n]`` = edges)."""
        order = np.argsort(self.source, kind="stable")
        offsets = np.zeros(self.nodes + 1, np.int64)
        np.cumsum(np.bincount(self.source, minlength=self.nodes), out=offsets[1:])
        return order, offsets


def edges_from(final: pl.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Edges from the task ids listed in ``column`` to each row: (source, target) node
    arrays and the number of ids that name no task of ``final``."""
    n = final.height
    ids = final["task_id"].to_numpy()
    counts = final[column].list.len().fill_null(0).to_numpy().astype(np.int64)
    exploded = final[column].explode(empty_as_null=False, keep_nulls=False)
    parent_ids = exploded.drop_nulls().to_numpy().astype(np.int64)
    target = np.repeat(np.arange(n, dtype=np.int64), counts)
    if parent_ids.size != target.size:  # null entries inside parent lists
        raise TraceError(f"{column} column holds null task ids")
    if int(ids[-1]) - int(ids[0]) == n - 1:  # contiguous ids (a recorded trace): arithmetic
        source = parent_ids - ids[0]
        found = (source >= 0) & (source < n)
    else:
        source = np.searchsorted(ids, parent_ids)
        found = source < n
        found[found] = ids[source[found]] == parent_ids[found]
    dangling = int(parent_ids.size - found.sum())
    return source[found], target[found], dangling


def build_dag(final: pl.DataFrame, *, control: bool = False) -> Dag:
    """The dependency graph of the final attempts (``final`` sorted by task_id).

    With ``control``, the client's control edges (schema 1.2 ``control_parents``: results
    the client had seen before submitting the task) join the data edges, each weighing
    the child's ``client_seconds`` (0 when unknown).
    """
    n = final.height
    if n == 0:
        empty = np.zeros(0, np.int64)
        return Dag(0, empty, empty)
    source, target, dangling = edges_from(final, "parents")
    if not (control and "control_parents" in final.columns):
        return Dag(n, source, target, dangling)
    c_source, c_target, c_dangling = edges_from(final, "control_parents")
    client = final["client_seconds"].fill_null(0.0).to_numpy().astype(np.float64)
    weight = np.concatenate([np.zeros(source.size), client[c_target]])
    return Dag(
        n,
        np.concatenate([source, c_source]),
        np.concatenate([target, c_target]),
        dangling + c_dangling,
        weight,
        int(c_source.size),
    )


def task_dag(trace: Trace | Tasks) -> Dag:
    """The data dependencies of a trace's final attempts (nodes: rows of ``Tasks.final``)."""
    tasks = as_tasks(trace)
    return tasks.cached("dag", lambda: build_dag(tasks.final))


def flow_dag(trace: Trace | Tasks) -> Dag:
    """Data dependencies and the client's control edges (the same as :func:`task_dag` for
    a trace that does not record the client): what bounds when each task could start."""
    tasks = as_tasks(trace)
    if not tasks.client_recorded:
        return task_dag(tasks)
    return tasks.cached("flow_dag", lambda: build_dag(tasks.final, control=True))


@dataclass(frozen=True)
class Chains:
    """The graph with every chain of single links contracted to one node.

    A link is an edge u -> v where v has no other parent and u no other child; a chain is
    a maximal run of links, from its head (any parents) to its tail (any children). A
    sequential workflow is one chain, however long, so contracting chains first keeps the
    level-by-level programme short whatever the graph's depth in tasks.

    Attributes:
        parent: each node's parent within its chain (-1 at a head).
        chain: each node's chain number.
        rank: each node's position in its chain (0 at the head).
        order: the nodes sorted by chain, then rank.
        starts: where each chain begins in ``order`` (one more entry: the node count).
        graph: the contracted graph, one node per chain; its edges are the original
            edges that are not links (from a chain's tail to another chain's head).
        sources: the original node each contracted edge leaves (its chain's tail).
        link_weight: each node's weight of the link into it (0 at a chain's head).
    """

    parent: np.ndarray
    chain: np.ndarray
    rank: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    graph: Dag
    sources: np.ndarray
    link_weight: np.ndarray


def _jump(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each node's head (root of its parent pointers) and rank below it, by pointer
    jumping: O(n log L) for chains of length L. Raises CycleError on a cycle of links."""
    n = parent.size
    head = np.where(parent >= 0, parent, np.arange(n))
    rank = (parent >= 0).astype(np.int64)
    pointer = parent.copy()
    active = np.flatnonzero(pointer >= 0)
    for _ in range(2 * max(n, 2).bit_length() + 2):
        if active.size == 0:
            return head, rank
        up = pointer[active]
        rank[active] = rank[active] + rank[up]  # right-hand sides read the old values
        head[active] = head[up]
        pointer[active] = pointer[up]
        active = active[pointer[active] >= 0]
    raise CycleError("task dependencies form a cycle (a ring of single links)")


def contract(dag: Dag) -> Chains:
    """Contract the chains of ``dag`` (see :class:`Chains`)."""
    n = dag.nodes
    indegree = np.bincount(dag.target, minlength=n)
    outdegree = np.bincount(dag.source, minlength=n)
    link = (indegree[dag.target] == 1) & (outdegree[dag.source] == 1)
    parent = np.full(n, -1, np.int64)
    parent[dag.target[link]] = dag.source[link]
    head, rank = _jump(parent)
    order = np.argsort(head * (n + 1) + rank, kind="stable")
    first = np.flatnonzero(parent[order] < 0)  # heads start the chains
    chain = np.empty(n, np.int64)
    chain[order] = np.cumsum(parent[order] < 0) - 1
    starts = np.append(first, n)
    outside = ~link
    weight = None if dag.weight is None else dag.weight[outside]
    graph = Dag(first.size, chain[dag.source[outside]], chain[dag.target[outside]], 0, weight)
    link_weight = np.zeros(n)
    if dag.weight is not None:
        link_weight[dag.target[link]] = dag.weight[link]
    return Chains(parent, chain, rank, order, starts, graph, dag.source[outside], link_weight)


def _arrivals(dag: Dag, weight: np.ndarray) -> np.ndarray:
    """Kahn's algorithm one level at a time with ``finish = arrival + weight``, where
    arrival is the heaviest finish among a node's parents (0 without parents).
    Returns each node's arrival; CycleError if a node is never freed.
    """
    n = dag.nodes
    order, offsets = dag.csr
    indegree = np.bincount(dag.target, minlength=n)
    arrival = np.where(indegree > 0, -np.inf, 0.0)  # weights may be negative
    finish = np.zeros(n)
    frontier = np.flatnonzero(indegree == 0)
    owner = np.zeros(n, np.int64)
    done = 0
    while frontier.size:
        finish[frontier] = arrival[frontier] + weight[frontier]
        done += frontier.size
        edges = _out_edges(order, offsets, frontier)
        children = dag.target[edges]
        reach = finish[dag.source[edges]]
        if dag.weight is not None:
            reach = reach + dag.weight[edges]
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
    return arrival


@dataclass(frozen=True)
class LongestPath:
    """The heaviest path of a node-weighted DAG.

    Attributes:
        length: total weight of the path (seconds for task graphs).
        path: its nodes, from first to last.
        finish: for every node, the weight of the heaviest path ending at it.
    """

    length: float
    path: np.ndarray
    finish: np.ndarray


def _out_edges(order: np.ndarray, offsets: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Indices of all edges leaving ``nodes``, vectorised over the CSR offsets."""
    starts = offsets[nodes]
    lengths = offsets[nodes + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return order[shift + np.arange(total)]


def longest_path(dag: Dag, weight: np.ndarray) -> LongestPath:
    """The path of greatest total weight: ``finish[v] = weight[v] + max(finish[u] + w(u, v))``
    over v's parents u (edge weights ``dag.weight``, 0 without), the heaviest ``finish``
    its end.

    Chains are contracted first (:func:`contract`); the contracted graph is solved level
    by level (Kahn's algorithm), each chain's nodes then follow by a running sum.
    Raises CycleError when the dependencies form a cycle.
    """
    n = dag.nodes
    if n == 0:
        return LongestPath(0.0, np.zeros(0, np.int64), np.zeros(0))
    chains = dag.chains
    # Each node with the link into it (its chain's heads have none).
    weight = np.asarray(weight, np.float64) + chains.link_weight
    # Weight from each chain's head down to every node of it, inclusive.
    sums = np.cumsum(weight[chains.order])
    before = sums[chains.starts[:-1]] - weight[chains.order[chains.starts[:-1]]]
    prefix = np.empty(n)
    prefix[chains.order] = sums - np.repeat(before, np.diff(chains.starts))
    tails = chains.order[chains.starts[1:] - 1]
    arrival = _arrivals(chains.graph, prefix[tails])
    finish = arrival[chains.chain] + prefix
    end = int(np.argmax(finish))
    # Back from the end: up its chain to the head, then to the tail of the heaviest
    # chain before it (an edge whose finish equals the head's arrival), and so on.
    graph = chains.graph
    reach = finish[chains.sources]
    if graph.weight is not None:
        reach = reach + graph.weight
    tight = reach == arrival[graph.target]
    entry = np.full(graph.nodes, -1, np.int64)
    entry[graph.target[tight]] = chains.sources[tight]
    pieces = []
    node = end
    while node >= 0:
        c = int(chains.chain[node])
        start = int(chains.starts[c])
        pieces.append(chains.order[start : start + int(chains.rank[node]) + 1])
        node = int(entry[c])
    path = np.concatenate(pieces[::-1])
    return LongestPath(float(finish[end]), path, finish)
