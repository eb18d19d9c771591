"""Terminal tables (rich) for analysis results, readable on an 80-column terminal.

One trace gets a detailed view; several get a row each and the comparison; two runs
compared get the makespan difference by component. By default every table keeps to
a few columns that fit 80 characters (names wrap rather than collapse); ``wide`` shows
every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from tapstrace.analysis.breakdown import GROUPS, PARTS
from tapstrace.analysis.compare import RATIOS
from tapstrace.analysis.overhead import COMPONENTS
from tapstrace.analysis.summary import caveats
from tapstrace.analysis.units import (
    number,
    percent,
    rate,
    seconds,
    signed_seconds,
    size,
)

__all__ = [
    "breakdown_table",
    "comparison_table",
    "number",
    "percent",
    "seconds",
    "size",
    "trace_view",
    "traces_table",
    "versus_view",
]

MAX_ROWS = 30
#: Overhead labels in narrow tables.
SHORT = {"engine": "engine", "queueing": "queue", "worker_wait": "wait", "launch": "launch",
         "return": "return"}  # fmt: skip


def _table(title: str, columns: Sequence[str], left: Sequence[str] = ()) -> Table:
    table = Table(title=title, title_justify="left", pad_edge=False, collapse_padding=True)
    for col in columns:
        if col in left:
            table.add_column(col, justify="left", overflow="fold", min_width=6)
        else:
            table.add_column(col, justify="right", no_wrap=True)
    return table


def _overhead_table(summary: dict[str, Any], wide: bool) -> Table:
    columns: tuple[str, ...] = ("component", "median", "p95", "p99", "mean", "tasks", "missing")
    if not wide:
        columns = ("component", "median", "p95", "mean", "tasks")
    table = _table("scheduler overhead per task", columns, left=("component",))
    keys = {"median": "median_s", "p95": "p95_s", "p99": "p99_s", "mean": "mean_s"}
    for component in COMPONENTS:
        row = summary["overheads"].get(component)
        if row is None:
            continue
        if not row["n"]:
            note = "not recorded" if row["missing"] else "none"
            table.add_row(component, note, *[""] * (len(columns) - 3), "0")
            continue
        cells = [component]
        for col in columns[1:]:
            if col in keys:
                cells.append(seconds(row[keys[col]]))
            elif col == "tasks":
                cells.append(number(row["n"]))
            else:
                cells.append(number(row["missing"]))
        table.add_row(*cells)
    return table


def _path_line(name: str, path: dict[str, Any]) -> str:
    if path["length_s"] is None:
        return f"{name}: not computed ({path['reason']})"
    unknown = f"; {path['unknown']} tasks without times" if path["unknown"] else ""
    return (
        f"{name}: {path['tasks']} tasks, {seconds(path['length_s'])} "
        f"({percent(path['share_of_makespan'])} of makespan){unknown}"
    )


def _transfer_line(fit: dict[str, Any]) -> str:
    if fit["latency_s"] is None:
        return f"transfer fit: none ({fit['note']})"
    bandwidth = fit["bandwidth_bytes_per_s"]
    text = (
        f"transfer fit over {fit['points']} tasks: latency {seconds(fit['latency_s'])}, "
        f"bandwidth {size(bandwidth) + '/s' if bandwidth else '-'}, r2 {fit['r2']:.3f}"
    )
    return text if fit["meaningful"] else f"{text} (not meaningful: {fit['note']})"


def _bar(share: float, width: int = 16) -> str:
    filled = max(0, min(width, round(share * width)))
    return "█" * filled + "·" * (width - filled)


def breakdown_table(console: Console, summary: dict[str, Any], wide: bool = False) -> None:
    """Where the makespan went: each component's seconds and share, summing to it."""
    result = summary["breakdown"]
    if result["reason"]:
        console.print(f"makespan breakdown: not computed ({result['reason']})")
        return
    span = result["makespan_s"] or 0.0
    table = _table(
        f"where the makespan went (recorded critical path, {result['path_tasks']} tasks)",
        ("component", "time", "share", *(() if not wide else ("",))),
        left=("component",),
    )
    parts = result["parts_s"]
    for part, label in PARTS.items():
        value = parts.get(part, 0.0)
        if part == "client" and not result["client_recorded"]:
            table.add_row(label, "not recorded", "", *(() if not wide else ("",)))
            continue
        if not value and part in ("unrecorded", "retries", "other"):
            continue
        share = value / span if span else 0.0
        table.add_row(label, seconds(value), percent(share), *((_bar(share),) if wide else ()))
    table.add_row("[bold]makespan[/bold]", seconds(span), "100.0%", *(("",) if wide else ()))
    console.print(table)


