"""Analysing many traces at once: find them, read each, summarise, compare, save.

The Python API behind ``tapstrace analyze``. Traces are read one at a time and only
their summaries (and, for plots, small plot datasets) are kept, so memory stays that of
the largest trace, not of all of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tapstrace.analysis.compare import Baseline, compare, per_trace
from tapstrace.analysis.selection import Selection
from tapstrace.analysis.summary import flatten, summarize
from tapstrace.analysis.tasks import Tasks, prepare
from tapstrace.errors import UserError
from tapstrace.trace.reader import read_trace

log = logging.getLogger(__name__)


def find_traces(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Trace files named by ``paths``: files as given, directories searched recursively
    for ``*.arrow``. Returns the files and (path, problem) for paths that gave none."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.arrow") if p.is_file())
            if not found:
                problems.append((str(path), "no *.arrow trace in this directory"))
            files += found
        elif path.exists():
            files.append(path)
        else:
            problems.append((str(path), "no such file or directory"))
    unique = list(dict.fromkeys(files))
    return unique, problems


@dataclass
class Analysis:
    """What analysing a set of traces produced.

    Attributes:
        summaries: one ``summarize`` dict per trace read, in input order.
        errors: (path, message) for every path that could not be analysed.
        comparison: the grouped comparison table (with ratios under a baseline).
        plots: per-trace plot datasets (only when asked for).
    """

    summaries: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    comparison: pl.DataFrame = field(default_factory=pl.DataFrame)
    plots: list[Any] = field(default_factory=list)

    def table(self) -> pl.DataFrame:
        """The flat per-trace summary (one row per trace)."""
        return per_trace([flatten(s) for s in self.summaries])

    def to_json(self) -> str:
        """Summaries, comparison and errors as one JSON document."""
        return json.dumps(
            {
                "traces": self.summaries,
                "comparison": self.comparison.to_dicts(),
                "errors": [{"path": p, "error": e} for p, e in self.errors],
            },
            default=str,
        )


def analyze(
    paths: Iterable[str | Path],
    *,
    by: list[str],
    baseline: Baseline | None = None,
    include_warmup: bool = False,
    keep: Callable[[Tasks], Any] | None = None,
    selection: Selection | None = None,
) -> Analysis:
    """Summarise every trace under ``paths`` and compare them grouped by ``by``.

    A file that is not a readable trace is reported in ``errors`` and skipped.
    ``keep(tasks)``, when given, is called on each prepared trace and its results kept
    in ``plots`` (plot datasets are built while the trace is in memory). ``selection``
    narrows every trace to the same window, functions, workers or statuses.
    """
    files, result_errors = find_traces(paths)
    result = Analysis(errors=result_errors)
    base_file: Path | None = None
    if baseline is not None and baseline.trace is not None:
        base = baseline.trace.resolve()
        base_file = next((f for f in files if f.resolve() == base), baseline.trace)
        if base_file not in files:
            files.append(base_file)
    base_label = ""
    for file in files:
        try:
            trace = read_trace(file, warn=False)
            tasks = prepare(trace, include_warmup=include_warmup, selection=selection)
            tasks.label = _unique_label(tasks.label, result.summaries)
            summary = summarize(tasks)
            plot = keep(tasks) if keep is not None else None
        except UserError as exc:
            result.errors.append((str(file), str(exc).removeprefix(f"{file}: ")))
            continue
        if file == base_file:
            base_label = summary["label"]
        if plot is not None:
            result.plots.append(plot)
        result.summaries.append(summary)
        log.debug("analysed %s", file)
    if result.summaries:
        if base_file is not None and not base_label:
            raise UserError(f"--baseline {base_file}: not a readable trace")
        result.comparison = compare(result.table(), by, baseline, base_label)
    return result


def _unique_label(label: str, earlier: list[dict[str, Any]]) -> str:
    taken = {s["label"] for s in earlier}
    candidate, n = label, 1
    while candidate in taken:
        n += 1
        candidate = f"{label}#{n}"
    return candidate


def save(result: Analysis, out: Path) -> list[Path]:
    """Write the tables to ``out``: summary (Parquet and CSV), comparison, per function,
    per worker and the critical paths (CSV). Returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    table = result.table()
    table.write_parquet(out / "summary.parquet")
    table.write_csv(out / "summary.csv")
    written += [out / "summary.parquet", out / "summary.csv"]
    tables = {
        "comparison": result.comparison,
        "functions": _rows(result.summaries, "functions"),
        "workers": _rows(result.summaries, "workers_detail"),
        "critical_paths": _paths(result.summaries),
    }
    for name, frame in tables.items():
        if frame.width:
            frame.write_csv(out / f"{name}.csv")
            written.append(out / f"{name}.csv")
    result.comparison.write_parquet(out / "comparison.parquet")
    written.append(out / "comparison.parquet")
    return written


def _rows(summaries: list[dict[str, Any]], key: str) -> pl.DataFrame:
    frames = [
        pl.DataFrame(s[key], infer_schema_length=None).insert_column(
            0, pl.lit(s["label"]).alias("trace")
        )
        for s in summaries
        if s[key]
    ]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _paths(summaries: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [
        {"trace": s["label"], "weighting": path["weighting"], "position": i, "task_id": task}
        for s in summaries
        for path in (s["critical_path"], s["critical_path_overheads"])
        for i, task in enumerate(path["task_ids"])
    ]
    return pl.DataFrame(rows) if rows else pl.DataFrame()
