"""Runs started at the same moment in the same directory never collide (issue 15, item 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tapstrace.trace import read_trace

RUNS = 8


@pytest.mark.slow
def test_eight_runs_started_at_once_get_their_own_directory_and_trace(tmp_path: Path) -> None:
    """8 CLI runs (4 on threads, 4 on processes) started together in one working
    directory with --record: every run succeeds, with its own run directory and trace,
    both named with its run id."""
    env = {**os.environ, "COLUMNS": "200"}
    procs = []
    for i in range(RUNS):
        executor = ["--executor", "thread"]
        if i % 2:
            executor = ["--executor", "process", "--executor.max-processes", "1"]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tapstrace", "run", "synthetic", *executor,
                 "--app.tasks", "5", "--app.mean-seconds", "0", "--record"],
                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
        )  # fmt: skip
    outputs = [proc.communicate(timeout=170) for proc in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
        assert stderr == ""
    run_dirs = sorted((tmp_path / "runs").iterdir())
    traces = sorted((tmp_path / "traces").iterdir())
    assert len(run_dirs) == RUNS and len(traces) == RUNS
    assert [d.name + ".arrow" for d in run_dirs] == [t.name for t in traces]
    run_ids = set()
    for run_dir, path in zip(run_dirs, traces, strict=True):
        trace = read_trace(path)
        assert not trace.partial and trace.tasks.height == 5
        run_id = trace.metadata["run_id"]
        assert run_dir.name.endswith(f"-{run_id}")
        assert trace.metadata["run_dir"].endswith(run_dir.name)
        assert {"config.toml", "log.txt"} <= {p.name for p in run_dir.iterdir()}
        assert run_id in (run_dir / "log.txt").read_text()
        run_ids.add(run_id)
    assert len(run_ids) == RUNS
    printed = "".join(stdout for stdout, _ in outputs)
    assert all(f"run {run_id}:" in printed for run_id in run_ids)


def test_a_trace_path_is_claimed_exclusively(tmp_path: Path) -> None:
    """Two writers given one path: the second gets a one-line error, the first's file is
    untouched."""
    from tapstrace.errors import TraceError
    from tapstrace.trace import TraceWriter

    first = TraceWriter(tmp_path / "t.arrow")
    with pytest.raises(TraceError, match=r"t\.arrow: exists already"):
        TraceWriter(tmp_path / "t.arrow")
    first.close()
    assert read_trace(tmp_path / "t.arrow").tasks.height == 0
