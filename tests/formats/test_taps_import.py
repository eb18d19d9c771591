"""Importing TaPS task records (tasks.jsonl, the older tasks.json, run directories)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tapstrace.errors import TraceError
from tapstrace.trace.reader import read_trace
from tests.replay.conftest import T0, taps_records


def _write(directory: Path, records: list[dict], name: str = "tasks.jsonl") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(round((T0 + seconds) * 1e6) / 1e6, UTC)


def test_jsonl_with_config_toml(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "mapreduce-process"
    path = _write(run, taps_records("name"))
    (run / "config.toml").write_text(
        '[app]\nname = "mapreduce"\nmap_tasks = 2\n\n'
        '[engine.executor]\nname = "process-pool"\nmax_processes = 6\n'
    )
    trace = read_trace(path)
    rows = {r["source_id"][-1]: r for r in trace.tasks.to_dicts()}
    assert [r["name"] for r in trace.tasks.to_dicts()] == ["generate", "process", "process"]
    assert rows["2"]["parents"] == [rows["1"]["task_id"]]
    assert rows["1"]["submitted"] == _at(0.0) == rows["1"]["dispatched"]
    assert rows["1"]["started"] == _at(0.02) and rows["1"]["ended"] == _at(0.52)
    assert rows["1"]["received"] == _at(0.55)
    assert rows["1"]["ready"] is None and rows["1"]["input_bytes"] is None
    assert rows["1"]["resolve_seconds"] == pytest.approx(0.004, abs=1e-6)
    assert rows["1"]["transform_seconds"] == pytest.approx(0.003, abs=1e-6)
    assert rows["1"]["worker_host"] == "worker-host"
    assert rows["3"]["status"] == "failed"
    assert (rows["3"]["error_type"], rows["3"]["error_message"]) == ("ValueError", "bad input")
    assert trace.app == "mapreduce" and trace.executor == "process-pool"
    assert trace.metadata["workers"] == 6
    assert trace.config["app"]["map_tasks"] == 2
    # a run directory is a trace path too
    assert read_trace(run).tasks.equals(trace.tasks)


def test_older_tasks_json_with_config_json(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "cholesky-dask-2024-06-01-10-00-00"
    _write(run, taps_records("function_name"), "tasks.json")
    config = {"name": "cholesky", "executor_name": "dask", "app": {},
              "executor": {"dask_workers": 3}}  # fmt: skip
    (run / "config.json").write_text(json.dumps(config))
    trace = read_trace(run)
    assert trace.tasks["name"].to_list() == ["generate", "process", "process"]
    assert trace.metadata["taps"]["record_era"] == "2024-05-29"
    assert trace.metadata["taps"]["config_era"] == "2024-05-31"
    assert trace.app == "cholesky" and trace.executor == "dask"
    assert trace.metadata["workers"] == 3


def test_records_are_ordered_by_submission(tmp_path: Path) -> None:
    records = taps_records()
    path = _write(tmp_path, list(reversed(records)))
    assert [s[-1] for s in read_trace(path).tasks["source_id"].to_list()] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "line 3 is not a JSON record (ends early (truncated?))"),
        ("duplicate", "line 3: task id '00000000-0000-0000-0000-000000000002' appears twice"),
        ("backwards", "execution.task_end_time is before execution.task_start_time"),
        ("not-records", "line 1 (task 'x'): parent_task_ids: field required"),
    ],
)
def test_bad_records(tmp_path: Path, damage: str, message: str) -> None:
    records = taps_records()
    if damage == "duplicate":
        records[2]["task_id"] = records[1]["task_id"]
    elif damage == "backwards":
        records[0]["execution"]["task_end_time"] = T0 - 5
    elif damage == "not-records":
        records = [{"task_id": "x", "something": "else"}]
    path = _write(tmp_path, records)
    if damage == "truncate":
        text = path.read_text()
        path.write_text(text[: len(text) - 40])
    with pytest.raises(TraceError) as info:
        read_trace(path, format="taps")
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_parents_without_a_record_are_dropped_and_counted(tmp_path: Path) -> None:
    records = taps_records()
    records[1]["parent_task_ids"].append("00000000-0000-0000-0000-000000000009")
    records[2]["parent_task_ids"].append("00000000-0000-0000-0000-000000000008")
    trace = read_trace(_write(tmp_path, records))
    assert trace.metadata["dropped_parents"] == 2
    assert trace.tasks["parents"].to_list() == [[], [0], [0]]


def test_directory_without_records(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="is a directory, not a trace file"):
        read_trace(tmp_path)
