"""Run configuration: TOML files and CLI flags merged into one validated RunSpec."""

from __future__ import annotations

from tapstrace.config.layers import Layer, load_toml_layer, resolve
from tapstrace.config.spec import EngineOptions, RunOptions, RunSpec

__all__ = ["EngineOptions", "Layer", "RunOptions", "RunSpec", "load_toml_layer", "resolve"]
