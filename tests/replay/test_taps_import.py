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
    run = tmp_path / "old-run"
    _write(run, taps_records("function_name"), "tasks.json")
    (run / "config.json").write_text(json.dumps({"app": {"name": "cholesky"},
                                                 "executor": {"name": "dask"}}))  # fmt: skip
    trace = read_trace(run)
    assert trace.tasks["name"].to_list() == ["generate", "process", "process"]
    assert trace.metadata["taps"]["name_field"] == "function_name"
    assert trace.app == "cholesky" and trace.executor == "dask"


def test_records_are_ordered_by_submission(tmp_path: Path) -> None:
    records = taps_records()
    path = _write(tmp_path, list(reversed(records)))
    assert [s[-1] for s in read_trace(path).tasks["source_id"].to_list()] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "line 3 is not a JSON record"),
        ("dangling", "names parent '00000000-0000-0000-0000-000000000009', which is not a task"),
        ("duplicate", "appears twice"),
        ("backwards", "ends before it starts"),
        ("not-records", "record 1 is not a TaPS task record"),
    ],
)
def test_bad_records(tmp_path: Path, damage: str, message: str) -> None:
    records = taps_records()
    if damage == "dangling":
        records[1]["parent_task_ids"].append("00000000-0000-0000-0000-000000000009")
    elif damage == "duplicate":
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


def test_directory_without_records(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="is a directory, not a trace file"):
        read_trace(tmp_path)
