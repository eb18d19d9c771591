"""Each app runs end to end from the command line on the process executor, and the
sample traces shipped in traces/ are readable and small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapstrace.trace.reader import read_trace
from tapstrace.version import TRACE_SCHEMA_VERSION
from tests.conftest import ROOT, tapstrace_cli

TINY = {
    "cholesky": ["--app.matrix-size", "64", "--app.block-size", "16"],
    "mapreduce": ["--app.files", "5", "--app.words-per-file", "200", "--app.files-per-map", "2"],
    "fedlearn": ["--app.clients", "4", "--app.rounds", "3", "--app.epochs", "1"],
    "failures": ["--app.base-config", '{"tasks": 30, "mean_seconds": 0}', "--app.rate", "0.2",
                 "--app.timeout-seconds", "0.1", "--app.memory-mb", "8"],
}  # fmt: skip
OUTPUTS = {
    "cholesky": "check.json",
    "mapreduce": "summary.json",
    "fedlearn": "accuracy.csv",
    "failures": "injections.csv",
}


@pytest.mark.slow
@pytest.mark.parametrize("app", sorted(TINY))
def test_run_on_process_executor(app: str, tmp_path: Path) -> None:
    result = tapstrace_cli(
        "run", app, "--executor", "process", "--executor.max-processes", "2",
        "--trace", "t.arrow", *TINY[app], cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / OUTPUTS[app]).stat().st_size > 0
    trace = read_trace(tmp_path / "t.arrow")
    assert trace.app == app and trace.tasks.height > 0 and not trace.partial, (
        result.stdout,
        result.stderr,
        trace.summary,
    )
    statuses = set(trace.tasks["status"].to_list())
    if app == "failures":
        assert "failed" in statuses
    else:
        assert statuses == {"ok"}
    if app == "cholesky":
        assert json.loads((run_dir / "check.json").read_text())["passed"] is True


@pytest.mark.parametrize("app", sorted(TINY))
def test_sample_trace(app: str) -> None:
    path = ROOT / "traces" / f"{app}.arrow"
    assert path.stat().st_size < 1_000_000
    trace = read_trace(path)
    assert trace.app == app and trace.executor == "process" and not trace.partial
    # Recorded at the current schema (re-record them when it changes: docs/trace-format.md)
    assert trace.schema_version == TRACE_SCHEMA_VERSION
    assert trace.tasks.height >= 50
    parents = trace.tasks["parents"].list.len().sum()
    assert parents > 0 or app == "failures"