def _facts(summary: dict[str, Any]) -> list[tuple[str, str]]:
    status = ", ".join(f"{n} {s}" for s, n in summary["status"].items()) or "none"
    data = summary["data"]
    util = summary["utilisation"]
    basis = ""
    if summary["makespan_basis"] not in (None, "submitted to received"):
        basis = f" ({summary['makespan_basis']})"
    moved = (
        f"in {size(data['input_bytes'])}, out {size(data['output_bytes'])}, along "
        f"{data['edges']} edges {size(data['edge_bytes'])}, out of band {size(data['oob_bytes'])}"
    )
    failed = f"{summary['failed_attempts']} failed attempts, {summary['retried_tasks']} retried"
    if summary["errors"]:
        failed += ": " + ", ".join(f"{n} {e}" for e, n in list(summary["errors"].items())[:4])
    rows = [
        ("app / executor", f"{summary['app'] or '?'} / {summary['executor'] or '?'}"),
        ("workers", f"{number(summary['workers'])} ({summary['workers_from']})"),
        ("tasks", f"{summary['tasks']} ({summary['attempts']} attempts: {status})"),
        ("makespan", seconds(summary["makespan_s"]) + basis),
        ("work", seconds(summary["work_s"])),
        ("throughput", rate(summary["throughput_per_s"])),
        ("efficiency", percent(summary["efficiency"])),
        ("parallelism", number(summary["parallelism"])),
        ("running", f"mean {number(util['mean_running'])}, peak {number(util['peak_running'])}"),
        ("idle", f"{percent(util['mean_idle_fraction'])} per worker on average"),
        ("data", moved),
        ("failures", failed),
        ("client", _client_line(summary["client"])),
    ]
    rows += caveats(summary)
    if summary["partial"]:
        rows.append(("state", "[red]partial trace (the run did not finish it)[/red]"))
    return rows


def _client_line(client: dict[str, Any]) -> str:
    phases = ", ".join(f"{p['name']} {seconds(p['seconds'])}" for p in client["phases"][:4])
    if not client["recorded"]:
        return "not recorded (trace schema before 1.2)" + (f"; phases: {phases}" if phases else "")
    text = (
        f"busy {seconds(client['busy_s'])} (CPU {seconds(client['cpu_s'])}), blocked "
        f"{seconds(client['blocked_s'])}; waited before {client['waits']} submissions"
    )
    return text + (f"; phases: {phases}" if phases else "")


def trace_view(console: Console, summary: dict[str, Any], wide: bool = False) -> None:
    """Everything about one trace: facts, the makespan breakdown, paths, overheads,
    functions, workers and failures."""
    facts = Table(
        title=summary["path"] or summary["label"], title_justify="left", show_header=False
    )
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    for key, value in _facts(summary):
        facts.add_row(key, value)
    console.print(facts)
    breakdown_table(console, summary, wide)
    console.print(_path_line("critical path (execution)", summary["critical_path"]))
    console.print(_transfer_line(summary["transfer"]))
    console.print(_overhead_table(summary, wide))
    _functions_table(console, summary, wide)
    _workers_table(console, summary)
    _failures_table(console, summary, wide)


