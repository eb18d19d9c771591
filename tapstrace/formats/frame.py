"""Building a trace table (the schema of tapstrace.trace.schema) from importer columns.

Importers collect one Python list per column; missing values stay None (an importer never
invents a timestamp). Times are wall-clock seconds since the Unix epoch.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from tapstrace.trace.schema import DEFAULTS, SCHEMA, TIME, TIME_COLUMNS

#: Values of the non-nullable columns when an importer does not set them.
_DEFAULTS: dict[str, Any] = {"attempt": 1, "warmup": False, **DEFAULTS}


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
        arrays = []
        for field in SCHEMA:
            values = self.data[field.name]
            if field.name in TIME_COLUMNS:
                micros = [None if v is None else round(v * 1_000_000) for v in values]
                arrays.append(pa.array(micros, pa.int64()).cast(TIME))
            else:
                arrays.append(pa.array(values, field.type))
        table = pa.Table.from_arrays(arrays, schema=SCHEMA)
        return pl.from_arrow(table)  # type: ignore[return-value]


def empty_frame() -> pl.DataFrame:
    """A trace table with no rows."""
    return pl.from_arrow(SCHEMA.empty_table())  # type: ignore[return-value]


def final_attempts(tasks: pl.DataFrame) -> pl.DataFrame:
    """One row per task: its last attempt (the one that decided its status)."""
    if tasks.height == 0:
        return tasks
    return tasks.sort("task_id", "attempt").unique("task_id", keep="last", maintain_order=True)
