"""Reading a JSON document with errors that name the file, and hashing files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tapstrace.errors import TraceError


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


def parse_json(path: Path, raw: bytes, what: str = "JSON") -> Any:
    """``raw`` parsed as JSON; a syntax error (a truncated file) names the line."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a text file, so not {what}") from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(raw.rstrip()) or exc.msg.startswith("Unterminated"):
            raise TraceError(f"{path}: invalid {what}: ends early (truncated?)") from None
        where = f"line {exc.lineno} column {exc.colno}"
        raise TraceError(f"{path}: invalid {what}: {where} ({exc.msg})") from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
