"""Every metric of one trace in one JSON-ready dict, and its flat form for tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tapstrace.analysis import metrics
from tapstrace.analysis.breakdown import breakdown
from tapstrace.analysis.client import client_summary
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace


#: Which tasks are warm-ups in a trace recorded by tapstrace (importers name their own rule
#: in the trace metadata, ``warmup_rule``).
ENGINE_WARMUP_RULE = "tasks the app submitted inside Engine.warmup()"


def caveats(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts of a summary shown only when they apply (terminal view and report): the
    selection, a missing timeline, warm-ups left out and by which rule, dependencies
    dropped because the source lost records."""
    rows: list[tuple[str, str]] = []
    if summary.get("selection"):
        rows.append(("selection", summary["selection"]))
    if not summary["timeline"]:
        rows.append(("timeline", "none: the source recorded durations, not start times"))
    if summary["warmup_excluded"]:
        excluded = f"{summary['warmup_excluded']} attempts excluded ({summary['warmup_rule']})"
        rows.append(("warm-up", excluded))
    if summary["dropped_parents"]:
        lost = f"{summary['dropped_parents']} edges to tasks without a record dropped"
        rows.append(("lost records", lost))
    return rows


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def summarize(trace: Trace | Tasks) -> dict[str, Any]:
    """All metrics of a trace (definitions and units: docs/analysis.md).

    Nested: ``critical_path``, ``overheads`` (per component), ``breakdown`` (the
    makespan by component), ``client``, ``data``, ``transfer``, ``utilisation``; lists of
    rows: ``functions``, ``workers_detail``, ``failure_groups``, ``error_examples``;
    ``config``: the run's configuration.
    """
    tasks = as_tasks(trace)
    span = metrics.makespan(tasks)
    work = metrics.total_work(tasks)
    slots, slots_from = metrics.workers(tasks)
    path = metrics.critical_path(tasks)
    observed = metrics.critical_path(tasks, "overheads")
    overheads = metrics.overhead_summary(tasks)
    per_worker = metrics.worker_utilisation(tasks)
    steps = metrics.concurrency(tasks)
    return {
        "label": tasks.label,
        "path": tasks.path,
        "app": tasks.app,
        "executor": tasks.executor,
        "workers": slots,
        "workers_from": slots_from,
        "run_id": tasks.metadata.get("run_id"),
        "selection": tasks.selection.describe() or None,
        "partial": tasks.partial,
        "schema_version": tasks.schema_version,
        "tasks": tasks.final.height,
        "attempts": tasks.attempts.height,
        "warmup_excluded": tasks.warmup_excluded,
        "warmup_rule": tasks.metadata.get("warmup_rule") or ENGINE_WARMUP_RULE,
        "dropped_parents": int(tasks.metadata.get("dropped_parents") or 0),
        "status": metrics.status_counts(tasks),
        **metrics.failures(tasks),
        "makespan_s": span,
        "makespan_basis": metrics.makespan_basis(tasks),
        "timeline": tasks.timeline,
        "work_s": work,
        "throughput_per_s": metrics.throughput(tasks),
        "efficiency": metrics.efficiency(tasks),
        "parallelism": metrics.parallelism(tasks),
        "critical_path": {
            **path.as_dict(),
            "share_of_makespan": _ratio(path.length_s, span),
        },
        "critical_path_overheads": {
            **observed.as_dict(),
            "share_of_makespan": _ratio(observed.length_s, span),
        },
        "breakdown": breakdown(tasks).as_dict(),
        "client": client_summary(tasks),
        "overheads": {
            row["component"]: {k: v for k, v in row.items() if k != "component"}
            for row in overheads.iter_rows(named=True)
        },
        "data": metrics.data_volumes(tasks),
        "transfer": metrics.transfer_fit(tasks).as_dict(),
        "utilisation": {
            "workers_seen": per_worker.height,
            "peak_running": int(steps["running"].max() or 0) if steps.height else None,
            "mean_running": _ratio(work, span),
            "mean_idle_fraction": per_worker["idle_fraction"].mean() if per_worker.height else None,
        },
        "functions": metrics.functions(tasks).to_dicts(),
        "workers_detail": per_worker.to_dicts(),
        "failure_groups": metrics.failure_groups(tasks).to_dicts(),
        "error_examples": metrics.error_examples(tasks).to_dicts(),
        "config": tasks.config,
    }


#: Nested keys left out of the flat (one row per trace) form: lists of rows or of ids.
_LISTS = {"functions", "workers_detail", "task_ids", "errors", "path", "phases", "config",
          "failure_groups", "error_examples"}  # fmt: skip


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One level of ``name.sub.key`` columns, without the per-function/per-worker lists,
    the paths' tasks, failures and the config (tables of their own)."""
    flat: dict[str, Any] = {}
    for key, value in summary.items():
        if key in _LISTS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
