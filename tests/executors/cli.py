"""``tapstrace run ... --trace`` end to end on a cluster executor, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tapstrace.trace import read_trace
from tests.executors.conftest import marked_env, wait_no_leftovers

MB = 1_000_000


def tapstrace(
    *args: str, cwd: Path, marker: str, timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess whose processes all carry ``marker``."""
    return subprocess.run(
        [sys.executable, "-m", "tapstrace", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=marked_env(marker, COLUMNS="120", **env),
    )


def check_cli_run(tmp_path: Path, marker: str, executor: str, *flags: str, **env: str) -> None:
    """A diamond of 1 MB payloads: complete trace, right edges, quiet terminal, no leftovers."""
    result = tapstrace(
        "run", "synthetic", "--executor", executor, *flags,
        "--app.structure", "diamond", "--app.tasks", "4", "--app.mean-seconds", "0.01",
        "--app.output-bytes", str(MB), "--trace", "run.arrow",
        cwd=tmp_path, marker=marker, **env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # quiet: no framework logs on the terminal
    assert "ok 6" in result.stdout or "6 ok" in result.stdout, result.stdout

    trace = read_trace(tmp_path / "run.arrow")
    assert not trace.partial and trace.executor == executor
    tasks = trace.tasks.sort("task_id")
    assert tasks.height == 6
    assert tasks["status"].to_list() == ["ok"] * 6
    parents = [list(p) for p in tasks["parents"].to_list()]
    assert parents == [[], [0], [0], [0], [0], [1, 2, 3, 4]]
    assert tasks["worker_id"].null_count() == 0
    assert tasks["output_bytes"].to_list() == [MB] * 6
    assert tasks["input_bytes"].to_list()[-1] >= 4 * MB  # the sink received four payloads
    assert trace.metadata["workers"]

    (run_dir,) = (tmp_path / "runs").iterdir()
    assert {"config.toml", "log.txt"} <= {p.name for p in run_dir.iterdir()}
    stray = {p.name for p in tmp_path.iterdir()} - {"runs", "run.arrow"}
    assert not stray, f"files left in the working directory: {stray}"
    assert not wait_no_leftovers(marker, cwd=tmp_path)
