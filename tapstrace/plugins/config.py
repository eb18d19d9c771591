"""Base classes of plugin configs: a plugin is a pydantic model that builds the real thing.

Each field becomes a CLI flag (``--app.matrix-size``) and a TOML key (``matrix_size``) with
its type, default and description, so a plugin's config class is its whole interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from tapstrace.engine.engine import Engine
    from tapstrace.engine.executor import Executor


class PluginConfig(BaseModel, ABC):
    """Common base: a unique ``name`` (class variable) and validated fields."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    #: Registry name, as typed on the command line.
    name: ClassVar[str]
    #: Which registry the plugin belongs to (set by each base class).
    kind: ClassVar[str]


class App(ABC):
    """A runnable application: submits its tasks through the engine."""

    #: When the run started (``time.time()``, before its executor was built), set by the
    #: runner: a replay starts submitting as long after it as its source client did.
    run_started: float | None = None

    @abstractmethod
    def run(self, engine: Engine, run_dir: Path) -> None:
        """Run to completion; write outputs under ``run_dir``."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release resources held between runs (files, models)."""


class AppConfig(PluginConfig):
    """Config of an app (``tapstrace run NAME``)."""

    kind: ClassVar[str] = "app"

    @abstractmethod
    def build(self) -> App:
        """The app, ready to run."""

    def describe(self) -> dict[str, Any]:
        """Extra run facts for the trace metadata (a replay names its source trace here).

        Called once before the run starts; the keys are merged into the run facts.
        """
        return {}


class ExecutorConfig(PluginConfig):
    """Config of an executor (``--executor NAME``)."""

    kind: ClassVar[str] = "executor"
    #: Where the executor runs a task whose parents have run, as tapstrace predict
    #: models it: ``fifo``, on the next free worker; ``locality``, on the worker that
    #: holds its inputs and would start it soonest by the scheduler's estimate (Dask).
    placement: ClassVar[Literal["fifo", "locality"]] = "fifo"
    #: Whether a task's inputs reach its worker only once the worker is free (Parsl's
    #: interchange), as tapstrace predict models it: a task that waited for its worker
    #: then pays for moving them, which calibration measures with its ``queued`` bag.
    #: False: the executor moves them while the task waits (Dask, Ray) or through the
    #: client in turn (the pools).
    inputs_at_slot: ClassVar[bool] = False

    @abstractmethod
    def build(self, run_dir: Path | None = None) -> Executor:
        """A started executor; ``Executor.shutdown`` releases it.

        ``run_dir`` is the run's directory: executors that write files of their own
        (Parsl's run_dir, worker logs) keep them there, not in the working directory.
        """


class FilterConfig(PluginConfig):
    """Config of a data filter (``--filter NAME``): which objects move out of band."""

    kind: ClassVar[str] = "filter"

    @abstractmethod
    def build(self) -> Any:
        """A callable ``filter(obj) -> bool``."""


class TransformerConfig(PluginConfig):
    """Config of a data transformer (``--transformer NAME``): how objects move out of band."""

    kind: ClassVar[str] = "transformer"

    @abstractmethod
    def build(self) -> Any:
        """An object with ``transform(obj) -> ref``, ``resolve(ref)`` and ``close()``."""
