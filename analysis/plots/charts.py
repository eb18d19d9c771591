"""The figures, as altair charts over plot datasets (every axis titled with its unit).

Per trace: a Gantt timeline per worker coloured by function with the critical path
outlined, and the number of running tasks over time. Across traces: overhead CDFs by
executor, makespan by app and executor, throughput against workers, and round-trip time
against payload size (after the TaPS figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import polars as pl

from tapstrace.analysis.overhead import COMPONENTS
from tapstrace.analysis.plots.data import MAX_MARKS, TracePlots

TIME_AXIS = "time since first submission (s)"
#: Log axes start here: smaller values (zero, or negative from clock skew) sit on it.
FLOOR_S = 1e-6
WIDTH = 640


def _functions() -> alt.Scale:
    return alt.Scale(scheme="tableau20")


def gantt(plots: TracePlots) -> alt.TopLevelMixin | None:
    """Tasks per worker over time, coloured by function, the critical path outlined."""
    if plots.gantt.height == 0:
        return None
    rows = plots.gantt["row"].n_unique()
    height = int(min(max(rows * 18, 80), 600))
    y = alt.Y("row:N", title=plots.gantt_rows, sort="ascending")
    x = alt.X("start:Q", title=TIME_AXIS)
    color = alt.Color("function:N", title="function", scale=_functions())
    if plots.gantt_aggregated:
        bars = (
            alt.Chart(plots.gantt)
            .mark_rect()
            .encode(
                x=x,
                x2="end:Q",
                y=y,
                color=color,
                opacity=alt.Opacity(
                    "busy:Q", title="busy share of bin", scale=alt.Scale(domain=[0, 1])
                ),
                tooltip=["row:N", "function:N", alt.Tooltip("busy:Q", format=".0%")],
            )
        )
        subtitle = (
            f"{plots.tasks} tasks in time bins (colour: the function that ran longest in the "
            "bin); black line: critical path"
        )
    else:
        bars = (
            alt.Chart(plots.gantt)
            .mark_bar(height={"band": 0.8})
            .encode(
                x=x,
                x2="end:Q",
                y=y,
                color=color,
                tooltip=["task_id:Q", "attempt:Q", "function:N", "start:Q", "end:Q"],
            )
        )
        subtitle = f"{plots.tasks} tasks; black outline: critical path (execution times)"
    layers: list[Any] = [bars]
    if plots.critical.height:
        path = alt.Chart(plots.critical).encode(
            x=x, x2="end:Q", y=y, tooltip=["task_id:Q", "function:N"]
        )
        if plots.gantt_aggregated:  # a line through the row: outlines would hide the bins
            layers.append(path.mark_rule(color="black", strokeWidth=2))
        else:
            layers.append(
                path.mark_bar(height={"band": 0.8}, fillOpacity=0, stroke="black", strokeWidth=1.5)
            )
    return alt.layer(*layers).properties(
        title=alt.Title(f"Gantt timeline: {plots.label}", subtitle=subtitle),
        width=WIDTH,
        height=height,
    )


def concurrency(plots: TracePlots) -> alt.TopLevelMixin | None:
    """Tasks running over time (time-weighted mean per bin), with the worker count."""
    if plots.concurrency.height == 0:
        return None
    line = (
        alt.Chart(plots.concurrency)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("start:Q", title=TIME_AXIS),
            y=alt.Y("mean_running:Q", title="tasks running (mean per time bin)"),
            tooltip=[
                alt.Tooltip("start:Q", format=".3f"),
                alt.Tooltip("mean_running:Q", format=".2f"),
                "peak_running:Q",
            ],
        )
    )
    layers: list[Any] = [line]
    if plots.workers:
        layers.append(
            alt.Chart(pl.DataFrame({"workers": [plots.workers]}))
            .mark_rule(strokeDash=[4, 4], color="grey")
            .encode(y="workers:Q")
        )
    return alt.layer(*layers).properties(
        title=alt.Title(f"Concurrency over time: {plots.label}", subtitle="dashed: worker slots"),
        width=WIDTH,
        height=200,
    )


#: Most traces drawn as lines of their own; beyond, one line per executor summarises them.
MAX_TRACE_LINES = 12


def _cdf_lines(all_plots: Sequence[TracePlots]) -> tuple[pl.DataFrame, str]:
    """CDF points with a ``line`` column: one line per trace, or, for many traces, per
    executor (each quantile the median of its traces'), and the subtitle saying which."""
    frames = [
        p.overheads.with_columns(
            pl.lit(p.label).alias("line"), pl.lit(p.executor or "?").alias("executor")
        )
        for p in all_plots
        if p.overheads.height
    ]
    if not frames:
        return pl.DataFrame(), ""
    data = pl.concat(frames)
    if len(frames) <= MAX_TRACE_LINES:
        return data, "one line per trace"
    data = (
        data.group_by("executor", "component", "fraction")
        .agg(pl.col("seconds").median(), pl.len().alias("traces"))
        .with_columns(pl.col("executor").alias("line"))
        .sort("line", "component", "fraction")
    )
    return data, (
        f"{len(frames)} traces: one line per executor, each quantile the median of its traces'"
    )


def overhead_cdfs(all_plots: Sequence[TracePlots]) -> alt.TopLevelMixin | None:
    """Cumulative distribution of each overhead component, one line per trace (per
    executor when there are many traces), coloured by executor."""
    data, lines = _cdf_lines(all_plots)
    if data.height == 0:
        return None
    if data.height > MAX_MARKS:  # fewer quantile points per line
        step = -(-data.height // MAX_MARKS)
        data = data.filter(
            (pl.int_range(pl.len()).over("line", "component") % step == 0)
            | (pl.col("fraction") == 1.0)
        )
    data = data.with_columns(pl.col("seconds").clip(lower_bound=FLOOR_S).alias("shown"))
    chart = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("shown:Q", title="overhead (s, log scale)", scale=alt.Scale(type="log")),
            y=alt.Y("fraction:Q", title="fraction of tasks"),
            color=alt.Color("executor:N", title="executor"),
            detail="line:N",
            tooltip=[
                alt.Tooltip("line:N", title="trace"),
                "executor:N",
                alt.Tooltip("seconds:Q", format=".6f"),
                alt.Tooltip("fraction:Q", format=".2f"),
            ],
        )
        .properties(width=220, height=180)
    )
    return chart.facet(
        column=alt.Column("component:N", sort=list(COMPONENTS), title="overhead component")
    ).properties(
        title=alt.Title(
            "Scheduler overhead per task, by executor",
            subtitle=f"{lines}; values under 1 µs (or negative: clock skew) at 1 µs",
        )
    )


