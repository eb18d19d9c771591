"""Shared fixtures: engines on the local executors, and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.plugins import registry

ROOT = Path(__file__).resolve().parents[1]


def build_executor(name: str, **params: object):
    """A live executor from its registered config."""
    return registry.get("executor", name)(**params).build()  # type: ignore[call-arg]


@pytest.fixture(params=["thread", "process"])
def executor_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture
def engine(executor_name: str, recorder: MemoryRecorder) -> Iterator[Engine]:
    params = {"max_threads": 4} if executor_name == "thread" else {"max_processes": 2}
    eng = Engine(build_executor(executor_name, **params), recorder=recorder)
    yield eng
    eng.shutdown(wait=True, cancel_futures=True)


def tapstrace_cli(
    *args: str, cwd: Path, timeout: float = 120, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (as a user would)."""
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "tapstrace", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=check,
    )


# Property-based tests (hypothesis): "ci" runs a few hundred examples in all and is the
# default; `pytest --hypothesis-profile fuzz` runs thousands. No example database is kept.
_PROFILE: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=60, **_PROFILE)
settings.register_profile("fuzz", max_examples=2000, **_PROFILE)
settings.load_profile("ci")
