"""Comparing traces: one table grouped by app / executor / workers, with ratios to a baseline.

The baseline is either a selection of the grouping keys (``executor=process``: each
group is compared with the group that has the same other keys and executor "process")
or one trace (every group is compared with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tapstrace.errors import UserError

DEFAULT_BY = ("app", "executor", "workers")

#: Per-trace columns averaged over each group's traces.
COMPARED = {
    "tasks": "tasks",
    "makespan_s": "makespan_s",
    "work_s": "work_s",
    "throughput_per_s": "throughput_per_s",
    "efficiency": "efficiency",
    "parallelism": "parallelism",
    "critical_path.length_s": "critical_path_s",
    "critical_path.share_of_makespan": "critical_path_share",
    "overheads.engine.median_s": "engine_median_s",
    "overheads.queueing.median_s": "queueing_median_s",
    "overheads.worker_wait.median_s": "worker_wait_median_s",
    "overheads.launch.median_s": "launch_median_s",
    "overheads.return.median_s": "return_median_s",
    "utilisation.mean_idle_fraction": "idle_fraction",
}

#: Columns given as ratios to the baseline (value / baseline value).
RATIOS = ("makespan_s", "throughput_per_s", "efficiency", "critical_path_s")


@dataclass(frozen=True)
class Baseline:
    """What the others are compared with: some grouping-key values, or one trace."""

    keys: dict[str, str] = field(default_factory=dict)
    trace: Path | None = None

    def describe(self) -> str:
        """The baseline as the user wrote it."""
        if self.trace is not None:
            return str(self.trace)
        return ",".join(f"{k}={v}" for k, v in self.keys.items())


def parse_by(text: str | None) -> list[str]:
    """Grouping keys from ``--by app,executor,workers``."""
    if text is None:
        return list(DEFAULT_BY)
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        raise UserError("--by: give at least one key, e.g. --by app,executor,workers")
    return keys


def parse_baseline(text: str, by: list[str]) -> Baseline:
    """``KEY=VALUE[,KEY=VALUE]`` over the grouping keys, or the path of a trace file."""
    candidate = Path(text)
    if "=" not in text or candidate.is_file():
        if not candidate.is_file():
            raise UserError(
                f"--baseline {text}: neither a trace file nor KEY=VALUE over the --by keys "
                f"({', '.join(by)})"
            )
        return Baseline(trace=candidate)
    keys: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--baseline {text}: expected KEY=VALUE, got {part!r}")
        if key not in by:
            raise UserError(
                f"--baseline {text}: {key!r} is not a grouping key (--by {','.join(by)})"
            )
        keys[key] = value.strip()
    return Baseline(keys=keys)


def per_trace(summaries: list[dict[str, Any]]) -> pl.DataFrame:
    """Flat per-trace summaries as one table (columns missing in a trace are null)."""
    if not summaries:
        return pl.DataFrame()
    # strict=False: a column that is an integer in one trace and a float in another is a float
    return pl.from_dicts(summaries, infer_schema_length=None, strict=False)


def _check_keys(table: pl.DataFrame, by: list[str]) -> None:
    unknown = [k for k in by if k not in table.columns]
    if unknown:
        raise UserError(
            f"--by: unknown key {unknown[0]!r} (try app, executor, workers, label, or any "
            "column of the --csv output)"
        )


def compare(
    table: pl.DataFrame, by: list[str], baseline: Baseline | None = None, base_label: str = ""
) -> pl.DataFrame:
    """One row per group of ``by`` values: trace count and the mean of the compared
    metrics over its traces; with a baseline, ``<metric>_ratio`` = value / baseline's.

    ``base_label`` names the baseline trace's row in ``table`` (column "label") when
    the baseline is a trace.
    """
    _check_keys(table, by)
    present = {src: dst for src, dst in COMPARED.items() if src in table.columns}
    groups = (
        table.group_by(by)
        .agg(pl.len().alias("traces"), *(pl.col(s).mean().alias(d) for s, d in present.items()))
        .sort(by, nulls_last=True)
    )
    if baseline is None:
        return groups
    base, keep = _baseline_values(groups, table, baseline, base_label)
    base = base.rename({c: f"{c}__base" for c in base.columns if c not in keep})
    joined = (
        groups.join(base, on=keep, how="left", nulls_equal=True)
        if keep
        else groups.join(base, how="cross")
    )
    ratios = [
        (pl.col(m) / pl.col(f"{m}__base")).alias(f"{m}_ratio")
        for m in RATIOS
        if m in joined.columns and f"{m}__base" in joined.columns
    ]
    return joined.with_columns(ratios).select(pl.exclude("^.*__base$"))


def _baseline_values(
    groups: pl.DataFrame, table: pl.DataFrame, baseline: Baseline, base_label: str
) -> tuple[pl.DataFrame, list[str]]:
    """The baseline's metric values, and the keys that pair each group with them."""
    if baseline.trace is not None:
        rows = table.filter(pl.col("label") == base_label).head(1)
        present = {s: d for s, d in COMPARED.items() if s in rows.columns}
        return rows.select(*(pl.col(s).alias(d) for s, d in present.items())), []
    chosen = groups.filter(*(pl.col(k).cast(pl.String) == v for k, v in baseline.keys.items()))
    if chosen.height == 0:
        found = groups.select(
            pl.concat_str(
                [pl.format(f"{k}={{}}", pl.col(k).cast(pl.String)) for k in baseline.keys],
                separator=",",
            )
        ).to_series()
        raise UserError(
            f"--baseline {baseline.describe()}: no trace matches "
            f"(found {'; '.join(sorted(set(found.drop_nulls().to_list())))})"
        )
    grouping = groups.columns[: groups.columns.index("traces")]
    keep = [k for k in grouping if k not in baseline.keys]
    return chosen.drop([*baseline.keys, "traces"]), keep
