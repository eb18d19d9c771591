"""Replay as an app: ``tapstrace replay TRACE`` (or ``tapstrace run replay --app.trace``)
runs through the same runner and engine as any app, on any executor.

The replay's trace names its source under ``source`` in its metadata (path, SHA-256,
format, app, executor, workers, run id, makespan); each replayed task keeps its source
task id in ``source_id``. The run directory gets ``replay.json``: the source makespan
beside the replay's and the tasks by status.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, PrivateAttr

from tapstrace.plugins.config import App, AppConfig
from tapstrace.plugins.registry import register

if TYPE_CHECKING:
    from tapstrace.engine.engine import Engine
    from tapstrace.replay.plan import Plan
    from tapstrace.trace.reader import Trace

log = logging.getLogger(__name__)

REPORT = "replay.json"


@dataclass
class Source:
    """A loaded source trace and its replay plan."""

    trace: Trace
    plan: Plan
    format: str
    sha256: str

    def facts(self) -> dict[str, Any]:
        """What the replay's trace metadata says about its source."""
        trace = self.trace
        return {
            "path": str(trace.path.resolve()) if trace.path else None,
            "sha256": self.sha256,
            "format": self.format,
            "app": trace.app,
            "executor": trace.executor,
            "workers": trace.metadata.get("workers"),
            "run_id": trace.metadata.get("run_id"),
            "tasks": len(self.plan) + self.plan.skipped,
            "makespan_s": self.plan.source_makespan,
            "partial": trace.partial,
        }


@register("app")
class ReplayConfig(AppConfig):
    """Replay a trace (Arrow, WfFormat, TaPS) as synthetic tasks that keep its DAG."""

    name: ClassVar[str] = "replay"

    trace: Path = Field(
        description="The trace to replay: a tapstrace .arrow trace, a WfFormat JSON "
        "instance, TaPS tasks.jsonl or a TaPS run directory."
    )
    format: Literal["arrow", "wfformat", "taps"] | None = Field(
        None, description="Format of the trace (default: detected from its content)."
    )
    mode: Literal["recorded", "sleep", "spin"] = Field(
        "recorded",
        description="recorded: use each task's recorded CPU time and sleep the rest "
        "(sleep where no CPU time is recorded; see contention); sleep (no CPU); or spin "
        "(busy CPU).",
    )
    contention: Literal["rebuild", "copy"] = Field(
        "rebuild",
        description="With mode recorded, where the trace has run-queue waits (schema 1.3): "
        "rebuild (spin the task's CPU time on its thread's CPU clock, sleep its off-CPU "
        "time: the replay meets its own run's contention) or copy (each task takes its "
        "source wall time, contention included).",
    )
    client_flow: Literal["auto", "infer", "none"] = Field(
        "auto",
        description="The client's pacing: auto (re-enact the recorded control flow where "
        "the trace has one), infer (else infer the client's waits from submit and receive "
        "times: docs/replay.md), none (submit every task as early as the DAG allows).",
    )
    client_time: Literal["keep", "scale", "zero"] = Field(
        "scale",
        description="The recorded client time between submissions: scale it with "
        "time-scale, keep it as recorded, or zero it (submit as soon as the client's "
        "waits allow).",
    )
    time_scale: float = Field(1.0, ge=0, description="Multiply recorded execution times by this.")
    data_scale: float = Field(1.0, ge=0, description="Multiply recorded data sizes by this.")
    limit: int | None = Field(None, ge=1, description="Replay only the first N tasks.")
    failures: Literal["replay", "skip", "succeed"] = Field(
        "replay",
        description="Source tasks that failed: replay (fail again), skip (leave them and "
        "their descendants out) or succeed (run them as if they had worked).",
    )
    max_in_flight: int | None = Field(
        100_000, ge=1, description="Most tasks submitted and unfinished at once (none: no limit)."
    )
    warmup: bool = Field(True, description="Replay the source's warm-up tasks first.")

    _source: Source | None = PrivateAttr(default=None)

    def load(self) -> Source:
        """Read the trace and plan the replay (once); bad input raises a TraceError."""
        if self._source is None:
            from tapstrace.formats.jsonfile import sha256_file
            from tapstrace.formats.taps import records_file
            from tapstrace.replay.plan import build_plan
            from tapstrace.trace.reader import read_trace

            trace = read_trace(self.trace, format=self.format, warn=False)
            plan = build_plan(
                trace,
                time_scale=self.time_scale,
                data_scale=self.data_scale,
                limit=self.limit,
                failures=self.failures,
                client_time=self.client_time,
                client_flow=self.client_flow,
                contention=self.contention,
            )
            content = records_file(self.trace) if self.trace.is_dir() else self.trace
            kind = str(trace.metadata.get("source_format") or "arrow")
            self._source = Source(trace, plan, kind, sha256_file(content or self.trace))
        return self._source

    def describe(self) -> dict[str, Any]:
        source = self.load()
        return {
            "source": source.facts(),
            "replay": {
                "tasks": len(source.plan),
                "skipped": source.plan.skipped,
                "client_flow": source.plan.flow,
            },
        }

    def build(self) -> ReplayApp:
        return ReplayApp(self)


class ReplayApp(App):
    """Submits the planned tasks through the engine and reports the makespans."""

    def __init__(self, config: ReplayConfig) -> None:
        self.config = config

    def run(self, engine: Engine, run_dir: Path) -> None:
        from tapstrace.replay.submit import run_warmup, submit_plan

        c = self.config
        source = c.load()
        from tapstrace.replay.task import import_module

        # The source client had imported its app: so does the replay client, before its
        # first submission (workers in its process then find the modules loaded).
        for module in sorted({m for m in source.plan.modules if m is not None}):
            if not import_module(module):
                log.info("replay: cannot import %s here; its import cost is not replayed", module)
        lead, begun = source.plan.lead, self.run_started
        if lead and begun is not None and (delay := begun + lead - time.time()) > 0:
            # The source client set up for this long before its first submission, while
            # its executor started (Parsl's workers take seconds): so does the replay's.
            log.info("replay: the source client's set-up, %.3f s, before submitting", delay)
            time.sleep(delay)
        if c.warmup:
            run_warmup(engine, source.plan, c.mode)
        outcome = submit_plan(engine, source.plan, mode=c.mode, max_in_flight=c.max_in_flight)
        makespan, reference = outcome.makespan, source.plan.source_makespan
        difference = None  # only comparable when times are not rescaled
        if makespan is not None and reference and c.time_scale == 1:
            difference = (makespan - reference) / reference
        report = {
            "source": source.facts(),
            "tasks": outcome.tasks,
            "skipped": source.plan.skipped,
            "statuses": dict(outcome.statuses),
            "makespan_s": makespan,
            "source_makespan_s": reference,
            "difference": difference,
            "submit_seconds": outcome.submit_seconds,
            "time_scale": c.time_scale,
            "data_scale": c.data_scale,
            "mode": c.mode,
            "contention": c.contention,
            "client_time": c.client_time,
            "client_flow": source.plan.flow,
        }
        (run_dir / REPORT).write_text(json.dumps(report, indent=1) + "\n")
        log.info(
            "replayed %d tasks in %s s (source %s s)",
            outcome.tasks,
            f"{makespan:.3f}" if makespan is not None else "-",
            f"{reference:.3f}" if reference is not None else "-",
        )
