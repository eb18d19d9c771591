"""A TaPS run's facts (app, executor, workers) from its config, in every layout TaPS used.

TaPS writes its configuration into the run directory. The layout changed with the
project (docs/formats.md, *TaPS eras*):

===============  ============  =========================================================
era (from)       file          layout
===============  ============  =========================================================
``2024-05-13``   config.json   ``name`` (the app), ``workflow`` (its parameters),
                               ``executor`` (parameters only: its name is not saved)
``2024-05-29``   config.json   ``app`` instead of ``workflow``
``2024-05-31``   config.json   + ``executor_name`` (TaPS 0.1.0)
``2024-06-18``   config.toml   ``[app]`` name + ``[app.<name>]``; ``[engine]``
                               executor = name + ``[engine.executors.<name>]``
``2024-06-19+``  config.toml   ``[app]`` and ``[engine.executor]``, each with its ``name``
                               beside its parameters (TaPS 0.2.0 and later)
===============  ============  =========================================================

Where the config does not name the executor, its name comes from the run directory path
as TaPS laid it out (``runs/{app}-{executor}-{timestamp}``, or a directory named after the
executor above the run's, ``.../process-pool/2024-05-27-23-57-45/``), else from the
parameters only one executor had (``max_processes`` is the process pool's).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tapstrace.errors import TraceError
from tapstrace.formats.jsonfile import depth, json_problem, loads, read_bytes
from tapstrace.formats.validation import problem

#: Deepest nesting accepted in a config (TaPS' own are 4 deep; the config goes into the
#: trace's metadata, which must stay readable).
MAX_CONFIG_DEPTH = 32

#: Config file names, newest layout first.
CONFIG_FILES = ("config.toml", "config.json")

#: Every executor name TaPS registered, longest first (so parsl-htex wins over parsl).
EXECUTORS = (
    "globus-compute", "process-pool", "thread-pool", "parsl-htex", "parsl-local", "taskvine",
    "globus", "parsl", "dask", "ray",
)  # fmt: skip

#: Executor parameters that name their executor, in configs that do not (2024-05).
_SIGNATURES = (
    ("max_processes", "process-pool"),
    ("max_threads", "thread-pool"),
    ("dask_", "dask"),
    ("parsl_", "parsl"),
    ("ray_", "ray"),
    ("endpoint", "globus-compute"),
)

#: Executor parameters holding the number of worker slots, by era.
_WORKER_KEYS = (
    "max_processes", "max_threads", "workers", "dask_workers", "parsl_workers", "num_cpus",
    "ray_num_cpus", "max_workers",
)  # fmt: skip

_TIMESTAMP = r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}"
_RUN_DIR = re.compile(rf"^(?P<app>.+?)-(?P<executor>{'|'.join(EXECUTORS)})-{_TIMESTAMP}$")
_OLD_RUN_DIR = re.compile(rf"^(?P<app>.+?)-{_TIMESTAMP}$")


@dataclass
class RunFacts:
    """What a TaPS run directory says about its run.

    Attributes:
        app, app_params: the app and its parameters.
        executor, executor_params: the executor and its parameters.
        executor_from: where the executor's name came from ("config", "run directory
            path", "executor parameters").
        workers: worker slots; ``workers_from`` names the setting it came from.
        era: the config layout (see the module docstring), None without a config.
        config: the whole config as read; ``config_file`` its file name.
    """

    app: str | None = None
    app_params: dict[str, Any] = field(default_factory=dict)
    executor: str | None = None
    executor_params: dict[str, Any] = field(default_factory=dict)
    executor_from: str | None = None
    workers: int | None = None
    workers_from: str | None = None
    era: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    config_file: str | None = None


def _read(path: Path) -> dict[str, Any]:
    raw = read_bytes(path)
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(raw.decode())
        else:
            data = loads(raw)
    except UnicodeDecodeError:
        raise TraceError(f"{path}: unreadable TaPS config (not UTF-8 text)") from None
    except tomllib.TOMLDecodeError as exc:
        raise TraceError(f"{path}: unreadable TaPS config ({exc})") from None
    except RecursionError:
        raise TraceError(f"{path}: unreadable TaPS config (nested too deeply)") from None
    except ValueError as exc:
        raise TraceError(f"{path}: unreadable TaPS config ({json_problem(exc)})") from None
    if not isinstance(data, dict):
        raise TraceError(f"{path}: a TaPS config is a table/object (got {type(data).__name__})")
    if depth(data) > MAX_CONFIG_DEPTH:
        raise TraceError(f"{path}: nested more than {MAX_CONFIG_DEPTH} levels deep")
    return data


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Problem(Exception):
    """A config value of the wrong type (the caller adds the file's name)."""


def _name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 256:
        raise _Problem(f"{where}: a plugin name is a non-empty string (got {value!r:.40})")
    return value


Slots = Annotated[int, Field(strict=True, ge=1, le=1 << 31)]


class _Counts(BaseModel):
    """The counts tapstrace reads from TaPS' plugin tables: whole numbers from 1."""

    model_config = ConfigDict(extra="ignore")

    max_processes: Slots | None = None
    max_threads: Slots | None = None
    workers: Slots | None = None
    dask_workers: Slots | None = None
    parsl_workers: Slots | None = None
    num_cpus: Slots | None = None
    ray_num_cpus: Slots | None = None
    max_workers: Slots | None = None
    max_workers_per_node: Slots | None = None
    cores_per_worker: Slots | None = None
    cores_per_task: Slots | None = None
    nodes_per_block: Slots | None = None
    max_blocks: Slots | None = None
    bag_max_running: Slots | None = None


def _check(table: dict[str, Any], where: str) -> None:
    """Counts in a plugin table (see _Counts) are whole numbers from 1, or absent."""
    try:
        _Counts.model_validate(table)
    except ValidationError as exc:
        raise _Problem(f"{where}.{problem(exc)}") from None


def _without_name(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k != "name"}


def _from_config(facts: RunFacts, config: dict[str, Any]) -> None:
    """App and executor as the config's era wrote them."""
    engine = _table(config.get("engine"))
    app = config.get("app")
    if "executors" in engine:  # 2024-06-18: a name, and every plugin's table beside it
        facts.era = "2024-06-18"
        facts.app = _name(_table(app).get("name"), "app.name")
        app_at = f"app.{(facts.app or '').replace('-', '_')}"
        facts.app_params = _table(_table(app).get(app_at[4:]))
        facts.executor = _name(engine.get("executor"), "engine.executor")
        executor_at = f"engine.executors.{(facts.executor or '').replace('-', '_')}"
        facts.executor_params = _table(_table(engine.get("executors")).get(executor_at[17:]))
    elif "engine" in config or "name" in _table(app):  # 2024-06-19 on: tables with names
        facts.era = "2024-06-19+"
        facts.app = _name(_table(app).get("name"), "app.name")
        app_at = "app"
        facts.app_params = _without_name(_table(app))
        executor = _table(engine.get("executor"))
        facts.executor = _name(executor.get("name"), "engine.executor.name")
        executor_at = "engine.executor"
        facts.executor_params = _without_name(executor)
    else:  # config.json, May 2024: the app's name at the top
        facts.era = (
            "2024-05-31" if "executor_name" in config
            else "2024-05-29" if "app" in config
            else "2024-05-13"
        )  # fmt: skip
        facts.app = _name(config.get("name"), "name")
        app_at = "app" if "app" in config else "workflow"
        facts.app_params = _table(config.get(app_at))
        facts.executor = _name(config.get("executor_name"), "executor_name")
        executor_at = "executor"
        facts.executor_params = _without_name(_table(config.get("executor")))
    if facts.executor:
        facts.executor_from = "config"
    _check(facts.app_params, app_at)
    _check(facts.executor_params, executor_at)
    htex = facts.executor_params.get("htex")
    for label, table in _htex_tables(htex).items():
        at = f"{executor_at}.htex{label}"
        _check(table, at)
        _check(_table(table.get("provider")), f"{at}.provider")


def _from_path(facts: RunFacts, run_dir: Path) -> None:
    """Executor (and app) from the run directory path, as TaPS laid runs out."""
    match = _RUN_DIR.match(run_dir.name)
    if match:
        facts.app = facts.app or match["app"]
        if not facts.executor:
            facts.executor, facts.executor_from = match["executor"], "run directory path"
        return
    if not facts.executor:
        for folder in list(run_dir.resolve().parents)[:4]:
            if folder.name in EXECUTORS:
                facts.executor, facts.executor_from = folder.name, "run directory path"
                break
    old = _OLD_RUN_DIR.match(run_dir.name)
    if old and not facts.app:
        facts.app = old["app"]


def _from_parameters(facts: RunFacts) -> None:
    params = facts.executor_params
    for key, name in _SIGNATURES:
        if any(k == key or (key.endswith("_") and k.startswith(key)) for k in params):
            facts.executor, facts.executor_from = name, "executor parameters"
            return


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _htex_tables(htex: Any) -> dict[str, dict[str, Any]]:
    """Parsl HighThroughputExecutor tables of a parsl-htex config: one, or one per label."""
    if not isinstance(htex, dict) or not htex:
        return {}
    if "provider" not in htex and all(isinstance(v, dict) for v in htex.values()):
        return {f".{label}": table for label, table in htex.items()}
    return {"": htex}


def _htex_workers(params: dict[str, Any]) -> int | None:
    """Parsl HighThroughputExecutor slots: workers per node x nodes per block x blocks."""
    total = 0
    for table in _htex_tables(params.get("htex")).values():
        per_node = _count(table.get("max_workers_per_node", table.get("max_workers")))
        if per_node is None:
            return None
        provider = _table(table.get("provider"))
        total += (
            per_node
            * (_count(provider.get("nodes_per_block")) or 1)
            * (_count(provider.get("max_blocks")) or 1)
        )
    return total or None


def _workers(facts: RunFacts) -> None:
    """Worker slots: the executor's setting, bounded by the app's own concurrency limit."""
    params = facts.executor_params
    found: list[tuple[int, str]] = []
    if facts.executor == "parsl-htex":
        slots = _htex_workers(params)
        if slots:
            found.append((slots, "executor.htex: workers per node x nodes per block x blocks"))
    for key in _WORKER_KEYS:
        slots = _count(params.get(key))
        if slots:
            if facts.executor == "taskvine" and key == "workers":
                per_worker = _count(params.get("cores_per_worker"))
                per_task = _count(params.get("cores_per_task")) or 1
                if per_worker:
                    slots *= max(1, per_worker // per_task)
            found.append((slots, f"executor.{key}"))
            break
    bag = _count(facts.app_params.get("bag_max_running"))
    if bag and str(facts.app_params.get("structure", "")).lower() == "bag":
        found.append((bag, "app.bag_max_running"))
    if found:
        facts.workers, facts.workers_from = min(found, key=lambda f: f[0])  # executor first


def run_facts(run_dir: Path) -> RunFacts:
    """App, executor, workers and the config of the TaPS run in ``run_dir``."""
    facts = RunFacts()
    for name in CONFIG_FILES:
        candidate = run_dir / name
        if candidate.is_file():
            facts.config = _read(candidate)
            facts.config_file = name
            try:
                _from_config(facts, facts.config)
            except _Problem as exc:
                raise TraceError(f"{candidate}: {exc}") from None
            break
    _from_path(facts, run_dir)
    if not facts.executor:
        _from_parameters(facts)
    _workers(facts)
    return facts
