"""Reading JSON documents with errors that name the file, and hashing files.

Parsing goes through pydantic-core's JSON parser, which bounds nesting depth
(:data:`MAX_DEPTH`): a hostile file nested thousands deep is a clean error, not a
RecursionError.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pydantic_core

from tapstrace.errors import TraceError

#: Deepest nesting of arrays and objects a JSON document may have (pydantic-core's limit).
MAX_DEPTH = 200


def depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, level + 1)
            stack.extend((item, level + 1) for item in node)
    return deepest


def read_bytes(path: Path) -> bytes:
    """The file's bytes; unreadable files raise a TraceError naming them."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: is a directory") from None
    except OSError as exc:
        raise TraceError(f"{path}: cannot read ({exc.strerror or exc})") from None


def json_problem(exc: ValueError) -> str:
    """What is wrong with a JSON text, in words, from pydantic-core's parse error."""
    text = str(exc)
    if text.startswith("EOF while parsing"):
        return "ends early (truncated?)"
    if text.startswith("recursion limit exceeded"):
        return f"nested more than {MAX_DEPTH} levels deep ({text.split(' at ', 1)[-1]})"
    return text


def loads(raw: bytes | str, *, inf_nan: bool = False) -> Any:
    """``raw`` parsed as JSON (depth-bounded); ValueError says what is wrong and where.

    Infinity and NaN literals are refused (they are not JSON) unless ``inf_nan`` (Python's
    json module writes them); numbers too large for a float become ``inf``, which the
    format models then reject as out of range.
    """
    return pydantic_core.from_json(raw, allow_inf_nan=inf_nan)


def parse_json(path: Path, raw: bytes, what: str = "JSON") -> Any:
    """``raw`` parsed as JSON; a syntax error (a truncated file) names the line."""
    try:
        return loads(raw)
    except ValueError as exc:
        raise TraceError(f"{path}: invalid {what}: {json_problem(exc)}") from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
