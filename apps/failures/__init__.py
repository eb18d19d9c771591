"""Failure injection around any other app.

``failures`` builds the base app from its name and parameters and runs it on an engine
front (:mod:`.engine`) that makes a seeded share of its tasks fail in chosen ways
(:mod:`.inject`). The run always finishes: if the base app stops on a failed result,
the error is logged, every task already submitted is waited for (so each has its record),
and the run ends normally. ``injections.csv`` in the run directory lists every injected
failure with its task id, so the trace's rows can be matched to what was injected.
"""

from __future__ import annotations

import csv
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, cast

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from tapstrace.apps.failures.engine import FailureInjectingEngine, Injection
from tapstrace.apps.failures.inject import Kind
from tapstrace.engine.engine import Engine
from tapstrace.errors import UnknownPluginError
from tapstrace.plugins import registry
from tapstrace.plugins.config import App, AppConfig
from tapstrace.plugins.registry import register

log = logging.getLogger(__name__)

DEFAULT_KINDS: list[Kind] = ["exception", "dependency", "timeout", "memory", "import"]


def _base_class(name: str) -> type[AppConfig]:
    if name == FailuresConfig.name:
        raise ValueError("failures cannot wrap itself")
    try:
        return cast(type[AppConfig], registry.get("app", name))
    except UnknownPluginError as exc:
        raise ValueError(str(exc)) from None


@register("app")
class FailuresConfig(AppConfig):
    """Runs another app and injects failures into its tasks at a rate (seeded)."""

    name: ClassVar[str] = "failures"

    base: str = Field("synthetic", description="App whose tasks get failures injected.")
    base_config: dict[str, Any] = Field(
        default_factory=dict,
        description="The base app's parameters: JSON on the command line "
        "('{\"tasks\": 50}'), an app.base_config table in TOML.",
    )
    rate: float = Field(0.1, ge=0, le=1, description="Probability that a task gets a failure.")
    kinds: list[Kind] = Field(
        default_factory=lambda: list(DEFAULT_KINDS),
        min_length=1,
        description="Failure kinds drawn uniformly: exception, dependency, killed, timeout, "
        "memory, import (killed is opt-in: on a process pool one kill fails every task "
        "in flight and every later one).",
    )
    persistent: bool = Field(
        False,
        description="Fail every attempt of an injected task (default: the first attempt "
        "only, so --engine.retries recovers; needs a run directory the workers can see).",
    )
    timeout_seconds: float = Field(
        1.0, gt=0, le=3600, description="timeout: how long the task hangs before it is stopped."
    )
    memory_mb: int = Field(
        64, ge=1, le=4096, description="memory: MB allocated before the MemoryError (the cap)."
    )
    seed: int = Field(0, description="Seed of the injection draws (in submission order).")

    @field_validator("base")
    @classmethod
    def _known(cls, base: str) -> str:
        _base_class(base)
        return base

    @field_validator("base_config")
    @classmethod
    def _valid_for_base(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        base = info.data.get("base")
        if base is None:
            return params
        if "name" in params and params["name"] != base:
            raise ValueError(f"names app {params['name']!r} but base is {base!r}")
        params = {k: v for k, v in params.items() if k != "name"}
        try:
            _base_class(base)(**params)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(part) for part in err["loc"])
            if err["type"] == "extra_forbidden":
                raise ValueError(f"app {base!r} has no parameter {where!r}") from None
            raise ValueError(
                f"app {base!r}: {where}: {err['msg']} (got {err.get('input')!r})"
            ) from None
        return params

    def build(self) -> FailuresApp:
        return FailuresApp(self)


class FailuresApp(App):
    """Runs the base app through a :class:`FailureInjectingEngine`.

    After ``run``: ``injections`` lists the injected failures, ``base_error`` is the
    exception that stopped the base app (None if it finished).
    """

    def __init__(self, config: FailuresConfig) -> None:
        self.config = config
        self.base = _base_class(config.base)(**config.base_config).build()
        self.injections: list[Injection] = []
        self.base_error: BaseException | None = None

    def run(self, engine: Engine, run_dir: Path) -> None:
        c = self.config
        markers = None
        if not c.persistent:
            markers = run_dir / "injection-attempts"
            markers.mkdir(parents=True, exist_ok=True)
        front = FailureInjectingEngine(
            engine,
            rate=c.rate,
            kinds=c.kinds,
            seed=c.seed,
            marker_dir=str(markers.resolve()) if markers else None,
            timeout_seconds=c.timeout_seconds,
            memory_mb=c.memory_mb,
        )
        start = time.perf_counter()
        try:
            self.base.run(cast(Engine, front), run_dir)
        except Exception as exc:
            if not front.injections:
                raise
            self.base_error = exc
            log.warning(
                "failures: base app %s stopped: %s: %s", c.base, type(exc).__qualname__, exc
            )
        finally:
            engine.wait(front.futures)  # every submitted task gets its final record
            self.injections = front.injections
            self._write(run_dir / "injections.csv")
        by_kind = Counter(i.kind for i in self.injections)
        failed = sum(1 for f in front.futures if f.cancelled() or f.exception() is not None)
        log.info(
            "failures: %d of %d tasks injected (%s); %d tasks did not succeed; base app %s "
            "in %.3f s",
            len(self.injections), len(front.futures),
            ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items())) or "none",
            failed, "finished" if self.base_error is None else "stopped",
            time.perf_counter() - start,
        )  # fmt: skip

    def _write(self, path: Path) -> None:
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["index", "task_id", "name", "kind", "parent_task_id"])
            for i in self.injections:
                writer.writerow([i.index, i.task_id, i.name, i.kind, i.parent_task_id or ""])

    def close(self) -> None:
        self.base.close()
