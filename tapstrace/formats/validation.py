"""Field types and error wording shared by the importers' pydantic models.

Every importer validates what it parses against a model of its format (types and
ranges), so a malformed file is one line naming the file, the record and the field,
never a traceback from deep inside polars or pyarrow.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationError

#: Latest instant a trace may hold: the end of year 9999 (the last one datetime knows),
#: as Unix seconds. Arrow stores microseconds in int64, which reaches much further.
MAX_UNIX_SECONDS = 253_402_300_799.0

#: Unix seconds: a finite JSON number (not a string, not a boolean) from 1970 to 9999.
UnixSeconds = Annotated[float, Field(strict=True, ge=0.0, le=MAX_UNIX_SECONDS, allow_inf_nan=False)]

#: A finite, non-negative number of seconds or bytes (JSON number, not a string or bool).
NonNegative = Annotated[float, Field(strict=True, ge=0.0, le=1e18, allow_inf_nan=False)]


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def problem(exc: ValidationError, prefix: tuple[Any, ...] = ()) -> str:
    """The first error of a validation, as ``field.path: what is wrong (got value)``.

    One line whatever the input: long values are cut, and only the first error is
    named (``and N more`` counts the rest).
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(p for p in (*prefix, *first["loc"]) if not str(p).startswith("function-"))
    message = str(first["msg"])
    message = message[0].lower() + message[1:] if message else "invalid"
    if first["type"] == "json_invalid":
        return f"not JSON ({first.get('ctx', {}).get('error', message)})"
    text = f"{_where(loc)}: {message}" if loc else message
    if first["type"] not in ("missing", "json_invalid") and "input" in first:
        text += f" (got {_shown(first['input'])})"
    if len(errors) > 1:
        text += f", and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''}"
    return text
