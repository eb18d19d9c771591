"""Merging config layers (TOML files in order, then CLI flags) and validating them.

Each value remembers where it came from, so a validation error names the file or the flag
that set it. A table that names its plugin (``[executor] name = "dask"``) binds its keys
to that plugin: a later layer naming a different one (``--executor ray``) drops them, so
fields of one executor never leak into another. A table without ``name`` is meant for
whichever plugin the run ends up with: its keys survive a switch and are validated
against the final plugin, so a typo or a key of another plugin is an error, never
silently dropped.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tapstrace.config.spec import PLUGIN_SECTIONS, SECTIONS, EngineOptions, RunOptions, RunSpec
from tapstrace.errors import ConfigError, UnknownPluginError
from tapstrace.plugins import registry

DEFAULT_EXECUTOR = "process"


@dataclass
class Layer:
    """One source of settings: ``values[section][key] = value`` and where each came from.

    ``sources[(section, key)]`` is shown in errors: a file path or a flag name.
    """

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def set(self, section: str, key: str, value: Any, source: str) -> None:
        self.values.setdefault(section, {})[key] = value
        self.sources[(section, key)] = source


def load_toml_layer(path: str | Path) -> Layer:
    """Read a config file; errors name the file and the problem."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc}") from None
    layer = Layer()
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{p}: unknown table [{section}] (expected: {', '.join(SECTIONS)})")
        if not isinstance(table, dict):
            raise ConfigError(f"{p}: `{section}` must be a table ([{section}])")
        for key, value in table.items():
            layer.set(section, key, value, str(p))
    return layer


def _merge(layers: Sequence[Layer]) -> Layer:
    """Later layers win; a plugin switch drops only the keys bound to the old plugin."""
    merged = Layer()
    bound: set[tuple[str, str]] = set()  # keys set by a table that named its plugin
    for layer in layers:
        for section, table in layer.values.items():
            current = merged.values.setdefault(section, {})
            new_name = table.get("name")
            if (
                section in PLUGIN_SECTIONS
                and new_name is not None
                and current.get("name") not in (None, new_name)
            ):
                for key in [k for k in current if (section, k) in bound]:
                    del current[key]
                    del merged.sources[(section, key)]
                    bound.discard((section, key))
            for key, value in table.items():
                merged.set(section, key, value, layer.sources[(section, key)])
                if new_name is None:
                    bound.discard((section, key))
                else:
                    bound.add((section, key))
    return merged


def _where(section: str, key: str, merged: Layer, label: str) -> str:
    """The start of an error about ``[section] key``: the flag or file that set it."""
    source = merged.sources.get((section, key))
    if source is None:
        return f"{label}: {key}: "
    if source.startswith("--"):
        return f"{source}: "
    return f"{source}: [{section}] {key}: "


def _not_finite(value: Any) -> bool:
    """Whether ``value`` is, or holds, an infinite or NaN float."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_not_finite(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_not_finite(v) for v in value)
    return False


def _as_number(value: Any) -> Any:
    """A flag's text as the float it spells, if it spells one ("inf", "1e400")."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _validate(model: type[BaseModel], section: str, merged: Layer, label: str) -> BaseModel:
    values = {k: v for k, v in merged.values.get(section, {}).items() if k != "name"}
    try:
        config = model(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            choices = ", ".join(model.model_fields) or "none"
            message = f"{label} has no parameter {key!r} (its parameters: {choices})"
        elif _not_finite(_as_number(err.get("input"))):
            message = f"must be a finite number (got {err.get('input')!r})"
        else:
            message = f"{err['msg']} (got {err.get('input')!r})"
        raise ConfigError(_where(section, key, merged, label) + message) from None
    # pydantic takes "inf" and "nan" for a float; no parameter of a run means either.
    for key in type(config).model_fields:
        value = getattr(config, key)
        if _not_finite(value):
            raise ConfigError(
                _where(section, key, merged, label)
                + f"must be a finite number (got {values.get(key, value)!r})"
            )
    return config


def _plugin(kind: registry.Kind, merged: Layer, default: str | None) -> Any:
    name = merged.values.get(kind, {}).get("name", default)
    if name is None:
        if merged.values.get(kind):
            raise ConfigError(f"[{kind}] has parameters but no `name`")
        return None
    try:
        cls = registry.get(kind, name)
    except UnknownPluginError as exc:
        source = merged.sources.get((kind, "name"))
        prefix = f"{source}: " if source and not source.startswith("--") else ""  # files only
        raise UnknownPluginError(f"{prefix}{exc}") from None
    return _validate(cls, kind, merged, f"{kind} {name!r}")


def resolve_plugin(layers: Sequence[Layer], kind: registry.Kind, default: str | None = None) -> Any:
    """Merge layers and validate only the ``kind`` section (commands that need just an
    executor, such as ``tapstrace calibrate``); None when no plugin is named."""
    return _plugin(kind, _merge(layers), default)


def resolve(layers: Sequence[Layer]) -> RunSpec:
    """Merge layers in order (later wins) and validate every section."""
    merged = _merge(layers)
    app = _plugin("app", merged, None)
    if app is None:
        raise ConfigError("no app given: name one (tapstrace run APP) or set [app] name")
    executor = _plugin("executor", merged, DEFAULT_EXECUTOR)
    engine = _validate(EngineOptions, "engine", merged, "the engine")
    run = _validate(RunOptions, "run", merged, "[run]")
    assert isinstance(engine, EngineOptions) and isinstance(run, RunOptions)
    return RunSpec(
        app=app,
        executor=executor,
        engine=engine,
        run=run,
        filter=_plugin("filter", merged, None),
        transformer=_plugin("transformer", merged, None),
    )
