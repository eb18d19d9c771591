"""The resolved configuration of a run and its TOML form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field

from tapstrace.plugins.config import AppConfig, ExecutorConfig, FilterConfig, TransformerConfig


class EngineOptions(BaseModel):
    """How the engine runs and records tasks (``[engine]``, ``--engine.FIELD``)."""

    model_config = ConfigDict(extra="forbid")

    retries: int = Field(0, ge=0, description="Resubmit a failed task up to this many times.")
    size_mode: Literal["fast", "pickle", "off"] = Field(
        "fast",
        description="How input/output bytes are measured: fast (exact for bytes, arrays "
        "and containers of them, estimated otherwise), pickle (exact, slower), off.",
    )
    flush_interval: float = Field(
        1.0, gt=0, description="Longest time in seconds a finished record waits to be written."
    )


class RunOptions(BaseModel):
    """Where a run writes (``[run]``). Paths are relative to the working directory."""

    model_config = ConfigDict(extra="forbid")

    record: bool = Field(False, description="Write a trace of every task.")
    trace: Path | None = Field(
        None, description="Trace path (default traces/{app}-{executor}-{timestamp}.arrow)."
    )
    runs_dir: Path = Field(Path("runs"), description="Where run directories are made.")
    traces_dir: Path = Field(Path("traces"), description="Where traces go by default.")


PLUGIN_SECTIONS = ("app", "executor", "filter", "transformer")
SECTIONS = ("run", "app", "executor", "engine", "filter", "transformer")


def _plugin_table(config: Any) -> dict[str, Any]:
    fields = config.model_dump(mode="json", exclude_none=True)
    return {"name": type(config).name, **fields}


@dataclass
class RunSpec:
    """Everything a run needs, validated."""

    app: AppConfig
    executor: ExecutorConfig
    engine: EngineOptions
    run: RunOptions
    filter: FilterConfig | None = None
    transformer: TransformerConfig | None = None

    def to_dict(self, *, reproducible: bool = True) -> dict[str, Any]:
        """TOML-ready tables. ``reproducible`` drops the trace path, so that rerunning the
        saved config makes a new trace instead of refusing to overwrite the old one."""
        run = self.run.model_dump(mode="json", exclude_none=True)
        if reproducible:
            run.pop("trace", None)
        out: dict[str, Any] = {
            "run": run,
            "app": _plugin_table(self.app),
            "executor": _plugin_table(self.executor),
            "engine": self.engine.model_dump(mode="json"),
        }
        if self.filter is not None:
            out["filter"] = _plugin_table(self.filter)
        if self.transformer is not None:
            out["transformer"] = _plugin_table(self.transformer)
        return out

    def to_toml(self) -> str:
        """The config as TOML text: ``tapstrace run --config`` on it reproduces the run."""
        return tomli_w.dumps(self.to_dict())
