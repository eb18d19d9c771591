"""Filters: which task arguments and results a transformer moves out of band.

A filter is a picklable callable ``filter(obj) -> bool``: it runs on the client for
arguments and on the workers for results. Each one here is a plugin (``--filter NAME``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from tapstrace.engine.sizes import sizeof
from tapstrace.plugins.config import FilterConfig
from tapstrace.plugins.registry import register


class SizeFilter:
    """Passes objects whose serialised size is within [min_bytes, max_bytes]."""

    __slots__ = ("max_bytes", "min_bytes", "mode")

    def __init__(
        self,
        min_bytes: int = 0,
        max_bytes: int | None = None,
        mode: Literal["fast", "pickle"] = "fast",
    ) -> None:
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self.mode: Literal["fast", "pickle"] = mode

    def __reduce__(self) -> tuple[Any, ...]:
        return (SizeFilter, (self.min_bytes, self.max_bytes, self.mode))

    def __call__(self, obj: Any) -> bool:
        size = sizeof(obj, self.mode)
        return size >= self.min_bytes and (self.max_bytes is None or size <= self.max_bytes)


def type_names(cls: type) -> tuple[str, str]:
    """The names a type filter matches: qualified (``numpy.ndarray``) and bare (``ndarray``)."""
    return f"{cls.__module__}.{cls.__qualname__}", cls.__qualname__


class TypeFilter:
    """Passes objects whose type name matches one of the patterns.

    Glob patterns (``numpy.*``, ``*DataFrame``) must match the whole name; regular
    expressions match anywhere in it (``re.search``). Both are tried against the
    qualified name (``builtins.bytes``) and the bare one (``bytes``). Decisions are
    cached per type, so the cost per object is one dictionary lookup.
    """

    __slots__ = ("_cache", "_regex", "match", "patterns")

    def __init__(self, patterns: Sequence[str], match: Literal["glob", "regex"] = "glob") -> None:
        self.patterns = tuple(patterns)
        self.match: Literal["glob", "regex"] = match
        sources = [fnmatch.translate(p) if match == "glob" else f"(?:{p})" for p in self.patterns]
        self._regex = re.compile("|".join(sources)) if sources else None
        self._cache: dict[type, bool] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (TypeFilter, (self.patterns, self.match))

    def __call__(self, obj: Any) -> bool:
        cls = type(obj)  # never obj.__class__: a lazy proxy would fetch its target for it
        found = self._cache.get(cls)
        if found is None:
            found = self._cache[cls] = self._matches(cls)
        return found

    def _matches(self, cls: type) -> bool:
        if self._regex is None:
            return False
        test = self._regex.match if self.match == "glob" else self._regex.search
        return any(test(name) is not None for name in type_names(cls))


class AllFilter:
    """Passes every object."""

    def __call__(self, obj: Any) -> bool:
        return True


class NeverFilter:
    """Passes no object: data management is configured but moves nothing (a baseline)."""

    def __call__(self, obj: Any) -> bool:
        return False


@register("filter")
class SizeFilterConfig(FilterConfig):
    """Objects whose serialised size is within a range (tapstrace's size estimate)."""

    name: ClassVar[str] = "size"

    min_bytes: int = Field(0, ge=0, description="Smallest size (bytes) moved out of band.")
    max_bytes: int | None = Field(
        None, ge=0, description="Largest size (bytes) moved out of band (none: no limit)."
    )
    size_mode: Literal["fast", "pickle"] = Field(
        "fast",
        description="How sizes are measured: fast (exact for bytes, arrays and containers "
        "of them, estimated otherwise) or pickle (exact, pickles other objects).",
    )

    @model_validator(mode="after")
    def _range(self) -> SizeFilterConfig:
        if self.max_bytes is not None and self.max_bytes < self.min_bytes:
            raise ValueError(f"max_bytes ({self.max_bytes}) is below min_bytes ({self.min_bytes})")
        return self

    def build(self) -> SizeFilter:
        return SizeFilter(self.min_bytes, self.max_bytes, self.size_mode)


@register("filter")
class TypeFilterConfig(FilterConfig):
    """Objects whose type name (numpy.ndarray, builtins.bytes, ...) matches a pattern."""

    name: ClassVar[str] = "type"

    patterns: list[str] = Field(
        description="Type name patterns, comma-separated: glob (numpy.*, *DataFrame, bytes) "
        "or, with match=regex, regular expressions.",
        min_length=1,
    )
    match: Literal["glob", "regex"] = Field(
        "glob", description="Pattern syntax: glob (whole name) or regex (re.search)."
    )

    @model_validator(mode="after")
    def _compile(self) -> TypeFilterConfig:
        if self.match == "regex":
            for pattern in self.patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return self

    def build(self) -> TypeFilter:
        return TypeFilter(self.patterns, self.match)


@register("filter")
class AllFilterConfig(FilterConfig):
    """Every argument and result (except None and booleans)."""

    name: ClassVar[str] = "all"

    def build(self) -> AllFilter:
        return AllFilter()


@register("filter")
class NeverFilterConfig(FilterConfig):
    """Nothing: the transformer is set up but moves no data (a baseline)."""

    name: ClassVar[str] = "never"

    def build(self) -> NeverFilter:
        return NeverFilter()
