"""Helpers for the replay and formats tests: traces built in memory, WfFormat and TaPS
files written by the tests themselves, and real recorded runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapstrace.config.spec import EngineOptions, RunOptions, RunSpec
from tapstrace.formats.frame import Columns
from tapstrace.plugins import registry
from tapstrace.runner.run import execute
from tapstrace.trace.reader import Trace

T0 = 1_700_000_000.0


def make_trace(rows: list[dict[str, Any]], path: str = "memory.arrow") -> Trace:
    """A trace from rows of column values (times in seconds after T0; status ok)."""
    columns = Columns("test")
    for row in rows:
        values = {"status": "ok", "parents": [], "name": "f", **row}
        for key in ("submitted", "ready", "dispatched", "started", "ended", "received"):
            if values.get(key) is not None:
                values[key] = T0 + values[key]
        columns.add(**values)
    return Trace(tasks=columns.frame(), metadata={"run_id": "test"}, path=Path(path))


def wfformat_15(executed_at: str = "12-19-20T21:31:53Z") -> dict[str, Any]:
    """A small WfFormat 1.5 instance: split -> (work_a, work_b) -> merge, plus a task
    whose only edge is declared on its parent's side (children)."""
    spec_tasks = [
        {"name": "split_ID01", "id": "split_ID01", "parents": [],
         "children": ["work_ID02", "work_ID03"],
         "inputFiles": ["raw.dat"], "outputFiles": ["part1.dat", "part2.dat"]},
        {"name": "work_ID02", "id": "work_ID02", "parents": ["split_ID01"], "children": [],
         "inputFiles": ["part1.dat", "ref.db"], "outputFiles": ["out1.dat"]},
        {"name": "work_ID03", "id": "work_ID03", "parents": ["split_ID01"], "children": [],
         "inputFiles": ["part2.dat"], "outputFiles": ["out2.dat", "log2.txt"]},
        {"name": "merge_ID04", "id": "merge_ID04", "parents": ["work_ID02", "work_ID03"],
         "children": [], "inputFiles": ["out1.dat", "out2.dat"], "outputFiles": ["final.dat"]},
        {"name": "report_ID05", "id": "report_ID05", "parents": [], "children": [],
         "inputFiles": [], "outputFiles": []},
    ]  # fmt: skip
    spec_tasks[3]["children"] = ["report_ID05"]  # report's edge only on the parent's side
    sizes = {"raw.dat": 1000, "part1.dat": 400, "part2.dat": 500, "ref.db": 70,
             "out1.dat": 30, "out2.dat": 20, "log2.txt": 5, "final.dat": 9}  # fmt: skip
    runtimes = {"split_ID01": 2.5, "work_ID02": 10.0, "work_ID03": 7.25, "merge_ID04": 1.0,
                "report_ID05": 0.5}  # fmt: skip
    programs = {"split_ID01": "split", "work_ID02": "work", "work_ID03": "work",
                "merge_ID04": "merge", "report_ID05": "report"}  # fmt: skip
    executed = [
        {"id": t, "runtimeInSeconds": r, "command": {"program": programs[t]},
         "machines": ["node-1" if t != "work_ID03" else "node-2"]}
        for t, r in runtimes.items()
    ]  # fmt: skip
    return {
        "name": "test-workflow",
        "description": "written by the tapstrace tests",
        "createdAt": "2020-12-19T23:38:32.986156",
        "schemaVersion": "1.5",
        "runtimeSystem": {"name": "Pegasus", "version": "5.0"},
        "workflow": {
            "specification": {
                "tasks": spec_tasks,
                "files": [{"id": k, "sizeInBytes": v} for k, v in sizes.items()],
            },
            "execution": {
                "makespanInSeconds": 21.0,
                "executedAt": executed_at,
                "machines": [
                    {"nodeName": "node-1", "cpu": {"coreCount": 8}},
                    {"nodeName": "node-2", "cpu": {"coreCount": 4}},
                ],
                "tasks": executed,
            },
        },
    }


