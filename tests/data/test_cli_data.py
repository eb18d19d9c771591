"""Data management from the command line, read back from the trace."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tapstrace.trace import read_trace
from tapstrace.version import TRACE_SCHEMA_VERSION
from tests.conftest import tapstrace_cli


@pytest.mark.slow
def test_run_with_size_filter_and_file_transformer(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    result = tapstrace_cli(
        "run", "synthetic", "--app.structure", "diamond", "--app.tasks", "6",
        "--app.mean-seconds", "0", "--app.output-bytes", "100000",
        "--executor", "process", "--executor.max-processes", "2",
        "--filter", "size", "--filter.min-bytes", "1000",
        "--transformer", "file", "--transformer.directory", str(shared),
        "--record", "--trace", "data.arrow", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    trace = read_trace(tmp_path / "data.arrow")
    assert trace.schema_version == TRACE_SCHEMA_VERSION
    tasks = trace.tasks
    assert tasks.height == 8 and (tasks["status"] == "ok").all()
    assert (tasks["output_bytes"] == 100_000).all()  # logical size, as the app asked
    assert (tasks["inband_output_bytes"] < 1000).all()  # a file reference crossed the pool
    assert tasks["transform_seconds"].is_not_null().all()
    assert tasks["client_resolve_seconds"].is_not_null().all()
    children = tasks.filter(pl.col("parents").list.len() > 0)
    assert children.height == 7
    # each child read its parents' payloads from files: stored output + fetched inputs
    fetched = children["parents"].list.len() * 100_000 + 100_000
    assert (children["oob_bytes"] >= fetched).all()
    assert (children["inband_input_bytes"] < 1000 * children["parents"].list.len()).all()
    assert (children["input_bytes"] >= children["parents"].list.len() * 100_000).all()
    source = tasks.filter(pl.col("parents").list.len() == 0)
    assert source["client_transform_seconds"].is_not_null().all()
    run = trace.metadata
    assert run["transformer"]["name"] == "file" and run["filter"]["params"]["min_bytes"] == 1000
    assert list(shared.iterdir()) == []  # the run's data directory was removed


@pytest.mark.slow
def test_run_with_proxystore_on_redis(tmp_path: Path, redis_server: tuple[str, int]) -> None:
    host, port = redis_server
    result = tapstrace_cli(
        "run", "synthetic", "--app.structure", "sequential", "--app.tasks", "4",
        "--app.mean-seconds", "0", "--app.output-bytes", "50000",
        "--executor", "thread", "--executor.max-threads", "2",
        "--filter", "type", "--filter.patterns", "bytes",
        "--transformer", "proxystore", "--transformer.connector", "redis",
        "--transformer.redis-host", host, "--transformer.redis-port", str(port),
        "--trace", "redis.arrow", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tasks = read_trace(tmp_path / "redis.arrow").tasks.sort("task_id")
    assert (tasks["status"] == "ok").all()
    assert (tasks["oob_bytes"] >= 50_000).all()
    assert (tasks["inband_output_bytes"] < 1000).all()


def test_filter_without_transformer_is_a_user_error(tmp_path: Path) -> None:
    result = tapstrace_cli("run", "synthetic", "--filter", "size", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "tapstrace: error: --filter needs a --transformer to move the data it selects"
    )
    assert not (tmp_path / "runs").exists()


def test_unreachable_redis_is_a_user_error(tmp_path: Path) -> None:
    from tests.data.conftest import free_port

    port = free_port()
    result = tapstrace_cli(
        "run", "synthetic", "--app.tasks", "2", "--executor", "thread",
        "--transformer", "proxystore", "--transformer.connector", "redis",
        "--transformer.redis-port", str(port), "--transformer.redis-timeout", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach Redis at 127.0.0.1:{port}" in lines[0]
    assert not (tmp_path / "runs").exists()  # it failed before anything was made
