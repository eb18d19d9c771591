"""Importing WfFormat instances (1.5 nested, 1.4 flat) written by the tests."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tapstrace.errors import TraceError, UserError
from tapstrace.trace.reader import read_trace
from tests.replay.conftest import wfformat_14, wfformat_15, write_json


def _by_source(path: Path) -> dict[str, dict[str, Any]]:
    trace = read_trace(path)
    return {row["source_id"]: row for row in trace.tasks.to_dicts()}


def test_nested_instance(wf15: Path) -> None:
    trace = read_trace(wf15)
    rows = {row["source_id"]: row for row in trace.tasks.to_dicts()}
    assert list(rows) == ["split_ID01", "work_ID02", "work_ID03", "merge_ID04", "report_ID05"]
    ids = {s: r["task_id"] for s, r in rows.items()}
    assert rows["merge_ID04"]["parents"] == [ids["work_ID02"], ids["work_ID03"]]
    assert rows["report_ID05"]["parents"] == [ids["merge_ID04"]]  # declared as a child only
    assert [r["name"] for r in rows.values()] == ["split", "work", "work", "merge", "report"]
    # output bytes = sum of output files; input bytes = sum of the files read
    assert rows["split_ID01"]["output_bytes"] == 900
    assert rows["work_ID03"]["output_bytes"] == 25
    assert rows["work_ID02"]["input_bytes"] == 470
    assert rows["report_ID05"]["input_bytes"] == 0
    anchor = datetime(2020, 12, 19, 21, 31, 53, tzinfo=UTC)
    for source, runtime in [("work_ID02", 10.0), ("work_ID03", 7.25), ("report_ID05", 0.5)]:
        assert rows[source]["started"] == anchor
        assert (rows[source]["ended"] - rows[source]["started"]).total_seconds() == runtime
    assert rows["work_ID03"]["worker_host"] == "node-2"
    for column in ("submitted", "ready", "dispatched", "received"):
        assert all(r[column] is None for r in rows.values())
    assert {r["status"] for r in rows.values()} == {"ok"}
    meta = trace.metadata
    assert meta["timing"]["started"] == "anchored"
    assert meta["timing"]["anchor"] == anchor.isoformat()
    assert meta["makespan_s"] == 21.0
    assert meta["workers"] == 12
    assert trace.app == "test-workflow" and trace.executor == "Pegasus"
    assert meta["source_format"] == "wfformat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20200403T232446+0000", datetime(2020, 4, 3, 23, 24, 46, tzinfo=UTC)),
        ("12-19-20T21:31:53Z", datetime(2020, 12, 19, 21, 31, 53, tzinfo=UTC)),
        ("2020-03-20T15:19:28-08:00", datetime(2020, 3, 20, 23, 19, 28, tzinfo=UTC)),
        ("2021-06-01T10:00:00.250Z", datetime(2021, 6, 1, 10, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_executed_at_formats(tmp_path: Path, text: str, expected: datetime) -> None:
    path = write_json(tmp_path / "i.json", wfformat_15(executed_at=text))
    trace = read_trace(path)
    assert trace.tasks["started"].to_list() == [expected] * 5


def test_per_task_executed_at_is_a_recorded_start(tmp_path: Path) -> None:
    doc = wfformat_15()
    for i, task in enumerate(doc["workflow"]["execution"]["tasks"]):
        task["executedAt"] = f"2020-12-19T21:3{i}:00+00:00"
    trace = read_trace(write_json(tmp_path / "i.json", doc))
    assert trace.metadata["timing"]["started"] == "recorded"
    assert trace.metadata["timing"]["anchored_tasks"] == 0
    assert trace.tasks["started"].to_list()[2] == datetime(2020, 12, 19, 21, 32, tzinfo=UTC)


def test_flat_14_instance(tmp_path: Path) -> None:
    rows = _by_source(write_json(tmp_path / "flat.json", wfformat_14()))
    fetch, align, stats = rows["fetch_ID0000001"], rows["align_ID0000002"], rows["stats_ID0000003"]
    assert align["parents"] == [fetch["task_id"]]
    assert stats["parents"] == [align["task_id"]]  # named by id in the file
    assert [fetch["name"], align["name"], stats["name"]] == ["fetch", "aligner", "stats"]
    assert (fetch["output_bytes"], fetch["input_bytes"]) == (100, 7)
    assert align["output_bytes"] == 60 and stats["output_bytes"] == 0  # writes no file
    assert fetch["started"] == datetime(2020, 4, 3, 23, 24, 46, tzinfo=UTC)
    assert (align["ended"] - align["started"]).total_seconds() == 4.5
    trace = read_trace(tmp_path / "flat.json")
    assert trace.metadata["wfformat"]["layout"] == "flat"
    assert trace.executor == "Nextflow" and trace.metadata["workers"] == 2


def test_specification_only_has_no_times(tmp_path: Path) -> None:
    doc = wfformat_15()
    del doc["workflow"]["execution"]
    trace = read_trace(write_json(tmp_path / "spec.json", doc))
    assert trace.tasks.height == 5
    assert trace.tasks["started"].null_count() == 5
    assert trace.metadata["timing"]["started"] == "none"


def _mutate(change: str) -> dict[str, Any]:
    doc = copy.deepcopy(wfformat_15())
    spec = doc["workflow"]["specification"]["tasks"]
    execution = doc["workflow"]["execution"]["tasks"]
    if change == "cycle":
        spec[0]["parents"] = ["merge_ID04"]
    elif change == "dangling":
        spec[1]["parents"] = ["split_ID01", "ghost_ID99"]
    elif change == "negative":
        execution[2]["runtimeInSeconds"] = -1.0
    elif change == "missing-runtime":
        del execution[1]["runtimeInSeconds"]
    elif change == "no-execution-entry":
        del execution[4]
    elif change == "bad-date":
        doc["workflow"]["execution"]["executedAt"] = "yesterday"
    elif change == "duplicate":
        spec[1]["id"] = "split_ID01"
    return doc


BAD = [
    ("cycle", "the task graph has a cycle"),
    ("dangling", "names parent 'ghost_ID99', which is not a task"),
    (
        "negative",
        "workflow.execution.tasks[2] (task 'work_ID03'): runtimeInSeconds: input "
        "should be greater than or equal to 0 (got -1.0)",
    ),
    (
        "missing-runtime",
        "workflow.execution.tasks[1] (task 'work_ID02'): runtimeInSeconds: field required",
    ),
    ("no-execution-entry", "has no execution entry"),
    ("bad-date", "executedAt 'yesterday' is not a date"),
    ("duplicate", "appears twice"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[c for c, _ in BAD])
def test_bad_instances(tmp_path: Path, change: str, message: str) -> None:
    path = write_json(tmp_path / "bad.json", _mutate(change))
    with pytest.raises(TraceError) as info:
        read_trace(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_truncated_instance(tmp_path: Path) -> None:
    whole = json.dumps(wfformat_15())
    path = tmp_path / "cut.json"
    path.write_text(whole[: len(whole) // 2])
    with pytest.raises(TraceError, match=r"cut\.json: invalid WfFormat JSON: ends early"):
        read_trace(path)


def test_format_is_detected_and_can_be_forced(tmp_path: Path, wf15: Path) -> None:
    assert read_trace(wf15, format="wfformat").tasks.height == 5
    with pytest.raises(UserError, match="record 1 is not a TaPS task record"):
        read_trace(wf15, format="taps")
    other = write_json(tmp_path / "other.json", {"hello": "world"})
    with pytest.raises(TraceError, match="not an Arrow trace, WfFormat instance or TaPS"):
        read_trace(other)
    with pytest.raises(TraceError, match="unknown trace format 'csv'"):
        read_trace(wf15, format="csv")