def _functions_table(console: Console, summary: dict[str, Any], wide: bool) -> None:
    functions = sorted(summary["functions"], key=lambda r: -(r["work_s"] or 0))
    shown = COMPONENTS if wide else ("worker_wait", "launch")
    columns = ("function", "tasks", "ok", "work", "mean exec", *(f"{SHORT[c]} p50" for c in shown))
    table = _table("by function", columns, left=("function",))
    for row in functions[:MAX_ROWS]:
        table.add_row(
            row["name"],
            number(row["tasks"]),
            number(row["ok"]),
            seconds(row["work_s"]),
            seconds(row["mean_execution_s"]),
            *(seconds(row.get(f"{c}_median_s")) for c in shown),
        )
    if len(functions) > MAX_ROWS:
        table.caption = f"{MAX_ROWS} of {len(functions)} functions (all in --json / --out)"
    console.print(table)


def _workers_table(console: Console, summary: dict[str, Any]) -> None:
    workers = summary["workers_detail"]
    if not workers:
        return
    table = _table("by worker", ("worker", "attempts", "busy", "idle", "mean running"), ("worker",))
    for row in workers[:MAX_ROWS]:
        table.add_row(
            row["worker"],
            number(row["tasks"]),
            seconds(row["busy_s"]),
            percent(row["idle_fraction"]),
            number(row["mean_running"]),
        )
    if len(workers) > MAX_ROWS:
        table.caption = f"{MAX_ROWS} of {len(workers)} workers (all in --json / --out)"
    console.print(table)


def _failures_table(console: Console, summary: dict[str, Any], wide: bool) -> None:
    groups = summary["failure_groups"]
    if not groups:
        return
    columns: tuple[str, ...] = ("status", "error", "function", "attempts", "retried ok")
    if wide:
        columns = (*columns, "first message")
    table = _table("failures", columns, left=("status", "error", "function", "first message"))
    for row in groups[:MAX_ROWS]:
        cells = [
            row["status"],
            row["error_type"] or "-",
            row["name"],
            number(row["attempts"]),
            number(row["retried_ok"]),
        ]
        if wide:
            cells.append((row["first_message"] or "")[:200])
        table.add_row(*cells)
    console.print(table)
    examples = summary["error_examples"]
    if examples and not wide:
        first = examples[0]
        message = (first["error_message"] or "").splitlines()[0][:160] if first else ""
        console.print(
            f"first error: task {first['task_id']} ({first['name']}) at {seconds(first['at'])}: "
            f"{first['error_type']}: {message}"
        )


def traces_table(console: Console, summaries: Sequence[dict[str, Any]], wide: bool = False) -> None:
    """One row per trace with the headline metrics."""
    columns = ["trace", "executor", "workers", "tasks", "makespan", "CP share", "effic.", "tasks/s"]
    if wide:
        columns = ["trace", "app", "executor", "workers", "tasks", "makespan", "work",
                   "crit. path", "CP share", "parallelism", "effic.", "tasks/s", "wait p50",
                   "launch p50", "client"]  # fmt: skip
    table = _table("traces", columns, left=("trace", "app", "executor"))
    for s in summaries:
        over = s["overheads"]
        client = s["breakdown"]["parts_s"].get("client") if s["breakdown"]["parts_s"] else None
        values = {
            "trace": s["label"] + (" [red](partial)[/red]" if s["partial"] else ""),
            "app": s["app"] or "?",
            "executor": s["executor"] or "?",
            "workers": number(s["workers"]),
            "tasks": number(s["tasks"]),
            "makespan": seconds(s["makespan_s"]),
            "work": seconds(s["work_s"]),
            "crit. path": seconds(s["critical_path"]["length_s"]),
            "CP share": percent(s["critical_path"]["share_of_makespan"]),
            "parallelism": number(s["parallelism"]),
            "effic.": percent(s["efficiency"]),
            "tasks/s": number(s["throughput_per_s"]),
            "wait p50": seconds(over.get("worker_wait", {}).get("median_s")),
            "launch p50": seconds(over.get("launch", {}).get("median_s")),
            "client": seconds(client) if s["client"]["recorded"] else "n/r",
        }
        table.add_row(*(values[c] for c in columns))
    console.print(table)


