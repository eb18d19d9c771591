"""One workload that every cluster executor must record completely and correctly.

ok tasks with dependencies nested anywhere in the arguments, a 1 MB payload between
dependent tasks, a failing task with a dependency-failed child and grandchild, a
cancelled task with a child, and the synthetic app's diamond of 1 MB payloads; then: one
final record per submission, the right status, parents and error for each, worker ids,
and consistent times.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tapstrace.apps.synthetic import SyntheticConfig
from tapstrace.engine import DependencyError, Engine, MemoryRecorder, Status, TaskRecord
from tests.tasks import add, fail, identity, sleep, total

MB = 1_000_000


class Pair(NamedTuple):
    left: Any
    right: Any


def run_scenarios(
    engine: Engine,
    recorder: MemoryRecorder,
    worker_ok: Callable[[str], bool] = bool,
    *,
    timeout: float = 120,
) -> dict[int, TaskRecord]:
    """Submit the workload, check every result and record; return records by task id."""
    slow = engine.submit(sleep, 3.0)
    slow_child = engine.submit(add, slow, 1)
    a = engine.submit(identity, 1)
    b = engine.submit(add, a, b=a)
    nested = engine.submit(
        total, [a, Pair(b, {"k": a, "s": frozenset({b})}), {"one": 1}, {b}]
    )  # every container the engine walks: list, named tuple, dict values, sets
    big = engine.submit(bytes, MB)
    size = engine.submit(len, big)
    bad = engine.submit(fail, "kaput")
    child = engine.submit(add, bad, 1)
    grandchild = engine.submit(add, [child], 1)
    time.sleep(0.2)
    assert slow.cancel()

    assert b.result(timeout) == 2
    assert nested.result(timeout) == 1 + (2 + (1 + 2)) + 1 + 2
    assert size.result(timeout) == MB
    with pytest.raises(ValueError, match="kaput"):
        bad.result(timeout)
    for future, parent in ((child, bad), (grandchild, child), (slow_child, slow)):
        with pytest.raises(DependencyError) as info:
            future.result(timeout)
        assert info.value.parent_id == parent.task_id
    assert slow.cancelled()
    diamond = SyntheticConfig(structure="diamond", tasks=3, mean_seconds=0, output_bytes=MB)
    diamond.build().run(engine, Path("."))  # writes nothing
    engine.shutdown()

    assert len(recorder.records) == engine.submitted == 15
    records = {r.task_id: r for r in recorder.records}
    assert len(records) == 15  # one final record per task, no retries here
    # The diamond, tasks 10 to 14: edges as submitted, 1 MB from each parent.
    assert [records[i].parents for i in range(10, 15)] == [(), (10,), (10,), (10,), (11, 12, 13)]
    assert all(records[i].status == Status.OK and records[i].worker_id for i in range(10, 15))
    assert records[14].input_bytes is not None and records[14].input_bytes >= 3 * MB
    statuses = Counter(r.status for r in records.values())
    assert statuses == {
        Status.OK: 5 + 5,
        Status.FAILED: 1,
        Status.DEPENDENCY_FAILED: 3,
        Status.CANCELLED: 1,
    }, statuses

    assert records[b.task_id].parents == (a.task_id,)
    assert records[nested.task_id].parents == (a.task_id, b.task_id)
    assert records[size.task_id].parents == (big.task_id,)
    assert records[size.task_id].input_bytes == MB
    assert records[big.task_id].output_bytes == MB
    for task in (a, b, nested, big, size, bad):
        r = records[task.task_id]
        assert r.worker_id and worker_ok(r.worker_id), r
        assert r.worker_host and r.worker_pid
        assert r.submitted <= r.dispatched <= r.received
        assert r.started is not None and r.ended is not None
        assert r.started <= r.ended <= r.received + 1  # worker clock: same host here
    root = records[a.task_id]
    assert root.submitted <= root.ready <= root.dispatched <= root.started  # type: ignore[operator]

    failed = records[bad.task_id]
    assert (failed.status, failed.error_type, failed.error_message) == (
        Status.FAILED,
        "ValueError",
        "kaput",
    )
    for task, parent, reason in (
        (child, bad, "failed"),
        (grandchild, child, "failed"),
        (slow_child, slow, "was cancelled"),
    ):
        r = records[task.task_id]
        assert r.status == Status.DEPENDENCY_FAILED and r.error_type == "DependencyError"
        assert r.parents == (parent.task_id,)
        assert f"parent task {parent.task_id} {reason}" in (r.error_message or "")
        assert r.worker_id is None  # it never ran
    cancelled = records[slow.task_id]
    assert cancelled.status == Status.CANCELLED and cancelled.error_type == "CancelledError"
    return records
