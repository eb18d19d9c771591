"""Terminal tables (rich) for analysis results: one detailed view per trace when there
is one, a row per trace and the comparison when there are several."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from tapstrace.analysis.compare import RATIOS
from tapstrace.analysis.overhead import COMPONENTS

MAX_ROWS = 30


def seconds(value: float | None) -> str:
    """Seconds with a unit that keeps 3 significant figures readable."""
    if value is None:
        return "-"
    size = abs(value)
    if size >= 1 or size == 0:
        return f"{value:.3f} s"
    if size >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def size(value: float | None) -> str:
    """Bytes in binary units."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"


def number(value: float | None, digits: int = 3) -> str:
    """A plain number, or "-" when unknown."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def percent(value: float | None) -> str:
    """A share as a percentage."""
    return "-" if value is None else f"{value * 100:.1f}%"


def _overhead_table(summary: dict[str, Any]) -> Table:
    table = Table(title="scheduler overhead per task", title_justify="left")
    for col in ("component", "median", "p95", "p99", "mean", "tasks", "missing"):
        table.add_column(col, justify="left" if col == "component" else "right", no_wrap=True)
    for component in COMPONENTS:
        row = summary["overheads"].get(component)
        if row is None:
            continue
        if not row["n"]:
            note = "not recorded in this trace" if row["missing"] else "no task has it"
            table.add_row(component, note, "", "", "", "0", str(row["missing"]))
            continue
        table.add_row(
            component,
            *(seconds(row[k]) for k in ("median_s", "p95_s", "p99_s", "mean_s")),
            str(row["n"]),
            str(row["missing"]),
        )
    return table


def _path_line(name: str, path: dict[str, Any]) -> str:
    if path["length_s"] is None:
        return f"{name}: not computed ({path['reason']})"
    parts = ""
    if path["components_s"]:
        parts = " = " + " + ".join(
            f"{k.removesuffix('_s')} {seconds(v)}" for k, v in path["components_s"].items()
        )
    unknown = f"; {path['unknown']} tasks without times" if path["unknown"] else ""
    return (
        f"{name}: {path['tasks']} tasks, {seconds(path['length_s'])} "
        f"({percent(path['share_of_makespan'])} of makespan){parts}{unknown}"
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


def trace_view(console: Console, summary: dict[str, Any]) -> None:
    """Everything about one trace: facts, overheads, functions, workers, paths, data."""
    facts = Table(
        title=summary["path"] or summary["label"], title_justify="left", show_header=False
    )
    facts.add_column(style="bold")
    facts.add_column()
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
    rows = [
        ("app / executor", f"{summary['app'] or '?'} / {summary['executor'] or '?'}"),
        ("workers", f"{number(summary['workers'])} ({summary['workers_from']})"),
        ("tasks", f"{summary['tasks']} ({summary['attempts']} attempts: {status})"),
        ("makespan", seconds(summary["makespan_s"]) + basis),
        ("work", seconds(summary["work_s"])),
        ("throughput", f"{number(summary['throughput_per_s'])} tasks/s"),
        ("efficiency", percent(summary["efficiency"])),
        ("parallelism", number(summary["parallelism"])),
        ("running", f"mean {number(util['mean_running'])}, peak {number(util['peak_running'])}"),
        ("idle", f"{percent(util['mean_idle_fraction'])} per worker on average"),
        ("data", moved),
        ("failures", failed),
    ]
    if not summary["timeline"]:
        rows.append(("timeline", "none: the source recorded durations, not start times"))
    if summary["warmup_excluded"]:
        excluded = f"{summary['warmup_excluded']} attempts excluded ({summary['warmup_rule']})"
        rows.append(("warm-up", excluded))
    if summary["dropped_parents"]:
        lost = f"{summary['dropped_parents']} edges to tasks without a record dropped"
        rows.append(("lost records", lost))
    if summary["partial"]:
        rows.append(("state", "[red]partial trace (the run did not finish it)[/red]"))
    for key, value in rows:
        facts.add_row(key, value)
    console.print(facts)
    console.print(_path_line("critical path", summary["critical_path"]))
    console.print(_path_line("with overheads", summary["critical_path_overheads"]))
    console.print(_transfer_line(summary["transfer"]))
    console.print(_overhead_table(summary))
    functions = sorted(summary["functions"], key=lambda r: -(r["work_s"] or 0))
    table = Table(title="by function", title_justify="left")
    for col in ("function", "tasks", "ok", "work", "mean exec", *(f"{c} p50" for c in COMPONENTS)):
        table.add_column(col, justify="left" if col == "function" else "right", no_wrap=True)
    for row in functions[:MAX_ROWS]:
        table.add_row(
            row["name"],
            str(row["tasks"]),
            str(row["ok"]),
            seconds(row["work_s"]),
            seconds(row["mean_execution_s"]),
            *(seconds(row.get(f"{c}_median_s")) for c in COMPONENTS),
        )
    console.print(table)
    workers = summary["workers_detail"]
    if workers:
        table = Table(title="by worker", title_justify="left")
        for col in ("worker", "attempts", "busy", "idle", "mean running"):
            table.add_column(col, justify="left" if col == "worker" else "right", no_wrap=True)
        for row in workers[:MAX_ROWS]:
            table.add_row(
                row["worker"],
                str(row["tasks"]),
                seconds(row["busy_s"]),
                percent(row["idle_fraction"]),
                number(row["mean_running"]),
            )
        if len(workers) > MAX_ROWS:
            table.caption = f"{MAX_ROWS} of {len(workers)} workers (all in --json / --out)"
        console.print(table)


def traces_table(console: Console, summaries: Sequence[dict[str, Any]]) -> None:
    """One row per trace with the headline metrics."""
    table = Table(title="traces", title_justify="left")
    columns = ("trace", "app", "executor", "workers", "tasks", "makespan", "work", "crit. path",
               "CP share", "parallelism", "efficiency", "tasks/s", "launch p50")  # fmt: skip
    for col in columns:
        left = col in ("trace", "app", "executor")
        table.add_column(col, justify="left" if left else "right", no_wrap=not left)
    for s in summaries:
        launch = s["overheads"].get("launch", {}).get("median_s")
        table.add_row(
            s["label"] + (" [red](partial)[/red]" if s["partial"] else ""),
            s["app"] or "?",
            s["executor"] or "?",
            number(s["workers"]),
            str(s["tasks"]),
            seconds(s["makespan_s"]),
            seconds(s["work_s"]),
            seconds(s["critical_path"]["length_s"]),
            percent(s["critical_path"]["share_of_makespan"]),
            number(s["parallelism"]),
            percent(s["efficiency"]),
            number(s["throughput_per_s"]),
            seconds(launch),
        )
    console.print(table)


def comparison_table(console: Console, frame: pl.DataFrame, by: list[str], title: str) -> None:
    """The grouped comparison, with ratio columns when a baseline was given."""
    table = Table(title=title, title_justify="left")
    shown: list[tuple[str, str, Any]] = [(k, k, str) for k in by]
    shown += [
        ("traces", "traces", str),
        ("makespan_s", "makespan", seconds),
        ("throughput_per_s", "tasks/s", number),
        ("efficiency", "efficiency", percent),
        ("critical_path_share", "CP share", percent),
        ("launch_median_s", "launch p50", seconds),
        ("idle_fraction", "idle", percent),
    ]
    shown += [(f"{m}_ratio", f"{label} ratio", number) for m, label in zip(
        RATIOS, ("makespan", "tasks/s", "efficiency", "crit. path"), strict=True)]  # fmt: skip
    shown = [s for s in shown if s[0] in frame.columns]
    for _, label, _ in shown:
        table.add_column(label, justify="left" if label in by else "right", no_wrap=True)
    for row in frame.iter_rows(named=True):
        table.add_row(*(fmt(row[c]) if row[c] is not None else "-" for c, _, fmt in shown))
    console.print(table)
