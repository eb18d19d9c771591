"""Metrics against answers computed by hand on the reference DAG (builders.reference_rows).

    task  name  parents  ready  dispatched  started  ended  received  worker
    1     a     -        0      0.1         0.2      1.2    1.3       w1
    2     b     1        1.4    1.5         1.7      3.7    3.9       w1
    3     b     1        1.35   1.4         1.5      2.0    2.1       w2
    4     c     2, 3     4.0    4.0         4.3      5.3    5.5       w2
    5     d     -        0      0.0 / 0.5   0.1/0.6  0.3/0.9 0.4/1.0  w2 (fails, then ok)

All submitted at 0; a warm-up task runs from -1.0 to -0.6.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tapstrace.analysis import metrics
from tapstrace.analysis.summary import flatten, summarize
from tapstrace.analysis.tasks import Tasks, prepare
from tapstrace.trace import Trace
from tests.analysis.builders import reference_rows, row, write_trace

approx = pytest.approx


@pytest.fixture
def trace(tmp_path: Path) -> Trace:
    return write_trace(tmp_path / "reference.arrow", reference_rows())


@pytest.fixture
def tasks(trace: Trace) -> Tasks:
    return prepare(trace)


def test_makespan_work_and_ratios(trace: Trace) -> None:
    assert metrics.makespan(trace) == approx(5.5)
    assert metrics.total_work(trace) == approx(1.0 + 2.0 + 0.5 + 1.0 + 0.2 + 0.3)
    assert metrics.workers(trace) == (2, "metadata")
    assert metrics.efficiency(trace) == approx(5.0 / (5.5 * 2))
    assert metrics.parallelism(trace) == approx(5.0 / 4.0)
    assert metrics.throughput(trace) == approx(5 / 5.5)


def test_warmup_is_excluded_unless_asked(trace: Trace) -> None:
    assert prepare(trace).warmup_excluded == 1
    with_warmup = prepare(trace, include_warmup=True)
    assert metrics.makespan(with_warmup) == approx(6.5)
    assert with_warmup.final.height == 6


def test_statuses_attempts_and_failures(tasks: Tasks) -> None:
    assert metrics.status_counts(tasks) == {"ok": 5}
    assert tasks.attempts.height == 6
    assert metrics.failures(tasks) == {
        "failed_attempts": 1,
        "retried_tasks": 1,
        "errors": {"ValueError": 1},
    }
    functions = {r["name"]: r for r in metrics.functions(tasks).to_dicts()}
    assert functions["b"]["tasks"] == 2 and functions["b"]["work_s"] == approx(2.5)
    assert functions["d"]["attempts"] == 2 and functions["d"]["ok"] == 1
    assert functions["c"]["launch_median_s"] == approx(0.3)


def test_critical_path_by_execution_time(tasks: Tasks) -> None:
    path = metrics.critical_path(tasks)
    assert path.task_ids == [1, 2, 4]
    assert path.length_s == approx(4.0)
    assert path.levels == 3
    assert metrics.on_critical_path(tasks).to_list() == [True, True, False, True, False]


def test_critical_path_with_overheads(tasks: Tasks) -> None:
    path = metrics.critical_path(tasks, "overheads")
    assert path.task_ids == [1, 2, 4]
    assert path.length_s == approx(5.5)  # the whole makespan: 1.3 + 2.6 + 1.6
    assert path.components == {
        "execution_s": approx(4.0),
        "engine_s": approx(0.2),
        "queueing_s": approx(0.2),
        "worker_wait_s": approx(0.0),
        "launch_s": approx(0.6),
        "return_s": approx(0.5),
    }


def test_overhead_components_per_attempt(tasks: Tasks) -> None:
    over = metrics.task_overheads(tasks).sort("task_id", "attempt")
    assert over["engine"].to_list() == [None, approx(0.1), approx(0.05), approx(0.1), None, None]
    assert over["queueing"].to_list() == approx([0.1, 0.1, 0.05, 0.0, 0.0, 0.1])  # retry: 0.5-0.4
    assert over["launch"].to_list() == approx([0.1, 0.2, 0.1, 0.3, 0.1, 0.1])
    assert over["return"].to_list() == approx([0.1, 0.2, 0.1, 0.2, 0.1, 0.1])
    assert over["round_trip"].to_list() == approx([1.2, 2.4, 0.7, 1.5, 0.4, 0.5])


def test_a_task_the_executor_took_before_it_was_ready_did_not_queue(tmp_path: Path) -> None:
    """Dask, Parsl and Ray get a child at its submission, with its parents' handles: it
    is dispatched before the engine calls it ready (its parents' results received), and
    its queueing is 0, not negative; the wait for its parents is in its launch."""
    rows = [
        row(1, (0.0, 0.0, 0.0, 0.1, 1.0, 1.2)),
        row(2, (0.0, 1.2, 0.0, 1.05, 1.5, 1.6), parents=[1]),
    ]
    trace = write_trace(tmp_path / "t.arrow", rows, executor="dask")
    over = metrics.task_overheads(prepare(trace)).sort("task_id")
    assert over["queueing"].to_list() == approx([0.0, 0.0])
    assert over["launch"].to_list()[1] == approx(1.05)


def test_waiting_for_a_free_worker_is_not_launch_latency(tmp_path: Path) -> None:
    # One worker slot. Task 2 is dispatched at 0 and starts at 1.2: the slot ran task 1
    # for 0.9 s of that. Task 3 (0.5 -> 2.25) waits 0.5 s for task 1 and 1.0 s for
    # task 2; task 4 is dispatched when the slot is free.
    rows = [
        row(1, (0, 0, 0, 0.1, 1.0, 1.1)),
        row(2, (0, 0, 0, 1.2, 2.2, 2.3)),
        row(3, (0, 0, 0.5, 2.25, 3.0, 3.1)),
        row(4, (0, 0, 3.2, 3.3, 3.5, 3.6)),
    ]
    over = metrics.task_overheads(write_trace(tmp_path / "t.arrow", rows, workers=1))
    assert over["worker_wait"].to_list() == approx([0.0, 0.9, 1.5, 0.0])
    assert over["launch"].to_list() == approx([0.1, 0.3, 0.25, 0.1])
    # With two slots nobody waits: the same times are launch latency again.
    over = metrics.task_overheads(write_trace(tmp_path / "u.arrow", rows, workers=2))
    assert over["worker_wait"].to_list() == approx([0.0, 0.0, 0.0, 0.0])
    assert over["launch"].to_list() == approx([0.1, 1.2, 1.75, 0.1])


def test_overhead_summary_statistics(tasks: Tasks) -> None:
    table = {r["component"]: r for r in metrics.overhead_summary(tasks).to_dicts()}
    assert list(table) == ["engine", "queueing", "worker_wait", "launch", "return"]
    assert table["engine"]["n"] == 3 and table["engine"]["missing"] == 0
    assert table["engine"]["median_s"] == approx(0.1)
    assert table["engine"]["mean_s"] == approx(0.25 / 3)
    assert table["queueing"]["median_s"] == approx(0.075)
    assert table["queueing"]["mean_s"] == approx(0.35 / 6)
    assert table["launch"]["median_s"] == approx(0.1)
    assert table["launch"]["p99_s"] == approx(0.295)  # linear between 0.2 and 0.3
    assert table["launch"]["p95_s"] == approx(0.275)
    assert table["return"]["mean_s"] == approx(0.8 / 6)
    by_name = metrics.overhead_summary(tasks, by="name")
    launch_b = by_name.filter((pl.col("name") == "b") & (pl.col("component") == "launch"))
    assert launch_b["median_s"].item() == approx(0.15)


def test_data_volumes_edges_and_task_bytes(tasks: Tasks) -> None:
    volumes = metrics.data_volumes(tasks)
    assert volumes["input_bytes"] == 260
    assert volumes["output_bytes"] == 166  # the failed attempt has no output
    assert volumes["output_bytes_known"] == 5
    assert volumes["edges"] == 4 and volumes["edge_bytes"] == 260
    per_task = dict(metrics.task_bytes(tasks).select("task_id", "from_parents").iter_rows())
    assert per_task == {1: 0, 2: 100, 3: 100, 4: 60, 5: 0}
    edges = metrics.edge_bytes(tasks).sort("parent", "child")
    assert edges.rows() == [(1, 2, 100), (1, 3, 100), (2, 4, 50), (3, 4, 10)]


def test_worker_utilisation_and_idle_time(tasks: Tasks) -> None:
    workers = {r["worker"]: r for r in metrics.worker_utilisation(tasks).to_dicts()}
    assert workers["w1"]["tasks"] == 2 and workers["w1"]["busy_s"] == approx(3.0)
    assert workers["w1"]["idle_s"] == approx(2.5)
    assert workers["w1"]["idle_fraction"] == approx(2.5 / 5.5)
    assert workers["w2"]["tasks"] == 4 and workers["w2"]["busy_s"] == approx(2.0)
    assert workers["w2"]["idle_fraction"] == approx(3.5 / 5.5)


def test_overlapping_tasks_on_one_worker_count_once(tmp_path: Path) -> None:
    rows = [
        row(1, (0, 0, 0, 1.0, 3.0, 3.0)),
        row(2, (0, 0, 0, 2.0, 4.0, 4.0)),  # overlaps task 1 on w1
        row(3, (0, 0, 0, 6.0, 7.0, 8.0)),
    ]
    trace = write_trace(tmp_path / "overlap.arrow", rows)
    (w1,) = metrics.worker_utilisation(trace).to_dicts()
    assert w1["busy_s"] == approx(5.0)  # execution summed
    assert w1["idle_s"] == approx(1.0 + 2.0 + 1.0)  # [0,1], [4,6], [7,8]
    assert w1["mean_running"] == approx(5.0 / 8.0)


def test_concurrency_steps_and_bins(tasks: Tasks) -> None:
    steps = metrics.concurrency(tasks)
    assert steps["running"].max() == 2
    at = steps.filter((pl.col("time") - 0.2).abs() < 1e-9)  # task 1 starts, 5.1 runs
    assert at["running"].to_list() == [2]
    bins = metrics.concurrency_binned(tasks, bins=11)  # half-second bins over [0, 5.5]
    assert bins.height == 11
    mean = bins["mean_running"].to_list()
    assert mean[0] == approx(1.0)  # task 1 for 0.3 s and attempt 5.1 for 0.2 s
    assert mean[1] == approx(1.6)  # task 1 throughout and attempt 5.2 for 0.3 s
    assert mean[6] == approx(1.0)  # task 2 alone
    assert mean[8] == approx(0.4)  # task 4 from 4.3
    assert bins["peak_running"].to_list()[0] == 2
    # The bins' mean running count integrates to the total work.
    assert sum(m * 0.5 for m in mean) == approx(5.0)


def test_transfer_fit_recovers_latency_and_bandwidth(tmp_path: Path) -> None:
    sizes = [0, 0, 100_000, 200_000, 400_000, 400_000]
    rows = [
        row(i, (0, 0, 0, 0.01 + size / 1e6, 1.0, 1.1), input_bytes=size, output_bytes=0)
        for i, size in enumerate(sizes)
    ]
    fit = metrics.transfer_fit(write_trace(tmp_path / "fit.arrow", rows))
    assert fit.latency_s == approx(0.01, abs=1e-9)
    assert fit.bandwidth_bytes_per_s == approx(1e6)
    assert fit.r2 == approx(1.0)
    assert (fit.points, fit.distinct_sizes, fit.meaningful) == (6, 4, True)


def test_transfer_fit_says_when_it_is_meaningless(tmp_path: Path) -> None:
    same = [row(i, (0, 0, 0, 0.01 * i, 1.0, 1.1), input_bytes=500) for i in range(5)]
    fit = metrics.transfer_fit(write_trace(tmp_path / "same.arrow", same))
    assert not fit.meaningful and fit.latency_s is None
    assert fit.note is not None and "1 distinct input sizes" in fit.note
    shrinking = [
        row(i, (0, 0, 0, 0.5 - size / 1e6, 1.0, 1.1), input_bytes=size)
        for i, size in enumerate([0, 100_000, 200_000, 300_000])
    ]
    fit = metrics.transfer_fit(write_trace(tmp_path / "shrinking.arrow", shrinking))
    assert not fit.meaningful and fit.bandwidth_bytes_per_s is None
    assert fit.note is not None and "does not grow" in fit.note


def test_missing_timestamps_are_reported_not_invented(tmp_path: Path) -> None:
    """An imported trace that knows only start and end times."""
    rows = [
        row(1, (None, None, None, 0.0, 2.0, None), worker=None),
        row(2, (None, None, None, 2.5, 3.5, None), worker=None, parents=[1]),
    ]
    trace = write_trace(tmp_path / "imported.arrow", rows, executor=None, workers=None)
    summary = summarize(trace)
    assert summary["makespan_s"] == approx(3.5)
    assert summary["makespan_basis"] == "started to ended"
    assert summary["critical_path"]["length_s"] == approx(3.0)
    observed = summary["critical_path_overheads"]
    assert observed["length_s"] is None and "lack" in observed["reason"]
    for component in ("queueing", "launch", "return"):
        assert summary["overheads"][component]["n"] == 0
        assert summary["overheads"][component]["missing"] == 2
        assert summary["overheads"][component]["median_s"] is None
    assert summary["overheads"]["engine"]["missing"] == 1
    assert summary["workers"] is None and summary["efficiency"] is None
    assert summary["throughput_per_s"] == approx(2 / 3.5)


def test_summary_is_json_ready_and_flattens(trace: Trace) -> None:
    summary = summarize(trace)
    assert summary["label"] == "reference" and summary["app"] == "demo"
    assert summary["makespan_basis"] == "submitted to received" and summary["timeline"]
    assert summary["critical_path"]["share_of_makespan"] == approx(4.0 / 5.5)
    assert summary["utilisation"]["peak_running"] == 2
    assert summary["utilisation"]["mean_idle_fraction"] == approx((2.5 + 3.5) / 2 / 5.5)
    flat = flatten(summary)
    assert flat["overheads.launch.median_s"] == approx(0.1)
    # Launch against input bytes over 5 completed attempts, sizes 0, 100 and 60.
    assert (flat["transfer.points"], flat["transfer.distinct_sizes"]) == (5, 3)
    assert flat["transfer.r2"] == approx(6.4**2 / (10080 * 0.032))
    assert "critical_path.task_ids" not in flat and "functions" not in flat
    assert all(not isinstance(v, dict | list) for v in flat.values())


def test_parents_missing_from_the_trace_are_dropped(tmp_path: Path) -> None:
    """A partial trace can name parents it never recorded: task 1 is not in it."""
    rows = [
        row(2, (0, 0.5, 0.5, 0.6, 1.6, 1.7), parents=[1]),
        row(3, (0, 1.8, 1.8, 1.9, 2.9, 3.0), parents=[2]),
    ]
    tasks = prepare(write_trace(tmp_path / "partial.arrow", rows))
    assert metrics.data_volumes(tasks)["dangling_parents"] == 1
    over = metrics.task_overheads(tasks)
    assert over["has_parents"].to_list() == [False, True]
    assert over["engine"].to_list() == [None, approx(0.1)]
    observed = metrics.critical_path(tasks, "overheads")
    assert observed.task_ids == [2, 3] and observed.length_s == approx(3.0)


def test_anchored_start_times_give_no_timeline(tmp_path: Path) -> None:
    """A WfFormat import knows runtimes, not start times: every task starts at the
    anchor. Durations count; when tasks ran does not, and the source's makespan stands."""
    rows = [
        row(1, (None, None, None, 0.0, 10.0, None), worker=None, worker_host="node1"),
        row(2, (None, None, None, 0.0, 30.0, None), worker=None, worker_host="node1",
            parents=[1]),
        row(3, (None, None, None, 0.0, 5.0, None), worker=None, worker_host="node2"),
    ]  # fmt: skip
    trace = write_trace(tmp_path / "anchored.arrow", rows, workers=4)
    trace.metadata["timing"] = {"started": "anchored", "anchored_tasks": 3}
    trace.metadata["makespan_s"] = 60.0
    summary = summarize(trace)
    assert summary["timeline"] is False
    assert summary["makespan_s"] == 60.0 and summary["makespan_basis"] == "stated by the source"
    assert summary["work_s"] == approx(45.0)
    assert summary["critical_path"]["length_s"] == approx(40.0)
    assert summary["critical_path"]["share_of_makespan"] == approx(40.0 / 60.0)
    assert summary["efficiency"] == approx(45.0 / (60.0 * 4))
    assert summary["utilisation"]["peak_running"] is None  # not 3: they did not all run at 0
    assert summary["workers_detail"] == []
    assert metrics.concurrency(trace).height == 0
    # Without the flag the same times are read as a timeline.
    del trace.metadata["timing"]
    assert summarize(trace)["utilisation"]["peak_running"] == 3
