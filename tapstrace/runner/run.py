"""Execute a RunSpec: the Python API behind ``tapstrace run``.

Whatever happens inside the app (an exception, Ctrl-C), the engine is shut down, every
submitted task gets its record, and the trace is finalised with what completed.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from tapstrace.config.spec import RunSpec
from tapstrace.engine.engine import Engine
from tapstrace.engine.record import STATUS, Row
from tapstrace.errors import ConfigError, TraceError
from tapstrace.runner.reaper import Reaper
from tapstrace.trace.metadata import environment, trace_metadata
from tapstrace.trace.writer import TraceWriter

log = logging.getLogger(__name__)

Monitor = Callable[[Engine], AbstractContextManager[Any]]


@dataclass
class RunResult:
    """What a run produced."""

    run_id: str
    run_dir: Path
    trace: Path | None
    seconds: float
    records: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        """Final records that did not end ok."""
        return sum(n for status, n in self.records.items() if status != "ok")


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


def _interruptible() -> None:
    """Make Ctrl-C interrupt a blocking wait again: re-install Python's SIGINT handler.

    Importing polars replaces it with one flagged SA_RESTART, so a main thread waiting on
    a lock (``engine.wait``) sleeps on through Ctrl-C until the wait ends
    (pola-rs/polars#21739); Python's own handler interrupts the wait.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):  # not ignored (a background job), not installed outside Python
        signal.signal(signal.SIGINT, handler)


_TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _terminable() -> dict[int, Any]:
    """Turn SIGTERM/SIGHUP into SystemExit while a run goes on, so that a ``kill`` unwinds
    the run like Ctrl-C does: pending tasks are cancelled and recorded, the trace is
    finalised. Only in the main thread, and only where the default (die at once) is set.
    """
    installed: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _TERMINATING:
            if signal.getsignal(signum) is signal.SIG_DFL:
                installed[signum] = signal.signal(signum, _exit_on_signal)
    return installed


def _restore(installed: dict[int, Any]) -> None:
    for signum, previous in installed.items():
        if signal.getsignal(signum) is _exit_on_signal:
            signal.signal(signum, previous)


def execute(spec: RunSpec, *, monitor: Monitor | None = None) -> RunResult:
    """Run the app of ``spec`` on its executor; write the run directory and the trace."""
    _interruptible()
    installed = _terminable()
    try:
        return _execute_with_transformer(spec, monitor)
    finally:
        _restore(installed)


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
    trace_path: Path | None = None
    if spec.run.record:  # named like the run directory: unique too (TraceWriter checks)
        trace_path = spec.run.trace or spec.run.traces_dir / f"{run_dir.name}.arrow"
    records: Counter[str] = Counter()
    writer: TraceWriter | None = None
    started = time.time()
    log.info("run %s: app %s on executor %s in %s", run_id, app_name, executor_name, run_dir)
    reaper = Reaper(run_id)  # stops what the run starts if it is killed (SIGKILL)
    try:
        reaper.start()
        executor = spec.executor.build(run_dir)
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

        engine.add_listener(count)
        app = spec.app.build()
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
            if not finished:
                log.error("run %s stopped early; completed tasks are kept", run_id)
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
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
    return RunResult(run_id, run_dir, trace_path, ended - started, records)
