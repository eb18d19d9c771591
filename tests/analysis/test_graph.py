"""The task graph and its longest path, against hand answers and networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import polars as pl
import pytest

from tapstrace.analysis.graph import CycleError, Dag, build_dag, longest_path


def graph(parents: dict[int, list[int]]) -> tuple[Dag, list[int]]:
    ids = sorted(parents)
    final = pl.DataFrame(
        {"task_id": ids, "parents": [parents[i] for i in ids]},
        schema={"task_id": pl.Int64, "parents": pl.List(pl.Int64)},
    )
    return build_dag(final), ids


def test_ids_need_not_follow_the_dependency_order() -> None:
    """Imported traces may number a child before its parent."""
    dag, ids = graph({10: [], 3: [10], 7: [3], 20: [10]})
    weights = {3: 2.0, 7: 1.0, 10: 1.0, 20: 2.5}
    path = longest_path(dag, np.array([weights[i] for i in ids]))
    assert [ids[v] for v in path.path] == [10, 3, 7]
    assert path.length == pytest.approx(4.0)
    assert dag.depth == 3


def test_missing_parents_are_counted_and_dropped() -> None:
    dag, _ = graph({1: [], 2: [1, 99], 5: [2]})  # 99 is not in the trace
    assert (dag.edges, dag.dangling) == (2, 1)


def test_a_cycle_is_an_error() -> None:
    dag, _ = graph({1: [3], 2: [1], 3: [2], 4: []})
    with pytest.raises(CycleError, match="cycle"):
        longest_path(dag, np.ones(4))


def test_negative_weights_still_pick_the_heaviest_path() -> None:
    dag, ids = graph({1: [], 2: [1], 3: [1], 4: [2, 3]})
    weights = np.array([1.0, -0.5, -2.0, 1.0])
    path = longest_path(dag, weights)
    assert [ids[v] for v in path.path] == [1, 2, 4]
    assert path.length == pytest.approx(1.5)


@pytest.mark.parametrize("chainy", [0.0, 0.8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_networkx_on_random_dags(seed: int, chainy: float) -> None:
    """``chainy``: the share of tasks whose only parent is the task just before them
    (chains of single links, which the longest path contracts)."""
    rng = np.random.default_rng(seed)
    n = 300
    order = rng.permutation(n)  # ids unrelated to the topological order
    parents: dict[int, list[int]] = {}
    for position, node in enumerate(order):
        earlier = order[:position]
        if position and rng.random() < chainy:
            parents[int(node)] = [int(order[position - 1])]
            continue
        k = min(len(earlier), int(rng.integers(0, 4)))
        parents[int(node)] = [int(p) for p in rng.choice(earlier, k, replace=False)] if k else []
    dag, _ = graph(parents)
    weights = rng.normal(1.0, 1.0, n)  # some negative, as overhead weights can be
    path = longest_path(dag, weights)
    # networkx on the same graph: node weights moved onto the edges into each node.
    g = nx.DiGraph()
    for v in range(n):
        g.add_edge("start", v, weight=weights[v])
    for u, v in zip(dag.source, dag.target, strict=True):
        g.add_edge(int(u), int(v), weight=weights[v])
    expected = nx.dag_longest_path_length(g, weight="weight")
    assert path.length == pytest.approx(expected)
    assert weights[path.path].sum() == pytest.approx(expected)
    edges = set(zip(dag.source.tolist(), dag.target.tolist(), strict=True))
    assert all((int(u), int(v)) in edges for u, v in zip(path.path, path.path[1:], strict=False))
    unit = nx.DiGraph((u, v, {"weight": 1}) for u, v in g.edges)
    assert dag.depth == nx.dag_longest_path_length(unit, weight="weight")


def test_a_long_chain_is_one_step() -> None:
    """A sequential workflow, numbered backwards: contracted to a single node."""
    n = 100_000
    parents = {i: [i + 1] for i in range(n - 1)} | {n - 1: []}
    dag, ids = graph(parents)
    assert dag.chains.graph.nodes == 1
    path = longest_path(dag, np.arange(n, dtype=float))
    assert path.length == pytest.approx(n * (n - 1) / 2)
    assert [ids[v] for v in path.path[:3]] == [n - 1, n - 2, n - 3]
    assert path.path.size == n and dag.depth == n


def test_empty_graph() -> None:
    dag, _ = graph({})
    path = longest_path(dag, np.zeros(0))
    assert path.length == 0.0 and path.path.size == 0
