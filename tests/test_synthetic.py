"""The synthetic app: graph shapes, distributions, warm-up and determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tapstrace.apps.synthetic import SyntheticConfig, draw, synthetic_task
from tapstrace.engine import Engine, MemoryRecorder, TaskRecord
from tests.conftest import build_executor


def run(tmp_path: Path, executor: str = "thread", **params: object) -> list[TaskRecord]:
    recorder = MemoryRecorder()
    config = SyntheticConfig(**{"mean_seconds": 0.0, **params})  # type: ignore[arg-type]
    size = {"max_threads": 2} if executor == "thread" else {"max_processes": 2}
    with Engine(build_executor(executor, **size), recorder=recorder) as e:
        config.build().run(e, tmp_path)
    return sorted(recorder.records, key=lambda r: r.task_id)


def edges(records: list[TaskRecord]) -> list[tuple[int, ...]]:
    return [tuple(r.parents) for r in records if not r.warmup]


def test_shapes(tmp_path: Path) -> None:
    assert edges(run(tmp_path, structure="bag", tasks=5)) == [()] * 5
    assert edges(run(tmp_path, structure="sequential", tasks=4)) == [(), (0,), (1,), (2,)]
    assert edges(run(tmp_path, structure="reduce", tasks=3)) == [(), (), (), (0, 1, 2)]
    assert edges(run(tmp_path, structure="diamond", tasks=3)) == [(), (0,), (0,), (0,), (1, 2, 3)]
    layered = run(tmp_path, structure="random", width=4, depth=3, edge_probability=0.5, seed=3)
    assert len(layered) == 12
    for record in layered:
        layer = record.task_id // 4
        assert all(p // 4 == layer - 1 for p in record.parents)
        assert bool(record.parents) == (layer > 0)  # every task below the top has a parent
    assert all(r.status == "ok" for r in layered)


def test_random_dag_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    params = {"structure": "random", "width": 6, "depth": 4, "seed": 11}
    assert edges(run(tmp_path, **params)) == edges(run(tmp_path, **params))
    assert edges(run(tmp_path, **params)) != edges(run(tmp_path, **{**params, "seed": 12}))


def test_bag_respects_max_in_flight(tmp_path: Path) -> None:
    records = run(tmp_path, structure="bag", tasks=12, max_in_flight=2, mean_seconds=0.01)
    records = [r for r in records if not r.warmup]
    for r in records:
        overlapping = [
            o for o in records if o.submitted <= r.submitted and o.received > r.submitted
        ]
        assert len(overlapping) <= 2


def test_output_sizes_and_warmup(tmp_path: Path) -> None:
    records = run(tmp_path, "process", structure="bag", tasks=3, output_bytes=5000, warmup_tasks=2)
    warm = [r for r in records if r.warmup]
    assert len(warm) == 2 and all(r.output_bytes == 0 for r in warm)
    assert [r.output_bytes for r in records if not r.warmup] == [5000] * 3


@pytest.mark.parametrize("distribution", ["constant", "normal", "exponential", "lognormal"])
def test_distributions_have_the_requested_mean(distribution: str) -> None:
    values = draw(np.random.default_rng(0), distribution, 2.0, 0.5, 20_000)  # type: ignore[arg-type]
    assert values.min() >= 0
    assert values.mean() == pytest.approx(2.0, rel=0.03)
    if distribution in ("normal", "lognormal"):
        assert values.std() == pytest.approx(0.5, rel=0.05)


def test_spin_and_sleep_take_their_time() -> None:
    import time

    for mode in ("sleep", "spin"):
        start = time.perf_counter()
        assert synthetic_task(0.05, mode, 3, b"input") == b"\0\0\0"
        assert time.perf_counter() - start >= 0.05
