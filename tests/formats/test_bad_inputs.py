"""Hostile and malformed inputs (issue 15's list): each is one line naming the file, the
record and the field; ``analyze`` over many files reports every bad one and analyses the
rest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tapstrace.analysis.batch import analyze
from tapstrace.errors import TraceError
from tapstrace.trace.reader import read_trace
from tests.analysis.builders import reference_rows, write_trace
from tests.conftest import tapstrace_cli
from tests.formats.test_taps_eras import RUNS
from tests.replay.conftest import wfformat_14, wfformat_15

TAPS = RUNS / "0.2.1/experiments/synthetic-taskvine-2024-10-22-16-00-00"


def _taps(tmp_path: Path, line: int, old: str, new: str) -> Path:
    """A copy of the 0.2.1 fixture run with ``old`` replaced by ``new`` on one line."""
    run = shutil.copytree(TAPS, tmp_path / "run")
    lines = (run / "tasks.jsonl").read_text().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new)
    (run / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    return run / "tasks.jsonl"


TAPS_CASES = [
    (3, '"submit_time": 1729612802.000', '"submit_time": 1e400',
     "line 3 (task '7b8c9d0e-1f2a-4b3c-9d4e-000000000003'): submit_time: input should be a "
     "finite number (got inf)"),
    (4, '"hostname": "vine-worker-1"', '"hostname": 7',
     "line 4 (task '7b8c9d0e-1f2a-4b3c-9d4e-000000000005'): execution.hostname: input should "
     "be a valid string (got 7)"),
    (2, '"parent_task_ids": []', '"parent_task_ids": ' + "[" * 1000 + "]" * 1000,
     "line 2 is not a JSON record (nested more than 200 levels deep"),
    (5, '"submit_time": 1729612802.003', '"submit_time": -5',
     "submit_time: input should be greater than or equal to 0 (got -5)"),
    (1, '"success": true', '"success": "yes"',
     "line 1 (task '7b8c9d0e-1f2a-4b3c-9d4e-000000000001'): success: input should be a valid "
     "boolean (got 'yes')"),
    (3, '"task_end_time": 1729612802.610', '"task_end_time": 99999999999999',
     "execution.task_end_time: input should be less than or equal to 253402300799"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "old", "new", "message"), TAPS_CASES)
def test_taps_records_are_checked_field_by_field(
    tmp_path: Path, line: int, old: str, new: str, message: str
) -> None:
    path = _taps(tmp_path, line, old, new)
    with pytest.raises(TraceError) as info:
        read_trace(path.parent)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_taps_config_counts_are_checked(tmp_path: Path) -> None:
    run = shutil.copytree(TAPS, tmp_path / "run")
    config = run / "config.toml"
    config.write_text(config.read_text().replace("workers = 2", 'workers = "two"'))
    with pytest.raises(TraceError) as info:
        read_trace(run)
    assert str(info.value) == (
        f"{config}: engine.executor.workers: input should be a valid integer (got 'two')"
    )


WF_CASES = [
    ("1.5", ("workflow", "execution", "machines"), 1.5,
     "workflow.execution.machines: input should be a valid array (got 1.5)"),
    ("1.5", ("workflow", "execution", "tasks", 1, "machines"), [7],
     "workflow.execution.tasks[1] (task 'work_ID02'): machines[0]: input should be a valid "
     "string (got 7)"),
    ("1.5", ("workflow", "specification", "files", 0, "sizeInBytes"), -3,
     "workflow.specification.files[0] (task 'raw.dat'): sizeInBytes: input should be greater "
     "than or equal to 0 (got -3)"),
    ("1.5", ("workflow", "execution", "executedAt"), "9999-12-31T23:59:59-05:00",
     "workflow executedAt '9999-12-31T23:59:59-05:00' is not a date"),
    ("1.5", ("workflow", "execution", "tasks", 0, "runtimeInSeconds"), 1e300,
     "runtimeInSeconds: input should be less than or equal to 10000000000"),
    ("1.4", ("workflow", "tasks", 2, "runtimeInSeconds"), "3",
     "workflow.tasks[2] (task 'ID0000003'): runtimeInSeconds: input should be a valid number "
     "(got '3')"),
    ("1.4", ("workflow", "machines", 0, "cpu", "count"), True,
     "workflow.machines[0].cpu.count: value error, a number is expected, not a boolean"),
]  # fmt: skip


@pytest.mark.parametrize(("version", "where", "value", "message"), WF_CASES)
def test_wfformat_fields_are_checked(
    tmp_path: Path, version: str, where: tuple[str | int, ...], value: object, message: str
) -> None:
    document = wfformat_15() if version == "1.5" else wfformat_14()
    node = document
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(TraceError) as info:
        read_trace(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_wfformat_nested_a_thousand_deep(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"workflow": {"tasks": ' + "[" * 1000 + "]" * 1000 + "}}")
    with pytest.raises(TraceError, match=r"deep\.json: invalid WfFormat JSON: nested more"):
        read_trace(path)


def test_arrow_trace_with_damaged_facts_and_columns(tmp_path: Path) -> None:
    good = write_trace(tmp_path / "good.arrow", reference_rows(), app="demo").path
    assert good is not None
    raw = good.read_bytes()
    facts = b'"app": {"name": "demo", "params": {}}'
    assert facts in raw
    bad = tmp_path / "bad.arrow"
    bad.write_bytes(raw.replace(facts, b'"app": {"name": 777777, "params": {}}'))
    with pytest.raises(TraceError) as info:
        read_trace(bad)
    assert str(info.value) == (
        f"{bad}: run metadata: app.name: input should be a valid string (got 777777)"
    )
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TraceError, match=r"cut\.arrow: damaged Arrow file"):
        read_trace(cut)


def _mixed(folder: Path) -> list[Path]:
    """Two good traces and three bad ones of three formats."""
    folder.mkdir(parents=True, exist_ok=True)
    good = [
        write_trace(folder / "good.arrow", reference_rows(), app="demo").path,
        shutil.copytree(TAPS, folder / "taps-good"),
    ]
    bad_taps = shutil.copytree(TAPS, folder / "taps-bad")
    records = (bad_taps / "tasks.jsonl").read_text().replace('"hostname": "vine-worker-2"',
                                                               '"hostname": 7', 1)  # fmt: skip
    (bad_taps / "tasks.jsonl").write_text(records)
    document = wfformat_15()
    document["workflow"]["execution"]["machines"] = 1.5
    (folder / "bad.wf.json").write_text(json.dumps(document))
    (folder / "cut.arrow").write_bytes(good[0].read_bytes()[:300])  # type: ignore[union-attr]
    return good  # type: ignore[return-value]


def test_analyze_reports_each_bad_file_and_analyses_the_rest(tmp_path: Path) -> None:
    _mixed(tmp_path)
    result = analyze([tmp_path], by=["app"])
    assert len(result.summaries) == 2
    bad = {Path(p).name: message for p, message in result.errors}
    assert set(bad) == {"bad.wf.json", "cut.arrow", "tasks.jsonl"}
    assert bad["tasks.jsonl"].startswith("line 2 (task '7b8c9d0e-1f2a-4b3c-9d4e-000000000002')")
    assert "execution.hostname" in bad["tasks.jsonl"]


@pytest.mark.slow
def test_analyze_command_over_good_and_bad_files(tmp_path: Path) -> None:
    _mixed(tmp_path / "mixed")
    result = tapstrace_cli("analyze", "mixed", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("tapstrace: error: ") for line in lines)
    assert "Traceback" not in result.stderr
    assert len(json.loads(result.stdout)["traces"]) == 2
