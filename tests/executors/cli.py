"""``tapstrace run ... --trace`` end to end on a cluster executor, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tapstrace.apps.synthetic import SyntheticConfig
from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.executors.thread import ThreadConfig
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


#: A layered random DAG of 1 MB payloads (12 tasks), as flags and as a config.
DAG = {"structure": "random", "width": 4, "depth": 3, "edge_probability": 0.5, "seed": 5,
       "mean_seconds": 0.01, "output_bytes": MB}  # fmt: skip


def reference_edges() -> list[tuple[int, ...]]:
    """The DAG's edges as the synthetic app submits them (run on a thread pool)."""
    recorder = MemoryRecorder()
    with Engine(ThreadConfig(max_threads=2).build(), recorder=recorder) as engine:
        SyntheticConfig(**{**DAG, "mean_seconds": 0, "output_bytes": 0}).build().run(
            engine, Path(".")
        )
    return [r.parents for r in sorted(recorder.records, key=lambda r: r.task_id)]


def check_cli_run(tmp_path: Path, marker: str, executor: str, *flags: str, **env: str) -> None:
    """A random DAG of 1 MB payloads: the trace has every task with the submitted edges,
    the terminal stays quiet, nothing is left in the working directory or running."""
    dag_flags = [f for key, value in DAG.items()
                 for f in (f"--app.{key.replace('_', '-')}", str(value))]  # fmt: skip
    result = tapstrace(
        "run", "synthetic", "--executor", executor, *flags, *dag_flags, "--trace", "run.arrow",
        cwd=tmp_path, marker=marker, **env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # quiet: no framework logs on the terminal
    assert "ok 12" in result.stdout or "12 ok" in result.stdout, result.stdout

    trace = read_trace(tmp_path / "run.arrow")
    assert not trace.partial and trace.executor == executor
    tasks = trace.tasks.sort("task_id")
    assert tasks.height == 12
    assert tasks["status"].to_list() == ["ok"] * 12
    parents = [tuple(p) for p in tasks["parents"].to_list()]
    assert parents == reference_edges()
    assert any(len(p) > 1 for p in parents)  # some task has several parents
    assert tasks["worker_id"].null_count() == 0
    assert tasks["output_bytes"].to_list() == [MB] * 12
    for inputs, received in zip(parents, tasks["input_bytes"].to_list(), strict=True):
        assert received >= len(inputs) * MB  # each parent's payload reached the child
    assert trace.metadata["workers"]

    (run_dir,) = (tmp_path / "runs").iterdir()
    assert {"config.toml", "log.txt"} <= {p.name for p in run_dir.iterdir()}
    stray = {p.name for p in tmp_path.iterdir()} - {"runs", "run.arrow"}
    assert not stray, f"files left in the working directory: {stray}"
    assert not wait_no_leftovers(marker, cwd=tmp_path)
