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
    frames = [pl.DataFrame([row], infer_schema_length=None) for row in summaries]
    return pl.concat(frames, how="diagonal_relaxed")


def _check_keys(table: pl.DataFrame, by: list[str]) -> None:
    unknown = [k for k in by if k not in table.columns]
    if unknown:
        raise UserError(
            f"--by: unknown key {unknown[0]!r} (try app, executor, workers, label, or any "
            "column of the --csv output)"
        )


def _as_text(keys: list[str]) -> list[pl.Expr]:
    return [pl.col(k).cast(pl.String).alias(k) for k in keys]


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
    grouped = (
        table.lazy()
        .with_columns(_as_text(by))
        .group_by(by)
        .agg(pl.len().alias("traces"), *(pl.col(s).mean().alias(d) for s, d in present.items()))
        .sort(by, nulls_last=True)
        .collect()
    )
    if baseline is None:
        return grouped
    return with_ratios(grouped, table, by, baseline, base_label)


def _baseline_rows(
    groups: pl.DataFrame, table: pl.DataFrame, by: list[str], baseline: Baseline, base_label: str
) -> tuple[pl.DataFrame, list[str]]:
    """The baseline's metric values and the keys to match each row with them."""
    if baseline.trace is not None:
        rows = table.filter(pl.col("label") == base_label)
        present = {s: d for s, d in COMPARED.items() if s in rows.columns}
        return rows.select(*(pl.col(s).alias(d) for s, d in present.items())).head(1), []
    keep = [k for k in by if k not in baseline.keys]
    chosen = groups.filter(*(pl.col(k).cast(pl.String) == v for k, v in baseline.keys.items()))
    if chosen.height == 0:
        values = sorted(
            {",".join(f"{k}={r[k]}" for k in baseline.keys) for r in groups.iter_rows(named=True)}
        )
        raise UserError(
            f"--baseline {baseline.describe()}: no trace matches (found {'; '.join(values)})"
        )
    return chosen.drop([*baseline.keys, "traces"], strict=False), keep


def with_ratios(
    frame: pl.DataFrame,
    table: pl.DataFrame,
    by: list[str],
    baseline: Baseline,
    base_label: str = "",
    groups: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``frame`` with ``<metric>_ratio`` columns against the baseline's values.

    ``frame`` holds the compared metrics under their short names (a comparison table),
    or the per-trace columns (then pass the comparison as ``groups``).
    """
    groups = frame if groups is None else groups
    base, keep = _baseline_rows(groups, table, by, baseline, base_label)
    base = base.rename({c: f"{c}__base" for c in base.columns if c not in keep})
    keyed = frame.with_columns(_as_text(keep)) if keep else frame
    joined = keyed.join(base, on=keep, how="left") if keep else keyed.join(base, how="cross")
    ratios = []
    for metric in RATIOS:
        source = metric if metric in joined.columns else _per_trace_name(metric)
        if source in joined.columns and f"{metric}__base" in joined.columns:
            ratios.append((pl.col(source) / pl.col(f"{metric}__base")).alias(f"{metric}_ratio"))
    out = joined.with_columns(ratios).drop([c for c in joined.columns if c.endswith("__base")])
    if keep and frame is not groups:  # restore the per-trace key types
        out = out.with_columns(frame.select(keep))
    return out


def _per_trace_name(short: str) -> str:
    return next((src for src, dst in COMPARED.items() if dst == short), short)
