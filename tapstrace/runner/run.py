"""Execute a RunSpec: the Python API behind ``tapstrace run``.

Whatever happens inside the app (an exception, Ctrl-C), the engine is shut down, every
submitted task gets its record, and the trace is finalised with what completed.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tapstrace.config.spec import RunSpec
from tapstrace.engine.engine import Engine
from tapstrace.engine.record import STATUS, Row, TaskRecord
from tapstrace.errors import ConfigError, TraceError, UserError
from tapstrace.runner import signals
from tapstrace.runner.reaper import Reaper
from tapstrace.trace.metadata import environment, trace_metadata
from tapstrace.trace.writer import TraceWriter

log = logging.getLogger(__name__)

Monitor = Callable[[Engine], AbstractContextManager[Any]]

_ERROR_TYPE = TaskRecord._fields.index("error_type")
_ERROR_MESSAGE = TaskRecord._fields.index("error_message")


@dataclass
class RunResult:
    """What a run produced."""

    run_id: str
    run_dir: Path
    trace: Path | None
    seconds: float
    records: Counter[str] = field(default_factory=Counter)
    #: Failed attempts by cause: (error type, first line of the message).
    causes: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        """Final records that did not end ok."""
        return sum(n for status, n in self.records.items() if status != "ok")

    @property
    def problem(self) -> str | None:
        """Why the run as a whole failed, in one line; None when it did not.

        A run fails when its executor lost its workers (tasks failed with WorkersLost),
        or when no task succeeded: then the failure is an environment's (a module the
        workers cannot import, a missing tool), and the line names the commonest cause.
        Tasks failing among successes are the workload's business: they are in the trace.
        """
        lost = [(cause, n) for cause, n in self.causes.items() if cause[0] == "WorkersLost"]
        if lost:
            (_, message), n = lost[0]
            return f"{message} ({n} tasks)"
        if self.records.get("ok") or not self.causes:
            return None
        (kind, message), n = self.causes.most_common(1)[0]
        total = sum(self.causes.values())
        how = "for one reason" if len(self.causes) == 1 else f"for {len(self.causes)} reasons"
        return f"every task failed {how}: {kind}: {message} ({n} of {total} attempts)"


def _new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _make_run_dir(runs_dir: Path, prefix: str) -> tuple[str, Path]:
    """A new run id and its directory ``PREFIX-YYYYmmdd-HHMMSS.mmm-RUNID``, created
    exclusively: runs started at the same moment never share a directory."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = _new_run_id()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S.%f")[:-3]
        run_dir = runs_dir / f"{prefix}-{stamp}-{run_id}"
        try:
            run_dir.mkdir()
        except FileExistsError:  # a random 48-bit id repeated: draw another
            continue
        return run_id, run_dir


def _plugin_facts(config: Any) -> dict[str, Any] | None:
    if config is None:
        return None
    return {"name": type(config).name, "params": config.model_dump(mode="json")}


def _close_transformer(transformer: Any) -> None:
    """Remove the data the run moved out of band (files, keys); never lose the trace."""
    try:
        transformer.close()
    except Exception:
        log.exception("could not remove the data moved out of band")


def execute(spec: RunSpec, *, monitor: Monitor | None = None) -> RunResult:
    """Run the app of ``spec`` on its executor; write the run directory and the trace."""
    signals.interruptible()
    installed = signals.terminable()
    try:
        return _execute_with_transformer(spec, monitor)
    finally:
        signals.restore(installed)


def _execute_with_transformer(spec: RunSpec, monitor: Monitor | None) -> RunResult:
    if spec.filter is not None and spec.transformer is None:
        raise ConfigError("--filter needs a --transformer to move the data it selects")
    # Built first, so that an unreachable store fails before anything is made.
    transformer = spec.transformer.build() if spec.transformer else None
    try:
        return _execute(spec, monitor, transformer)
    finally:
        if transformer is not None:
            _close_transformer(transformer)


