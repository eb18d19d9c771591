"""Hostile or mistaken input to ``tapstrace run`` is one line and a non-zero exit (issue 15,
items 10 and 11): non-finite numbers, unknown keys in a framework's JSON options (checked
before anything starts, nothing left behind), and a run in which every task failed for
one reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import tapstrace_cli

OPTIONS = [
    (
        ["--app.mean-seconds", "inf"],
        None,
        "--app.mean-seconds: must be a finite number (got 'inf')",
    ),
    (["--engine.flush-interval", "nan"], None, "--engine.flush-interval: must be a finite number"),
    (["--app.output-std-bytes", "-inf"], None, "--app.output-std-bytes: must be a finite number"),
    (
        ["--executor", "dask", "--executor.cluster-options", '{"nosuch": 1}'],
        "distributed",
        "--executor.cluster-options: 'nosuch' is not an option of distributed.LocalCluster",
    ),
    (
        ["--executor", "dask", "--executor.cluster-options", '{"memory_limt": "1GiB"}'],
        "distributed",
        "did you mean 'memory_limit'?",
    ),
    (
        ["--executor", "dask", "--executor.cluster-options", '{"scheduler_kwargs": {"x": 1}}'],
        "distributed",
        "--executor.cluster-options scheduler_kwargs: 'x' is not an option of Scheduler",
    ),
    (
        ["--executor", "ray", "--executor.init-options", '{"nosuch": 1}'],
        "ray",
        "--executor.init-options: 'nosuch' is not an option of ray.init",
    ),
    (
        ["--executor", "ray", "--executor.remote-options", '{"nosuch": 1}'],
        "ray",
        "--executor.remote-options: Invalid option keyword nosuch",
    ),
    (
        ["--executor", "parsl", "--executor.htex-options", '{"nosuch": 1}'],
        "parsl",
        "--executor.htex-options: HighThroughputExecutor",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "module", "message"), OPTIONS, ids=[" ".join(a) for a, _, _ in OPTIONS]
)
def test_bad_option_is_one_line_and_leaves_nothing(
    tmp_path: Path, args: list[str], module: str | None, message: str
) -> None:
    if module is not None:
        pytest.importorskip(module)
    result = tapstrace_cli("run", "synthetic", *args, "--record", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tapstrace: error: ") and message in lines[0]
    assert not list(tmp_path.glob("runs/*")) and not list(tmp_path.glob("traces/*"))


@pytest.mark.slow
def test_every_task_failing_for_one_reason_fails_the_run(tmp_path: Path) -> None:
    """Workers that cannot import a module (the failures app injects a real
    ModuleNotFoundError into every task): exit 1, one line naming the cause."""
    result = tapstrace_cli(
        "run", "failures", "--executor", "process", "--executor.max-processes", "2",
        "--app.rate", "1", "--app.kinds", "import",
        "--app.base-config", '{"tasks": 12, "mean_seconds": 0}', "--trace", "t.arrow",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "tapstrace: error: every task failed for one reason: ModuleNotFoundError: "
        "No module named 'tapstrace_injected_missing_module' (12 of 12 attempts)"
    ]
    assert "12 failed" in result.stdout and (tmp_path / "t.arrow").exists()


@pytest.mark.slow
def test_some_tasks_failing_is_the_workloads_business(tmp_path: Path) -> None:
    """Failures among successes are data (they are in the trace): exit 0."""
    result = tapstrace_cli(
        "run", "failures", "--executor", "thread", "--app.rate", "0.3", "--app.kinds", "import",
        "--app.base-config", '{"tasks": 20, "mean_seconds": 0}', cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "task attempts did not succeed" in result.stderr
