"""CLI flags generated from plugin config fields, so adding a plugin never touches the CLI.

A field ``matrix_size`` of the chosen app becomes ``--app.matrix-size VALUE``; fields of
every executor (filter, transformer) become ``--executor.FIELD`` and are checked against
the chosen one when the config is validated. Every generated flag takes exactly one value
(booleans too: ``--app.verify false``), which keeps the command line unambiguous.
Values stay text here: pydantic validates and converts them, and its errors name the flag.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import click
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tapstrace.config.layers import Layer
from tapstrace.errors import ConfigError

SEP = "__"  # click parameter names: "app__matrix_size"


def flag(section: str, field: str) -> str:
    """The flag of a config field: ``--app.matrix-size``."""
    return f"--{section}.{field.replace('_', '-')}"


def _strip_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def type_label(annotation: Any) -> str:
    """A short human name for a field's type, shown as the flag's metavar."""
    base = _strip_optional(annotation)
    origin = typing.get_origin(base)
    if origin is Literal:
        return "[" + "|".join(str(a) for a in typing.get_args(base)) + "]"
    if origin in (list, tuple, set, frozenset):
        return "LIST"
    if origin is dict or base is dict:
        return "JSON"
    labels = {bool: "BOOLEAN", int: "INTEGER", float: "FLOAT", str: "TEXT", Path: "PATH"}
    return labels.get(base, "TEXT")


def parse_value(annotation: Any, raw: str, source: str) -> Any:
    """Turn flag text into what pydantic expects: lists from ``a,b`` or JSON, dicts from
    JSON, ``none`` for optional fields; everything else is left to pydantic."""
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(annotation)
    if optional and raw.strip().lower() in ("none", "null"):
        return None
    base = _strip_optional(annotation)
    origin = typing.get_origin(base)
    try:
        if origin in (list, tuple, set, frozenset):
            if raw.lstrip().startswith("["):
                return json.loads(raw)
            return [item.strip() for item in raw.split(",") if item.strip()]
        if origin is dict or base is dict:
            return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: invalid JSON {raw!r} ({exc.msg})") from None
    return raw


def _default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return str(value).lower()
    return "none" if value is None else str(value)


def help_text(info: FieldInfo) -> str:
    """A field's description with its default."""
    return f"{info.description or ''}  [default: {_default_text(info)}]".strip()


class FieldOption(click.Option):
    """A generated flag; remembers its config section, field and annotation."""

    def __init__(self, section: str, field: str, info: FieldInfo, owners: Sequence[str]) -> None:
        self.section = section
        self.field = field
        self.annotation = info.annotation
        self.owners = list(owners)
        super().__init__(
            [flag(section, field), f"{section}{SEP}{field}"],
            type=click.STRING,
            metavar=type_label(info.annotation),
            help=help_text(info),
            default=None,
        )


def model_options(section: str, models: Iterable[tuple[str, type[BaseModel]]]) -> list[FieldOption]:
    """One flag per distinct field name across ``models`` (name, config class)."""
    seen: dict[str, tuple[FieldInfo, list[str]]] = {}
    for owner, model in models:
        for field, info in model.model_fields.items():
            if field in seen:
                seen[field][1].append(owner)
            else:
                seen[field] = (info, [owner])
    return [FieldOption(section, f, info, owners) for f, (info, owners) in seen.items()]


def rows(section: str, model: type[BaseModel]) -> list[tuple[str, str]]:
    """Help rows (flag and metavar, help) of one model's fields."""
    return [
        (f"{flag(section, f)} {type_label(info.annotation)}", help_text(info))
        for f, info in model.model_fields.items()
    ]


def layer_from_params(params: dict[str, Any], options: Iterable[FieldOption]) -> Layer:
    """The CLI layer: the generated flags the user actually gave."""
    layer = Layer()
    for option in options:
        raw = params.get(f"{option.section}{SEP}{option.field}")
        if raw is None:
            continue
        source = flag(option.section, option.field)
        layer.set(option.section, option.field, parse_value(option.annotation, raw, source), source)
    return layer
