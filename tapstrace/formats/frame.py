"""Building a trace table (the schema of tapstrace.trace.schema) from importer columns.

Importers collect one Python list per column (row by row with :class:`Columns`, or whole
columns for :func:`build_frame`); missing values stay None (an importer never invents a
timestamp). Times are wall-clock seconds since the Unix epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from tapstrace.trace.schema import DEFAULTS, SCHEMA, TIME, TIME_COLUMNS

#: Values of the non-nullable columns when an importer does not set them (the schema's
#: defaults for its 1.2 columns ``kind`` and ``control_parents`` included).
_DEFAULTS: dict[str, Any] = {"attempt": 1, "warmup": False, **DEFAULTS}


def _micros(values: Sequence[float | None]) -> pa.Array:
    seconds = pa.array(values, pa.float64())
    return pc.round(pc.multiply(seconds, 1_000_000.0)).cast(pa.int64()).cast(TIME)


def _constant(field: pa.Field, length: int) -> pa.Array:
    default = _DEFAULTS.get(field.name)
    if default is None:
        return pa.nulls(length, field.type)
    return pa.array([default] * length, field.type)


def build_frame(run_id: str, columns: Mapping[str, Sequence[Any]]) -> pl.DataFrame:
    """A trace table from whole columns (Python sequences of equal length); columns not
    given are null, or their default for the non-nullable ones. Times are Unix seconds."""
    length = len(next(iter(columns.values()))) if columns else 0
    arrays = []
    for field in SCHEMA:
        values = columns.get(field.name)
        if field.name == "run_id":
            arrays.append(pa.array([run_id] * length, field.type))
        elif values is None:
            arrays.append(_constant(field, length))
        elif field.name in TIME_COLUMNS:
            arrays.append(_micros(values))
        else:
            arrays.append(pa.array(values, field.type))
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    return pl.from_arrow(table)  # type: ignore[return-value]


class Columns:
    """One list per schema column, filled row by row by an importer."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.data: dict[str, list[Any]] = {field.name: [] for field in SCHEMA}

    def add(self, **values: Any) -> None:
        """Append one row; columns not given are None (or their default)."""
        values["run_id"] = self.run_id
        for name, column in self.data.items():
            column.append(values.get(name, _DEFAULTS.get(name)))

    def __len__(self) -> int:
        return len(self.data["task_id"])

    def frame(self) -> pl.DataFrame:
        """The rows as a polars DataFrame in the trace schema."""
        return build_frame(self.run_id, self.data)


def empty_frame() -> pl.DataFrame:
    """A trace table with no rows."""
    return pl.from_arrow(SCHEMA.empty_table())  # type: ignore[return-value]


def final_attempts(tasks: pl.DataFrame) -> pl.DataFrame:
    """One row per task: its last attempt (the one that decided its status)."""
    if tasks.height == 0:
        return tasks
    return tasks.sort("task_id", "attempt").unique("task_id", keep="last", maintain_order=True)
