"""The Python API of replay: ``tapstrace.replay.replay(trace, executor, ...)``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapstrace.config.spec import EngineOptions, RunOptions, RunSpec
from tapstrace.plugins import registry
from tapstrace.replay.app import REPORT, ReplayConfig
from tapstrace.runner.run import RunResult, execute


@dataclass
class ReplayResult:
    """A finished replay: the run (directory, trace, records) and its replay.json report."""

    run: RunResult
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def makespan_s(self) -> float | None:
        """Replay makespan: first submission to last result."""
        return self.report.get("makespan_s")

    @property
    def source_makespan_s(self) -> float | None:
        """Makespan of the replayed tasks in the source trace."""
        return self.report.get("source_makespan_s")

    @property
    def difference(self) -> float | None:
        """(replay - source) / source makespan; None when not comparable."""
        return self.report.get("difference")


def replay(
    trace: str | os.PathLike[str],
    executor: str = "process",
    executor_params: dict[str, Any] | None = None,
    *,
    record: bool = False,
    trace_path: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs",
    traces_dir: str | os.PathLike[str] = "traces",
    engine: dict[str, Any] | None = None,
    **options: Any,
) -> ReplayResult:
    """Replay ``trace`` on ``executor``; ``options`` are ReplayConfig fields (mode,
    time_scale, data_scale, limit, failures, max_in_flight, warmup, format).

    The trace is read and planned before anything is written, so bad input raises a
    TraceError without leaving a run directory behind.
    """
    config = ReplayConfig(trace=Path(trace), **options)
    config.load()
    executor_config = registry.get("executor", executor)(**(executor_params or {}))
    spec = RunSpec(
        app=config,
        executor=executor_config,  # type: ignore[arg-type]
        engine=EngineOptions(**(engine or {})),
        run=RunOptions(
            record=record or trace_path is not None,
            trace=Path(trace_path) if trace_path is not None else None,
            runs_dir=Path(runs_dir),
            traces_dir=Path(traces_dir),
        ),
    )
    result = execute(spec)
    report_path = result.run_dir / REPORT
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return ReplayResult(result, report)