def wfformat_14() -> dict[str, Any]:
    """The same kind of workflow in 1.4's flat layout (parents named by task name)."""
    return {
        "name": "flat-workflow",
        "schemaVersion": "1.4",
        "wms": {"name": "Nextflow", "version": "21"},
        "workflow": {
            "executedAt": "20200403T232446+0000",
            "makespanInSeconds": 12.0,
            "machines": [{"nodeName": "host-a", "cpu": {"count": 2}}],
            "tasks": [
                {"name": "fetch_ID0000001", "id": "ID0000001", "category": "fetch",
                 "parents": [], "runtimeInSeconds": 3.0, "machine": "host-a",
                 "files": [{"name": "a.txt", "link": "output", "sizeInBytes": 100},
                           {"name": "seed.txt", "link": "input", "sizeInBytes": 7}]},
                {"name": "align_ID0000002", "id": "ID0000002", "category": "align",
                 "command": {"program": "aligner"}, "parents": ["fetch_ID0000001"],
                 "runtimeInSeconds": 4.5, "machine": "host-a",
                 "files": [{"name": "a.txt", "link": "input", "sizeInBytes": 100},
                           {"name": "b.bam", "link": "output", "sizeInBytes": 60}]},
                {"name": "stats_ID0000003", "id": "ID0000003", "category": "stats",
                 "parents": ["ID0000002"], "runtimeInSeconds": 1.0, "machine": "host-a",
                 "files": [{"name": "b.bam", "link": "input", "sizeInBytes": 60}]},
            ],
        },
    }  # fmt: skip


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, indent=1))
    return path


def taps_records(field: str = "name") -> list[dict[str, Any]]:
    """TaPS task records: a -> (b, c) -> d, where c failed and d never ran (not recorded)."""

    def record(
        i: int, name: str, parents: list[int], start: float, run: float, ok: bool = True
    ) -> dict[str, Any]:
        base = T0 + start
        return {
            "task_id": f"00000000-0000-0000-0000-00000000000{i}",
            field: name,
            "parent_task_ids": [f"00000000-0000-0000-0000-00000000000{p}" for p in parents],
            "submit_time": base,
            "received_time": base + run + 0.05,
            "success": ok,
            "exception": None if ok else {"type": "ValueError", "message": "bad input",
                                          "traceback": "Traceback ..."},
            "execution": {
                "hostname": "worker-host",
                "execution_start_time": base + 0.01,
                "execution_end_time": base + run + 0.03,
                "task_start_time": base + 0.02,
                "task_end_time": base + run + 0.02,
                "input_transform_start_time": base + 0.011,
                "input_transform_end_time": base + 0.015,
                "result_transform_start_time": base + run + 0.021,
                "result_transform_end_time": base + run + 0.024,
            },
        }  # fmt: skip

    # written in completion order, as TaPS does: the failed task c last
    return [
        record(1, "generate", [], 0.0, 0.5),
        record(2, "process", [1], 0.001, 0.25),
        record(3, "process", [1], 0.002, 0.125, ok=False),
    ]


def record_run(
    tmp_path: Path, executor: str, executor_params: dict[str, Any], name: str = "source", **app: Any
) -> Path:
    """Record the synthetic app on a real executor; returns the trace path."""
    trace = tmp_path / f"{name}.arrow"
    spec = RunSpec(
        app=registry.get("app", "synthetic")(**app),  # type: ignore[arg-type]
        executor=registry.get("executor", executor)(**executor_params),  # type: ignore[arg-type]
        engine=EngineOptions(),
        run=RunOptions(record=True, trace=trace, runs_dir=tmp_path / "runs",
                       traces_dir=tmp_path / "traces"),
    )  # fmt: skip
    execute(spec)
    return trace


@pytest.fixture
def wf15(tmp_path: Path) -> Path:
    return write_json(tmp_path / "instance.json", wfformat_15())