def _execute(spec: RunSpec, monitor: Monitor | None, transformer: Any) -> RunResult:
    app_name, executor_name = type(spec.app).name, type(spec.executor).name
    if spec.run.trace is not None and spec.run.trace.exists():  # before anything is made
        raise TraceError(f"{spec.run.trace}: exists already; choose another --trace path")
    run_id, run_dir = _make_run_dir(spec.run.runs_dir, f"{app_name}-{executor_name}")
    (run_dir / "config.toml").write_text(spec.to_toml())
    handler = logging.FileHandler(run_dir / "log.txt")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(min(previous_level or logging.INFO, logging.INFO))
    signals.stacks_to(run_dir / "log.txt")
    trace_path: Path | None = None
    if spec.run.record:  # named like the run directory: unique too (TraceWriter checks)
        trace_path = spec.run.trace or spec.run.traces_dir / f"{run_dir.name}.arrow"
    records: Counter[str] = Counter()
    causes: Counter[tuple[str, str]] = Counter()
    writer: TraceWriter | None = None
    started = time.time()
    log.info("run %s: app %s on executor %s in %s", run_id, app_name, executor_name, run_dir)
    reaper = Reaper(run_id)  # stops what the run starts if it is killed (SIGKILL)
    discard = False
    try:
        reaper.start()
        try:
            executor = spec.executor.build(run_dir)
        except UserError:  # a bad option, a missing tool: nothing ran, keep nothing
            discard = True
            raise
        try:
            if trace_path is not None:
                facts = {
                    "run_id": run_id,
                    "app": _plugin_facts(spec.app),
                    "executor": {**(_plugin_facts(spec.executor) or {}), **executor.describe()},
                    "workers": executor.workers(),
                    "engine": spec.engine.model_dump(mode="json"),
                    "filter": _plugin_facts(spec.filter),
                    "transformer": _plugin_facts(spec.transformer),
                    "run_dir": str(run_dir),
                    "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
                    **environment(),
                    **spec.app.describe(),
                }
                writer = TraceWriter(
                    trace_path,
                    trace_metadata(facts, spec.to_toml()),
                    flush_interval=spec.engine.flush_interval,
                )
            engine = Engine(
                executor,
                filter=spec.filter.build() if spec.filter else None,
                transformer=transformer,
                recorder=writer,
                retries=spec.engine.retries,
                size_mode=spec.engine.size_mode,
                run_id=run_id,
            )
        except BaseException:
            executor.shutdown(wait=True, cancel_futures=True)
            raise

        def count(row: Row) -> None:
            records[row[STATUS]] += 1
            if row[STATUS] == "failed":
                message = (row[_ERROR_MESSAGE] or "").strip().splitlines()
                causes[(row[_ERROR_TYPE] or "?", message[0][:200] if message else "")] += 1

        engine.add_listener(count)
        app = spec.app.build()
        app.run_started = started
        finished = False
        try:
            with monitor(engine) if monitor else contextlib.nullcontext():
                try:
                    app.run(engine, run_dir)
                    finished = True
                finally:
                    engine.shutdown(wait=True, cancel_futures=not finished)
        finally:
            app.close()
            if not finished:  # in log.txt; the terminal gets the reason from the CLI
                log.info("run %s stopped early; completed tasks are kept", run_id)
    finally:
        reaper.release()
        ended = time.time()
        if writer is not None:
            writer.close(
                {
                    "ended_at": datetime.fromtimestamp(ended, UTC).isoformat(),
                    "seconds": ended - started,
                    "records_by_status": dict(records),
                }
            )
        log.info("run %s: %s records in %.3f s", run_id, dict(records), ended - started)
        signals.stacks_to(None)  # the run's log is closed
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
        if discard:
            shutil.rmtree(run_dir, ignore_errors=True)
    return RunResult(run_id, run_dir, trace_path, ended - started, records, causes)
