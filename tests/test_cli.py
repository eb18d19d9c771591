"""The command line as a user meets it: runs, errors, help, config round trip."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tapstrace.trace import read_trace
from tests.conftest import tapstrace_cli

ERRORS = [
    (["run", "nope"], "unknown app 'nope' (choose from:"),
    (["run", "synthetic", "--executor", "nope"], "unknown executor 'nope'"),
    (["run", "synthetic", "--app.tasks", "abc"], "--app.tasks: Input should be a valid integer"),
    (["run", "synthetic", "--app.tasks", "0"], "--app.tasks: Input should be greater"),
    (["run", "synthetic", "--app.bogus", "1"], "No such option '--app.bogus'"),
    (["run", "synthetic", "--executor.max-threads", "2"], "executor 'process' has no parameter"),
    (["run", "--config", "missing.toml"], "missing.toml: no such config file"),
    (["run", "--config", "bad.toml"], "bad.toml: invalid TOML"),
    (
        ["run", "--config", "unknown-key.toml"],
        "unknown-key.toml: [app] colour: app 'synthetic' has",
    ),
    (["run", "--config", "unknown-table.toml"], "unknown-table.toml: unknown table [nope]"),
    (["run"], "no app given"),
    (["show", "missing.arrow"], "missing.arrow: no such file"),
    (["show", "bad.toml"], "bad.toml: not an Arrow trace"),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "bad.toml").write_text("[app\nname = ")
    (tmp_path / "unknown-key.toml").write_text('[app]\nname = "synthetic"\ncolour = "red"\n')
    (tmp_path / "unknown-table.toml").write_text("[nope]\nx = 1\n")
    return tmp_path


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_user_errors_are_one_line(workdir: Path, args: list[str], message: str) -> None:
    result = tapstrace_cli(*args, cwd=workdir)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tapstrace: error: ")
    assert message in lines[0]
    assert not (workdir / "runs").exists()  # nothing ran


def test_help_lists_generated_options(tmp_path: Path) -> None:
    result = tapstrace_cli("run", "synthetic", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("--app.structure", "--executor.max-processes", "--engine.retries", "--record"):
        assert flag in result.stdout
    assert "thread: Threads in the client process" in result.stdout
    general = tapstrace_cli("run", "--help", cwd=tmp_path)
    assert "synthetic" in general.stdout and "--app.structure" not in general.stdout


def test_list_and_show(tmp_path: Path) -> None:
    listing = tapstrace_cli("list", cwd=tmp_path)
    assert listing.returncode == 0
    for word in ("synthetic", "thread", "process", "tapstrace list apps cholesky"):
        assert word in listing.stdout
    # Short: a line per plugin, no parameters.
    assert "max-processes" not in listing.stdout and len(listing.stdout.splitlines()) < 80
    one = tapstrace_cli("list", "executors", "process", cwd=tmp_path)
    assert one.returncode == 0 and "max-processes" in one.stdout and "dask" not in one.stdout
    every = tapstrace_cli("list", "--all", cwd=tmp_path)
    assert "max-processes" in every.stdout and "matrix-size" in every.stdout
    missing = tapstrace_cli("list", "apps", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "apps 'nope': not registered" in missing.stderr


@pytest.mark.slow
def test_run_record_show_and_config_round_trip(tmp_path: Path) -> None:
    args = ["--app.structure", "random", "--app.width", "5", "--app.depth", "4"]
    first = tapstrace_cli(
        "run", "synthetic", "--executor", "thread", "--executor.max-threads", "3",
        *args, "--app.mean-seconds", "0.001", "--app.seed", "7", "--trace", "one.arrow",
        cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "trace: one.arrow" in first.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert {p.name for p in run_dir.iterdir()} >= {"config.toml", "log.txt"}
    one = read_trace(tmp_path / "one.arrow")
    assert one.config["app"]["seed"] == 7 and one.config["executor"]["max_threads"] == 3
    assert one.tasks.height == 20 and one.metadata["workers"] == 3
    shown = tapstrace_cli("show", "one.arrow", cwd=tmp_path)
    assert "synthetic" in shown.stdout and "20 ok" in shown.stdout and "complete" in shown.stdout

    # The config saved in the run directory reproduces the run.
    again = tapstrace_cli(
        "run", "--config", str(run_dir / "config.toml"), "--trace", "two.arrow", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    two = read_trace(tmp_path / "two.arrow")
    assert two.config == one.config
    graph = ["task_id", "name", "parents"]
    assert two.tasks.select(graph).sort("task_id").equals(one.tasks.select(graph).sort("task_id"))

    # Flags override the config; switching executor drops the old executor's fields.
    third = tapstrace_cli(
        "run", "--config", str(run_dir / "config.toml"), "--executor", "process",
        "--app.width", "2", "--trace", "three.arrow", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert third.returncode == 0, third.stderr
    three = read_trace(tmp_path / "three.arrow")
    assert three.config["executor"]["name"] == "process"
    assert "max_threads" not in three.config["executor"]
    assert three.tasks.height == 8
    assert three.tasks.filter(pl.col("status") != "ok").height == 0


def test_show_partial_trace(tmp_path: Path) -> None:
    from tapstrace.engine import Engine
    from tapstrace.trace import TraceWriter
    from tests.conftest import build_executor
    from tests.tasks import identity

    writer = TraceWriter(tmp_path / "partial.arrow")
    with Engine(build_executor("thread", max_threads=2), recorder=writer) as engine:
        engine.wait([engine.submit(identity, i) for i in range(3)])
    writer.flush()  # never closed: what a killed run leaves
    result = tapstrace_cli("show", "partial.arrow", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "partial" in result.stdout and "3 ok" in result.stdout
    as_json = tapstrace_cli("show", "--json", "partial.arrow", cwd=tmp_path)
    assert '"partial": true' in as_json.stdout
    writer.close()


@pytest.mark.slow
def test_sigterm_finalises_the_trace(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "thread",
         "--executor.max-threads", "2", "--app.tasks", "200", "--app.mean-seconds", "0.1",
         "--trace", "term.arrow", "-q"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    from tests.reliability.runs import records

    deadline = time.monotonic() + 60
    while records(tmp_path / "term.arrow") == 0:  # the file has its header from the start
        assert time.monotonic() < deadline and proc.poll() is None, "the run never got going"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    trace = read_trace(tmp_path / "term.arrow")
    assert not trace.partial  # finalised on the way out
    assert trace.tasks.height == 200  # every submitted task has its record
    statuses = set(trace.tasks["status"].unique().to_list())
    assert "ok" in statuses and "cancelled" in statuses
