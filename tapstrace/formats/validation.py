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


def _record(document: Any, loc: tuple[Any, ...]) -> tuple[int, str | None]:
    """How much of ``loc`` leads to the innermost record (a list item with an id or name),
    and that id; (0, None) when there is none."""
    cut, name, node = 0, None, document
    for depth, part in enumerate(loc, 1):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, dict):
            ident = next((node[k] for k in ("id", "task_id", "name") if k in node), None)
            if isinstance(ident, str) and len(ident) <= 80:
                cut, name = depth, ident
    return cut, name


def problem(exc: ValidationError, document: Any = None) -> str:
    """The first error of a validation, as ``field.path: what is wrong (got value)``.

    With the parsed ``document``, the innermost record on the path is named by its id:
    ``workflow.execution.tasks[2] (task 'work_ID03'): runtimeInSeconds: ...``. One line
    whatever the input: long values are cut, and only the first error is named (``and N
    more`` counts the rest).
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not str(p).startswith("function-"))
    message = str(first["msg"])
    message = message[0].lower() + message[1:] if message else "invalid"
    if first["type"] == "json_invalid":
        return f"not JSON ({first.get('ctx', {}).get('error', message)})"
    cut, name = _record(document, loc) if document is not None else (0, None)
    head = f"{_where(loc[:cut])} (task {name!r})" if cut else ""
    field = _where(loc[cut:])
    text = ": ".join(part for part in (head, field, message) if part)
    if first["type"] != "missing" and "input" in first:
        text += f" (got {_shown(first['input'])})"
    if len(errors) > 1:
        text += f", and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''}"
    return text
