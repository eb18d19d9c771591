"""Two runs side by side (``tapstrace compare A B``): where the makespan difference comes from.

Each run's makespan is cut into the same components along its recorded critical path
(tapstrace.analysis.breakdown); the difference of two runs is the difference of their
components, which sums to the measured difference of the makespans exactly. Per
function, the mean execution time and the median of each overhead component are put
side by side. Works for a run and its replay, and across executors.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from tapstrace.analysis.breakdown import GROUPS, PARTS
from tapstrace.analysis.overhead import COMPONENTS


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The comparison of two trace summaries (``summarize``): run B against run A.

    Keys: ``a`` and ``b`` (labels), ``makespan_s`` (a, b, delta), ``parts`` and
    ``groups`` (one row per component: a, b, delta seconds; deltas sum to the makespan
    delta), ``client_recorded`` (per run), ``functions`` (per function name: tasks,
    mean execution and overhead medians of both and their deltas), and ``notes``.
    """
    parts_a, parts_b = a["breakdown"]["parts_s"], b["breakdown"]["parts_s"]
    notes = []
    for summary in (a, b):
        reason = summary["breakdown"]["reason"]
        if reason:
            notes.append(f"{summary['label']}: no breakdown ({reason})")
        elif not summary["breakdown"]["client_recorded"]:
            notes.append(
                f"{summary['label']}: the client is not recorded (schema "
                f"{summary['schema_version'] or '?'}); time before submissions is "
                "'not recorded'"
            )
    rows = [
        {"part": p, "label": PARTS[p], "a_s": parts_a.get(p), "b_s": parts_b.get(p)}
        for p in PARTS
        if parts_a and parts_b
    ]
    groups_a, groups_b = a["breakdown"]["groups_s"], b["breakdown"]["groups_s"]
    groups = [
        {"group": g, "label": label, "a_s": groups_a.get(g), "b_s": groups_b.get(g)}
        for g, (label, _) in GROUPS.items()
        if groups_a and groups_b
    ]
    for row in (*rows, *groups):
        row["delta_s"] = _delta(row["a_s"], row["b_s"])
    return {
        "a": a["label"],
        "b": b["label"],
        "makespan_s": {
            "a": a["makespan_s"],
            "b": b["makespan_s"],
            "delta": _delta(a["makespan_s"], b["makespan_s"]),
            "ratio": b["makespan_s"] / a["makespan_s"] if a["makespan_s"] else None,
        },
        "parts": rows,
        "groups": groups,
        "client_recorded": {
            a["label"]: a["breakdown"]["client_recorded"],
            b["label"]: b["breakdown"]["client_recorded"],
        },
        "functions": function_deltas(a, b).to_dicts(),
        "notes": notes,
    }


def function_deltas(a: dict[str, Any], b: dict[str, Any]) -> pl.DataFrame:
    """Per function name (in either run): tasks, mean execution and the median of each
    overhead component in A and B, and B - A."""
    values = ["tasks", "mean_execution_s", *(f"{c}_median_s" for c in COMPONENTS)]

    def frame(summary: dict[str, Any], suffix: str) -> pl.DataFrame:
        rows = [{"name": r["name"], **{v: r.get(v) for v in values}} for r in summary["functions"]]
        schema = {"name": pl.String, "tasks": pl.Int64, **{v: pl.Float64 for v in values[1:]}}
        table = pl.DataFrame(rows, schema=schema)
        return table.rename({v: f"{v}_{suffix}" for v in values})

    joined = frame(a, "a").join(frame(b, "b"), on="name", how="full", coalesce=True)
    return joined.with_columns(
        (pl.col(f"{v}_b") - pl.col(f"{v}_a")).alias(f"{v}_delta") for v in values[1:]
    ).sort("name")
