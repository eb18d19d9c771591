"""Analysing many traces at once: find them, read each, summarise, compare, save.

The Python API behind ``tapstrace analyze``. Traces are read one at a time (one per
worker process when there are many) and only their summaries (and, for plots, small plot
datasets) are kept, so memory stays that of the largest traces, not of all of them.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import polars as pl

from tapstrace.analysis.compare import Baseline, compare, per_trace
from tapstrace.analysis.labels import run_label
from tapstrace.analysis.selection import Selection
from tapstrace.analysis.summary import flatten, summarize
from tapstrace.analysis.tasks import Tasks, prepare
from tapstrace.errors import UserError
from tapstrace.formats import discover
from tapstrace.trace.reader import read_trace

log = logging.getLogger(__name__)


def find_traces(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Traces named by ``paths``: files as given, directories searched recursively for
    every readable format (tapstrace.formats.discover). Returns the traces and (path,
    problem) for paths that gave none."""
    return discover.find_traces(paths)


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
    _table: pl.DataFrame | None = field(default=None, repr=False)

    def table(self) -> pl.DataFrame:
        """The flat per-trace summary (one row per trace)."""
        if self._table is None or self._table.height != len(self.summaries):
            self._table = per_trace([flatten(s) for s in self.summaries])
        return self._table

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


#: Fewest traces worth starting worker processes for (each imports polars, ~1 s).
PARALLEL_FROM = 32
#: Traces bigger than this (bytes on disk) are analysed one at a time in this process, so
#: memory stays that of the largest trace, not of one per worker.
SERIAL_ABOVE = 64 << 20


@dataclass
class _Done:
    """One trace analysed (in a worker process or here), before it gets its label."""

    summary: dict[str, Any]
    plot: Any
    name: str
    folders: tuple[str, ...]
    keys: tuple[str | None, str | None, int | None]


def _problem(file: Path, exc: UserError) -> tuple[str, str]:
    """(path, message) of an error: the file inside ``file`` it names, when it names one
    (a TaPS run directory's tasks.jsonl), else ``file``."""
    text = str(exc)
    if text.startswith(f"{file}: "):
        return str(file), text.removeprefix(f"{file}: ")
    if text.startswith(f"{file}/") and ": " in text:
        inner, message = text.split(": ", 1)
        return inner, message
    return str(file), text


def _analyse_one(
    file: Path,
    include_warmup: bool,
    keep: Callable[[Tasks], Any] | None,
    selection: Selection | None,
) -> _Done | tuple[str, str]:
    """Read, prepare and summarise one trace; a problem comes back as (path, message)."""
    try:
        trace = read_trace(file, warn=False)
        tasks = prepare(trace, include_warmup=include_warmup, selection=selection)
        where = (trace.path or file).resolve()
        folders = where.parent.parts[-3:]
        if tasks.label == where.parent.name:  # named after its folder: the folders above it
            folders = folders[:-1]
        summary = summarize(tasks)
        plot = keep(tasks) if keep is not None else None
        keys = (tasks.app, tasks.executor, tasks.slots[0])
        return _Done(summary, plot, tasks.label, tuple(folders), keys)
    except UserError as exc:
        return _problem(file, exc)
    except Exception as exc:  # a bug, not the file's fault: report it, analyse the rest
        log.debug("analysing %s failed", file, exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else ""
        return str(file), f"could not be analysed ({type(exc).__name__}: {first})"


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def _results(
    files: list[Path],
    include_warmup: bool,
    keep: Callable[[Tasks], Any] | None,
    selection: Selection | None,
    jobs: int,
) -> Iterator[_Done | tuple[str, str]]:
    """Each file's analysis, in order: in ``jobs`` worker processes when there are many
    small traces, big ones here one at a time. Should the pool break (a worker killed),
    the rest are analysed here."""
    if jobs <= 1 or len(files) < PARALLEL_FROM:
        for file in files:
            yield _analyse_one(file, include_warmup, keep, selection)
        return
    sizes = [_size(f) for f in files]
    small = [f for f, size in zip(files, sizes, strict=True) if size <= SERIAL_ABOVE]
    # spawn, not fork: polars' thread pool does not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(small)), mp_context=context) as pool:
        done = pool.map(
            _analyse_one,
            small,
            repeat(include_warmup),
            repeat(keep),
            repeat(selection),
            chunksize=4,
        )
        broken = False
        for file, size in zip(files, sizes, strict=True):
            if size <= SERIAL_ABOVE and not broken:
                try:
                    yield next(done)
                    continue
                except BrokenProcessPool:
                    log.debug("worker processes failed; analysing the rest here", exc_info=True)
                    broken = True
            yield _analyse_one(file, include_warmup, keep, selection)


def analyze(
    paths: Iterable[str | Path],
    *,
    by: list[str],
    baseline: Baseline | None = None,
    include_warmup: bool = False,
    keep: Callable[[Tasks], Any] | None = None,
    selection: Selection | None = None,
    jobs: int = 1,
) -> Analysis:
    """Summarise every trace under ``paths`` and compare them grouped by ``by``.

    A file that is not a readable trace is reported in ``errors`` and skipped.
    ``keep(tasks)``, when given, is called on each prepared trace and its results kept
    in ``plots`` (plot datasets are built while the trace is in memory; it must be a
    module-level function: it may run in a worker process). ``selection`` narrows every
    trace to the same window, functions, workers or statuses. With ``jobs`` > 1, that many
    worker processes share the traces when there are :data:`PARALLEL_FROM` or more; they
    are spawned, so a script calling this needs the ``if __name__ == "__main__":`` guard.
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
    taken: set[str] = set()
    results = _results(files, include_warmup, keep, selection, jobs)
    for file, done in zip(files, results, strict=True):
        if isinstance(done, tuple):
            result.errors.append(done)
            continue
        label = run_label(done.name, done.keys, done.folders, taken)
        taken.add(label)
        done.summary["label"] = label
        if file == base_file:
            base_label = label
        if done.plot is not None:
            done.plot.label = label
            result.plots.append(done.plot)
        result.summaries.append(done.summary)
        log.debug("analysed %s", file)
    if result.summaries:
        if base_file is not None and not base_label:
            raise UserError(f"--baseline {base_file}: not a readable trace")
        result.comparison = compare(result.table(), by, baseline, base_label)
    return result


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
