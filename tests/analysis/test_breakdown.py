"""The makespan breakdown, the client's side of a run and control edges in the critical path.

Answers are computed by hand from tests.analysis.builders.client_rows (schema 1.2 columns)
and from the same rows without those columns (an older trace).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tapstrace.analysis import metrics
from tapstrace.analysis.breakdown import breakdown
from tapstrace.analysis.client import client_segments, client_summary
from tapstrace.analysis.tasks import prepare
from tapstrace.trace import read_trace
from tests.analysis.builders import client_rows, reference_rows, row, write_trace

approx = pytest.approx
ROOT = Path(__file__).resolve().parents[2]


def older(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The same task rows as a trace without the client's columns would hold them."""
    dropped = {"control_parents", "client_seconds", "client_busy_seconds",
               "client_cpu_seconds", "cpu_seconds", "kind"}  # fmt: skip
    tasks = [r for r in rows if r.get("kind") != "client"]
    return [{k: v for k, v in r.items() if k not in dropped} for r in tasks]


def test_breakdown_with_the_client_sums_to_the_makespan(tmp_path: Path) -> None:
    tasks = prepare(write_trace(tmp_path / "c.arrow", client_rows(), client=True))
    assert tasks.client_recorded and tasks.final.height == 3  # the phase is not a task
    result = breakdown(tasks)
    assert result.makespan_s == approx(4.2)
    # 3 <- (data) 2 <- (client: 0.5 s after seeing task 1) 1 <- start
    assert result.path["task_id"].to_list() == [1, 2, 3]
    assert result.path["released_by"].to_list() == ["start", "client", "data"]
    parts = {k: v for k, v in result.parts.items() if v}
    assert parts == {
        "client": approx(0.5),
        "engine": approx(0.05),
        "queueing": approx(0.2),
        "launch": approx(0.25),
        "execution": approx(2.8),
        "return": approx(0.4),
    }
    assert sum(result.parts.values()) == approx(4.2, abs=1e-9)
    groups = result.groups()
    assert groups["client"] == approx(0.5) and groups["transfer"] == approx(0.65)


def test_breakdown_of_a_trace_without_the_client(tmp_path: Path) -> None:
    tasks = prepare(write_trace(tmp_path / "o.arrow", older(client_rows())))
    assert not tasks.client_recorded and tasks.client.height == 0
    result = breakdown(tasks)
    # Task 2's submission at 1.8 cannot be explained: "not recorded", not client time.
    assert result.path["task_id"].to_list() == [2, 3]
    assert result.parts["client"] == 0.0
    assert result.parts["unrecorded"] == approx(1.8)
    assert sum(result.parts.values()) == approx(4.2, abs=1e-9)
    assert client_summary(tasks) == {"recorded": False, "phases": []}


def test_worker_wait_and_retries_in_the_breakdown(tmp_path: Path) -> None:
    # One slot: task 2 waits 0.9 s for task 1, then fails once and is retried.
    rows = [
        row(1, (0, 0, 0, 0.1, 1.0, 1.1)),
        row(2, (0, 0, 0, 1.2, 1.4, 1.5), status="failed", error_type="E"),
        row(2, (0, 0, 1.6, 1.7, 2.0, 2.2), attempt=2),
    ]
    result = breakdown(write_trace(tmp_path / "w.arrow", rows, workers=1))
    assert result.path["task_id"].to_list() == [2]
    parts = {k: v for k, v in result.parts.items() if v}
    # Task 2: ready 0 -> final dispatch 1.6 (retries), launch 0.1, run 0.3, return 0.2.
    assert parts == {
        "retries": approx(1.6),
        "launch": approx(0.1),
        "execution": approx(0.3),
        "return": approx(0.2),
    }


def test_breakdown_of_every_shipped_trace_sums_to_its_makespan() -> None:
    for path in sorted((ROOT / "traces").glob("*.arrow")):
        tasks = prepare(read_trace(path, warn=False))
        result = breakdown(tasks)
        assert result.reason is None, path
        assert sum(result.parts.values()) == approx(metrics.makespan(tasks), abs=1e-6), path
        assert all(v >= -1e-3 for v in result.parts.values()), (path, result.parts)


def test_critical_path_follows_control_edges(tmp_path: Path) -> None:
    with_client = prepare(write_trace(tmp_path / "c.arrow", client_rows(), client=True))
    path = metrics.critical_path(with_client)
    # 1 (1.0 s) -> control edge (client 0.5 s) -> 2 (1.0 s) -> 3 (0.8 s)
    assert path.task_ids == [1, 2, 3]
    assert path.length_s == approx(3.3)
    without = prepare(write_trace(tmp_path / "o.arrow", older(client_rows())))
    path = metrics.critical_path(without)
    assert path.task_ids == [2, 3] and path.length_s == approx(1.8)


def test_client_lane_busy_blocked_and_phases(tmp_path: Path) -> None:
    tasks = prepare(write_trace(tmp_path / "c.arrow", client_rows(), client=True))
    segments = client_segments(tasks)
    phases = segments.filter(pl.col("lane") == "phases")
    assert phases.rows() == [("phases", "train", approx(1.3), approx(1.75))]
    client = segments.filter(pl.col("lane") == "client").select("state", "start", "end")
    # busy 0.05 s after submitting task 1, blocked on it until 1.3, busy to 1.81.
    assert client.rows() == [
        ("busy", approx(0.0), approx(0.05)),
        ("blocked", approx(0.05), approx(1.3)),
        ("busy", approx(1.3), approx(1.81)),
    ]
    summary = client_summary(tasks)
    assert summary["recorded"] and summary["control_edges"] == 1 and summary["waits"] == 1
    assert summary["busy_s"] == approx(0.56) and summary["blocked_s"] == approx(1.25)
    assert summary["cpu_s"] == approx(0.41)
    assert summary["phases"] == [{"name": "train", "seconds": approx(0.45), "n": 1}]


def test_reference_trace_breakdown_has_no_client(tmp_path: Path) -> None:
    tasks = prepare(write_trace(tmp_path / "r.arrow", reference_rows()))
    result = breakdown(tasks)
    assert result.path["task_id"].to_list() == [1, 2, 4]
    assert sum(result.parts.values()) == approx(5.5)
    assert result.parts["execution"] == approx(4.0)


def test_breakdown_when_the_executor_resolves_dependencies(tmp_path: Path) -> None:
    # Dask-style: task 2 is dispatched at submission and starts on a worker (1.05)
    # before the client receives task 1's result (1.2): the path goes through task 1's
    # end on its worker, not through the client.
    rows = [
        row(1, (0, 0, 0, 0.1, 1.0, 1.2)),
        row(2, (0.01, 1.2, 0.01, 1.05, 2.0, 2.1), parents=[1]),
    ]
    result = breakdown(write_trace(tmp_path / "d.arrow", rows))
    assert result.path["task_id"].to_list() == [1, 2]
    assert result.path["result"].to_list() == ["on worker", "at client"]
    parts = {k: v for k, v in result.parts.items() if v}
    assert parts == {
        "launch": approx(0.15),
        "execution": approx(1.85),
        "return": approx(0.1),
    }
