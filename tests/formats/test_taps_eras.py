"""TaPS runs of every era (hand-written fixtures in taps_runs/, see its README)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tapstrace.formats.taps import WARMUP_RULE, run_facts
from tapstrace.trace.reader import read_trace

RUNS = Path(__file__).parent / "taps_runs"
X = "experiments"

# directory, app, executor (and from where), workers (and from where), record era,
# config era, warm-up tasks, parents dropped, statuses in submission order
CASES = [
    (f"prototype/{X}/synthetic-2024-05-13-11-20-16", "synthetic", "process-pool",
     "executor parameters", 2, "executor.max_processes", "2024-05-13 prototype", "2024-05-13",
     0, 0, ["ok"] * 3),
    (f"webs/{X}/synthetic/process-pool/2024-05-27-23-57-45", "synthetic", "process-pool",
     "run directory path", 4, "executor.max_processes", "2024-05-13", "2024-05-13", 0, 0,
     ["ok"] * 4),
    (f"2024-05-29/{X}/synthetic-2024-05-29-20-00-00", "synthetic", "dask",
     "executor parameters", 2, "executor.dask_workers", "2024-05-29", "2024-05-29", 1, 0,
     ["ok"] * 5),
    (f"0.1.0/{X}/synthetic-thread-pool-2024-06-05-09-00-00", "synthetic", "thread-pool",
     "config", 2, "executor.max_threads", "2024-05-29", "2024-05-31", 1, 0, ["ok"] * 3),
    (f"2024-06-18/{X}/mapreduce-process-pool-2024-06-18-22-00-00", "mapreduce", "process-pool",
     "config", 3, "executor.max_processes", "2024-05-29", "2024-06-18", 0, 0, ["ok"] * 3),
    (f"0.2.0/{X}/synthetic-process-pool-2024-07-20-14-00-00", "synthetic", "process-pool",
     "config", 2, "app.bag_max_running", "2024-05-29", "2024-06-19+", 1, 0,
     ["ok", "ok", "ok", "failed", "ok"]),
    (f"0.2.1/{X}/synthetic-taskvine-2024-10-22-16-00-00", "synthetic", "taskvine", "config", 4,
     "executor.workers", "2024-09-06+", "2024-06-19+", 2, 1, ["ok"] * 5),
    (f"0.2.2/{X}/cholesky-parsl-htex-2024-12-12-08-30-00", "cholesky", "parsl-htex", "config",
     16, "executor.htex: workers per node x nodes per block x blocks", "2024-09-06+",
     "2024-06-19+", 0, 0, ["ok"] * 4),
]  # fmt: skip


@pytest.mark.parametrize(
    ("folder", "app", "executor", "executor_from", "workers", "workers_from", "record_era",
     "config_era", "warmups", "dropped", "statuses"),
    CASES,
    ids=[c[0].split("/")[0] for c in CASES],
)  # fmt: skip
def test_every_era_imports(
    folder: str,
    app: str,
    executor: str,
    executor_from: str,
    workers: int,
    workers_from: str,
    record_era: str,
    config_era: str,
    warmups: int,
    dropped: int,
    statuses: list[str],
) -> None:
    trace = read_trace(RUNS / folder)
    meta = trace.metadata
    assert (trace.app, trace.executor, meta["taps"]["executor_from"]) == (
        app, executor, executor_from,
    )  # fmt: skip
    assert (meta["workers"], meta["workers_from"]) == (workers, workers_from)
    assert (meta["taps"]["record_era"], meta["taps"]["config_era"]) == (record_era, config_era)
    assert trace.tasks["warmup"].to_list() == [True] * warmups + [False] * (len(statuses) - warmups)
    assert meta["dropped_parents"] == dropped and meta["warmup_rule"] == WARMUP_RULE
    assert trace.tasks["status"].to_list() == statuses
    assert trace.tasks["submitted"].is_sorted()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_prototype_times_are_submission_and_completion() -> None:
    trace = read_trace(RUNS / "prototype/experiments/synthetic-2024-05-13-11-20-16/tasks.json")
    rows = trace.tasks.to_dicts()
    assert [r["parents"] for r in rows] == [[], [0], [1]]
    assert rows[2]["submitted"] == _at(1715599216.102) == rows[2]["dispatched"]
    assert rows[2]["received"] == _at(1715599217.900)
    assert rows[2]["started"] is None and rows[2]["ended"] is None
    assert trace.metadata["app"]["params"] == {"task_count": 3, "task_data_bytes": 0,
                                               "task_sleep": 0.5}  # fmt: skip


def test_failed_record_of_0_2_has_its_exception_and_no_execution() -> None:
    trace = read_trace(RUNS / "0.2.0/experiments/synthetic-process-pool-2024-07-20-14-00-00")
    failed = trace.tasks.row(3, named=True)
    assert (failed["error_type"], failed["error_message"]) == ("MemoryError", "")
    assert failed["started"] is None and failed["worker_host"] is None
    assert failed["received"] == _at(1721484000.640)


def test_lost_taskvine_record_leaves_the_reduce_with_the_parents_it_has() -> None:
    trace = read_trace(RUNS / "0.2.1/experiments/synthetic-taskvine-2024-10-22-16-00-00")
    assert trace.tasks["name"].to_list() == ["warmup", "warmup", *["noop_task"] * 3]
    assert trace.tasks["parents"].to_list()[-1] == [2, 3]


def test_chosen_executor_table_of_2024_06_18() -> None:
    facts = run_facts(RUNS / "2024-06-18/experiments/mapreduce-process-pool-2024-06-18-22-00-00")
    assert facts.app_params["map_tasks"] == 2
    assert facts.executor_params == {"max_processes": 3}


def test_warmup_named_mid_run_is_not_a_warmup(tmp_path: Path) -> None:
    """Only leading, unconnected tasks named like TaPS' warm-up are warm-ups."""
    source = RUNS / "0.1.0/experiments/synthetic-thread-pool-2024-06-05-09-00-00/tasks.jsonl"
    lines = source.read_text().splitlines()
    run = tmp_path / "run"
    run.mkdir()
    (run / "tasks.jsonl").write_text("\n".join([lines[1], lines[0], lines[2]]).replace(
        '"submit_time": 1717578000.000', '"submit_time": 1717578000.0105'))  # fmt: skip
    trace = read_trace(run)
    assert trace.tasks["name"].to_list() == ["noop_task", "warmup_task", "noop_task"]
    assert not trace.tasks["warmup"].any()
