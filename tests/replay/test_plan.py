"""Planning a replay from a trace: order, durations, payloads, failures, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapstrace.errors import TraceError
from tapstrace.replay.plan import build_plan
from tapstrace.trace.reader import read_trace
from tests.replay.conftest import make_trace


def _rows() -> list[dict]:
    """a, b independent; c <- a; d <- (b, c); e independent. Submitted in id order."""
    return [
        {"task_id": 0, "name": "a", "submitted": 0.0, "started": 1.0, "ended": 1.5,
         "input_bytes": 100, "output_bytes": 40},
        {"task_id": 1, "name": "b", "submitted": 0.1, "started": 1.0, "ended": 1.25,
         "output_bytes": 60},
        {"task_id": 2, "name": "c", "parents": [0], "submitted": 0.2, "started": 2.0,
         "ended": 3.0, "input_bytes": 40, "output_bytes": 10, "received": 3.1},
        {"task_id": 3, "name": "d", "parents": [1, 2], "submitted": 0.3, "started": 3.5,
         "ended": 3.75, "input_bytes": 1070, "output_bytes": 0, "received": 4.0},
        {"task_id": 4, "name": "e", "submitted": 0.4, "started": 1.0, "ended": 1.0},
    ]  # fmt: skip


def test_plan_keeps_dag_durations_and_payloads() -> None:
    plan = build_plan(make_trace(_rows()), time_scale=2.0, data_scale=0.5)
    assert plan.names == ["a", "b", "c", "d", "e"]
    assert plan.source_ids == ["0", "1", "2", "3", "4"]
    assert plan.parents == [[], [], [0], [1, 2], []]
    assert plan.children == [1, 1, 1, 0, 0]
    assert plan.durations == [1.0, 0.5, 2.0, 0.5, 0.0]
    assert plan.outputs == [20, 30, 5, 0, 0]
    # external input: recorded input not delivered by parents (1070 - 60 - 10 = 1000)
    assert plan.externals == [50, 0, 0, 500, 0]
    assert plan.failures == [None] * 5
    assert plan.source_makespan == pytest.approx(4.0)


def test_source_order_is_kept_where_the_dag_allows() -> None:
    rows = _rows()
    rows[2]["submitted"] = -1.0  # c "submitted" before its parent a (say, clock skew)
    rows[4]["submitted"] = -2.0  # e first: it has no parents, so it may go first
    plan = build_plan(make_trace(rows))
    assert plan.names == ["e", "a", "c", "b", "d"]
    assert all(p < i for i, ps in enumerate(plan.parents) for p in ps)


def test_imported_order_without_submission_times(wf15: Path) -> None:
    plan = build_plan(read_trace(wf15))
    assert plan.source_ids == ["split_ID01", "work_ID02", "work_ID03", "merge_ID04", "report_ID05"]
    assert plan.durations == [2.5, 10.0, 7.25, 1.0, 0.5]
    assert plan.externals == [1000, 70, 0, 0, 0]  # raw.dat; ref.db read beside part1.dat
    assert plan.source_makespan == 21.0  # stated by the instance (no client times)


def _failing() -> list[dict]:
    rows = _rows()
    rows[2].update(status="failed", error_type="ValueError", error_message="boom",
                   output_bytes=None)  # fmt: skip
    rows[3].update(status="dependency-failed", started=None, ended=None)
    return rows


def test_failures_replay() -> None:
    plan = build_plan(make_trace(_failing()))
    assert plan.failures[2] == "ValueError: boom" and plan.outputs[2] == 0
    assert plan.failures[3] is None and plan.durations[3] == 0.0  # fails by dependency
    assert len(plan) == 5 and plan.skipped == 0


def test_failures_skip_leaves_out_descendants() -> None:
    plan = build_plan(make_trace(_failing()), failures="skip")
    assert plan.names == ["a", "b", "e"] and plan.skipped == 2
    assert plan.children == [0, 0, 0]


def test_failures_succeed() -> None:
    plan = build_plan(make_trace(_failing()), failures="succeed")
    assert plan.failures == [None] * 5
    assert plan.durations[2] == 1.0 and plan.durations[3] == 0.0


def test_limit_takes_the_first_tasks_with_their_parents() -> None:
    plan = build_plan(make_trace(_rows()), limit=3)
    assert plan.names == ["a", "b", "c"] and plan.skipped == 2
    assert plan.children == [1, 0, 0]
    assert plan.source_makespan == pytest.approx(3.1)


def test_retries_replay_the_final_attempt_and_warmups_apart() -> None:
    rows = _rows()
    rows.insert(0, {"task_id": 0, "attempt": 1, "name": "a", "status": "failed",
                    "submitted": 0.0, "started": 0.5, "ended": 0.6})  # fmt: skip
    rows.append({"task_id": 9, "name": "warm", "warmup": True, "submitted": -1.0,
                 "started": -0.9, "ended": -0.8})  # fmt: skip
    rows[1]["attempt"] = 2
    plan = build_plan(make_trace(rows))
    assert plan.names[0] == "a" and plan.failures[0] is None and plan.durations[0] == 0.5
    assert [(s, n) for s, n, _, _ in plan.warmup] == [("9", "warm")]
    assert plan.warmup[0][2] == pytest.approx(0.1)
    assert "warm" not in plan.names


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_id": 3, "parents": [1, 7]}, "task 3 names parent 7, which is not in the trace"),
        ({"task_id": 0, "parents": [3]}, "the task graph has a cycle"),
        ({"task_id": 1, "started": 2.0, "ended": 1.0}, "task 1 ends before it starts"),
        ({"task_id": 4, "started": None}, "task 4 has no recorded execution time"),
    ],
)
def test_bad_graphs(change: dict, message: str) -> None:
    rows = _rows()
    rows[change["task_id"]].update(change)
    with pytest.raises(TraceError, match=f"memory.arrow: {message}"):
        build_plan(make_trace(rows))


def test_specification_only_instance_cannot_be_replayed(tmp_path: Path, wf15: Path) -> None:
    import json

    doc = json.loads(wf15.read_text())
    del doc["workflow"]["execution"]
    (tmp_path / "spec.json").write_text(json.dumps(doc))
    with pytest.raises(TraceError, match="has no recorded execution time"):
        build_plan(read_trace(tmp_path / "spec.json"))