def comparison_table(
    console: Console, frame: pl.DataFrame, by: list[str], title: str, wide: bool = False
) -> None:
    """The grouped comparison, with ratio columns when a baseline was given."""
    table = Table(title=title, title_justify="left", pad_edge=False, collapse_padding=True)
    shown: list[tuple[str, str, Any]] = [(k, k, str) for k in by]
    shown += [
        ("traces", "traces", str),
        ("makespan_s", "makespan", seconds),
        ("throughput_per_s", "tasks/s", number),
        ("efficiency", "effic.", percent),
    ]
    if wide:
        shown += [
            ("critical_path_share", "CP share", percent),
            ("worker_wait_median_s", "wait p50", seconds),
            ("launch_median_s", "launch p50", seconds),
            ("idle_fraction", "idle", percent),
        ]
    labels = ("makespan", "tasks/s", "effic.", "crit. path")
    ratios = [(f"{m}_ratio", f"{label} x", number) for m, label in zip(RATIOS, labels, strict=True)]
    shown += ratios if wide else ratios[:2]
    shown = [s for s in shown if s[0] in frame.columns]
    for _, label, _ in shown:
        if label in by:
            table.add_column(label, justify="left", overflow="fold", min_width=5)
        else:
            table.add_column(label, justify="right", no_wrap=True)
    for row in frame.iter_rows(named=True):
        table.add_row(*(fmt(row[c]) if row[c] is not None else "-" for c, _, fmt in shown))
    console.print(table)


def versus_view(console: Console, diff: dict[str, Any], wide: bool = False) -> None:
    """Two runs side by side: makespans, the difference by component, per function."""
    a, b = diff["a"], diff["b"]
    span = diff["makespan_s"]
    ratio = f" ({span['ratio']:.2f}x)" if span["ratio"] else ""
    console.print(f"[bold]A[/bold] {a}\n[bold]B[/bold] {b}")
    console.print(
        f"makespan: A {seconds(span['a'])}, B {seconds(span['b'])}, "
        f"B - A {signed_seconds(span['delta'])}{ratio}"
    )
    rows = diff["parts"] if wide else diff["groups"]
    if rows:
        table = _table("where the difference comes from (critical path)", ("component", "A", "B",
                       "B - A"), left=("component",))  # fmt: skip
        for row in rows:
            if not (row["a_s"] or row["b_s"]):
                continue
            table.add_row(
                row["label"],
                seconds(row["a_s"]),
                seconds(row["b_s"]),
                signed_seconds(row["delta_s"]),
            )
        total = sum(r["delta_s"] or 0.0 for r in rows)
        table.add_row("[bold]sum = makespan difference[/bold]", seconds(span["a"]),
                      seconds(span["b"]), signed_seconds(total))  # fmt: skip
        console.print(table)
    for note in diff["notes"]:
        console.print(f"note: {note}")
    functions = diff["functions"]
    if functions:
        columns: tuple[str, ...] = (
            "function",
            "tasks A/B",
            "exec A",
            "exec B",
            "exec B-A",
            "launch B-A",
        )
        if wide:
            columns = (*columns, "wait B-A", "return B-A")
        table = _table("by function (mean execution, overhead medians)", columns, ("function",))
        for row in functions[:MAX_ROWS]:
            cells = [
                row["name"],
                f"{number(row['tasks_a'])}/{number(row['tasks_b'])}",
                seconds(row["mean_execution_s_a"]),
                seconds(row["mean_execution_s_b"]),
                signed_seconds(row["mean_execution_s_delta"]),
                signed_seconds(row["launch_median_s_delta"]),
            ]
            if wide:
                cells += [
                    signed_seconds(row["worker_wait_median_s_delta"]),
                    signed_seconds(row["return_median_s_delta"]),
                ]
            table.add_row(*cells)
        console.print(table)


#: Labels of the breakdown groups, for callers that print them.
GROUP_LABELS = {g: label for g, (label, _) in GROUPS.items()}