def _facts(summaries: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per trace: the facts the comparison figures plot."""
    return pl.DataFrame(
        [
            {
                "trace": s["label"],
                "app": s["app"] or "?",
                "executor": s["executor"] or "?",
                "workers": s["workers"],
                "makespan_s": s["makespan_s"],
                "throughput_per_s": s["throughput_per_s"],
            }
            for s in summaries
        ],
        schema={
            "trace": pl.String,
            "app": pl.String,
            "executor": pl.String,
            "workers": pl.Int64,
            "makespan_s": pl.Float64,
            "throughput_per_s": pl.Float64,
        },
    )


def makespan(summaries: Sequence[dict[str, Any]]) -> alt.TopLevelMixin | None:
    """Mean makespan by executor, one panel per app, a bar per worker count (range: the
    fastest and slowest trace)."""
    runs = _facts(summaries).filter(pl.col("makespan_s").is_not_null())
    if runs.height == 0:
        return None
    groups = runs.group_by("app", "executor", "workers").agg(
        pl.col("makespan_s").mean().alias("mean_s"),
        pl.col("makespan_s").min().alias("min_s"),
        pl.col("makespan_s").max().alias("max_s"),
        pl.len().alias("traces"),
    )
    base = alt.Chart().encode(
        x=alt.X("executor:N", title="executor"),
        xOffset=alt.XOffset("workers:N"),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("mean_s:Q", title="makespan (s)"),
        color=alt.Color("workers:N", title="workers"),
        tooltip=[
            "app:N",
            "executor:N",
            "workers:N",
            "traces:Q",
            alt.Tooltip("mean_s:Q", format=".3f"),
        ],
    )
    spread = base.mark_rule(color="black").encode(y="min_s:Q", y2="max_s:Q")
    return (
        alt.layer(bars, spread, data=groups)
        .properties(width=alt.Step(24), height=220)
        .facet(column=alt.Column("app:N", title="app"))
        .properties(title="Makespan by app and executor (bar: mean; line: min to max)")
    )


def throughput(summaries: Sequence[dict[str, Any]]) -> alt.TopLevelMixin | None:
    """Mean throughput against the number of workers, a line per executor, a panel per
    app."""
    runs = _facts(summaries).filter(
        pl.col("throughput_per_s").is_not_null() & pl.col("workers").is_not_null()
    )
    if runs.height == 0:
        return None
    groups = runs.group_by("app", "executor", "workers").agg(
        pl.col("throughput_per_s").mean(), pl.len().alias("traces")
    )
    return (
        alt.Chart(groups)
        .mark_line(point=True)
        .encode(
            x=alt.X("workers:Q", title="workers"),
            y=alt.Y("throughput_per_s:Q", title="throughput (tasks/s)"),
            color=alt.Color("executor:N", title="executor"),
            tooltip=[
                "app:N",
                "executor:N",
                "workers:Q",
                "traces:Q",
                alt.Tooltip("throughput_per_s:Q", format=".2f"),
            ],
        )
        .properties(width=260, height=220)
        .facet(column=alt.Column("app:N", title="app"))
        .properties(title="Throughput against workers")
    )


def payload(all_plots: Sequence[TracePlots]) -> alt.TopLevelMixin | None:
    """Round-trip time (dispatched to received) against payload (input + output bytes):
    sampled tasks as points, the median per power-of-two size as a line per trace (per
    executor when there are many traces)."""

    def tagged(frame: pl.DataFrame, p: TracePlots) -> pl.DataFrame:
        return frame.with_columns(
            pl.lit(p.label).alias("trace"),
            pl.lit(p.executor or "?").alias("executor"),
            pl.col("payload_bytes").clip(lower_bound=1).alias("shown_bytes"),
        )

    points = [tagged(p.payload, p) for p in all_plots if p.payload.height]
    medians = [tagged(p.payload_medians, p) for p in all_plots if p.payload_medians.height]
    if not points:
        return None
    dots_data = pl.concat(points).filter(pl.col("round_trip_s") > 0)
    if dots_data.height > MAX_MARKS // 2:  # an even sample over every trace
        dots_data = dots_data.sample(MAX_MARKS // 2, seed=0)
    lines_data = pl.concat(medians).filter(pl.col("round_trip_s") > 0)
    per = "trace"
    if len(medians) > MAX_TRACE_LINES:
        per = "executor"
        lines_data = (
            lines_data.group_by(
                "executor", (pl.col("payload_bytes") + 1).log(2).floor().alias("bin")
            )
            .agg(
                pl.col("payload_bytes").median(),
                pl.col("shown_bytes").median(),
                pl.col("round_trip_s").median(),
                pl.col("attempts").sum(),
            )
            .with_columns(pl.col("executor").alias("trace"))
            .sort("trace", "bin")
        )
    if lines_data.height > MAX_MARKS // 2:
        lines_data = lines_data.sample(MAX_MARKS // 2, seed=0).sort("trace", "shown_bytes")
    x = alt.X(
        "shown_bytes:Q",
        title="payload: input + output (bytes, log scale)",
        scale=alt.Scale(type="log"),
    )
    y = alt.Y("round_trip_s:Q", title="round-trip time (s, log scale)", scale=alt.Scale(type="log"))
    color = alt.Color("executor:N", title="executor")
    dots = (
        alt.Chart(dots_data)
        .mark_circle(opacity=0.3, size=12)
        .encode(x=x, y=y, color=color, tooltip=["trace:N", "payload_bytes:Q", "round_trip_s:Q"])
    )
    lines = (
        alt.Chart(lines_data)
        .mark_line(point=True)
        .encode(
            x=x,
            y=y,
            color=color,
            detail="trace:N",
            tooltip=["trace:N", "payload_bytes:Q", "round_trip_s:Q", "attempts:Q"],
        )
    )
    return alt.layer(dots, lines).properties(
        title=alt.Title(
            "Round-trip time against payload size",
            subtitle=f"points: sampled tasks; lines: median per power-of-two payload size, "
            f"one per {per} (empty payloads at 1 byte)",
        ),
        width=WIDTH,
        height=300,
    )
