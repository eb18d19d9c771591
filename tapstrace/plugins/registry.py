"""The plugin registry: ``@register(kind)`` on a config class makes it available.

The core never imports a plugin by name: ``discover()`` imports every module of the
plugin packages (tapstrace.apps, tapstrace.executors, tapstrace.data) and of the
``tapstrace.plugins`` entry point group, and their decorators fill the registry. Plugin
modules must therefore import their heavy dependencies lazily, inside ``build``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
from collections.abc import Callable
from typing import Literal, TypeVar, overload

from tapstrace.errors import UnknownPluginError
from tapstrace.plugins.config import (
    AppConfig,
    ExecutorConfig,
    FilterConfig,
    PluginConfig,
    TransformerConfig,
)

log = logging.getLogger(__name__)

Kind = Literal["app", "executor", "filter", "transformer"]
KINDS: tuple[Kind, ...] = ("app", "executor", "filter", "transformer")
BASES: dict[str, type[PluginConfig]] = {
    "app": AppConfig,
    "executor": ExecutorConfig,
    "filter": FilterConfig,
    "transformer": TransformerConfig,
}
PACKAGES = ("tapstrace.apps", "tapstrace.executors", "tapstrace.data")
ENTRY_POINT_GROUP = "tapstrace.plugins"

_registry: dict[str, dict[str, type[PluginConfig]]] = {kind: {} for kind in KINDS}
_discovered = False

C = TypeVar("C", bound=type[PluginConfig])


def register(kind: Kind) -> Callable[[C], C]:
    """Class decorator: register a plugin config class under ``kind`` and its ``name``."""
    if kind not in BASES:
        raise ValueError(f"unknown plugin kind {kind!r}; choose from {', '.join(KINDS)}")

    def decorate(cls: C) -> C:
        base = BASES[kind]
        if not issubclass(cls, base):
            raise TypeError(f"{cls.__qualname__} must subclass {base.__name__} to be a {kind}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} needs a class variable `name`")
        existing = _registry[kind].get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"{kind} {name!r} is registered twice ({existing.__module__})")
        _registry[kind][name] = cls
        return cls

    return decorate


def discover() -> None:
    """Import every plugin module once (idempotent)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for package_name in PACKAGES:
        try:
            package = importlib.import_module(package_name)
        except ImportError as exc:
            log.warning("cannot import plugin package %s: %s", package_name, exc)
            continue
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            _import(info.name)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _import(entry.value)


def _import(module: str) -> None:
    try:
        importlib.import_module(module)
    except Exception as exc:
        # A broken third-party plugin must not take the whole tool down.
        log.warning("plugin module %s failed to import: %s: %s", module, type(exc).__name__, exc)


@overload
def plugins(kind: Literal["app"]) -> dict[str, type[AppConfig]]: ...
@overload
def plugins(kind: Literal["executor"]) -> dict[str, type[ExecutorConfig]]: ...
@overload
def plugins(kind: Kind) -> dict[str, type[PluginConfig]]: ...
def plugins(kind: Kind) -> dict[str, type[PluginConfig]]:  # type: ignore[misc]
    """All registered plugins of a kind, by name (sorted)."""
    discover()
    return dict(sorted(_registry[kind].items()))


def get(kind: Kind, name: str) -> type[PluginConfig]:
    """The config class of plugin ``name``; UnknownPluginError names the choices."""
    found = plugins(kind).get(name)
    if found is None:
        choices = ", ".join(plugins(kind)) or "none registered"
        raise UnknownPluginError(f"unknown {kind} {name!r} (choose from: {choices})")
    return found
