"""The client's side of a run: the phases the app marked, and its busy and blocked time.

A trace of schema 1.2 records, for each submission, the client's time since its previous
submission not counting waits on tasks (``client_busy_seconds``) and its time since it
last saw a result (``client_seconds``). Between two submissions the client therefore
worked ``busy - client_seconds`` after the first, was blocked on results, then worked
``client_seconds`` up to the second. Client phases (``with engine.client_phase(...)``)
are rows of kind "client" with their own start and end. Older traces record neither:
their client is "not recorded", never zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from tapstrace.analysis.graph import flow_dag
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

#: Most client segments drawn; shorter ones are dropped beyond (the subtitle says so).
MAX_SEGMENTS = 2000

SEGMENT_SCHEMA = {"lane": pl.String, "state": pl.String, "start": pl.Float64, "end": pl.Float64}


def client_segments(trace: Trace | Tasks) -> pl.DataFrame:
    """The client's timeline: lane ("client" or "phases"), state ("busy", "blocked" or
    the phase's name), start and end (seconds since the trace's origin), by start.

    Adjacent segments of the same state are merged; empty when nothing is recorded.
    """
    tasks = as_tasks(trace)
    return tasks.cached("client_segments", lambda: _segments(tasks))


def _segments(tasks: Tasks) -> pl.DataFrame:
    frames = []
    if tasks.client.height:
        frames.append(
            tasks.client.select(
                pl.lit("phases").alias("lane"),
                pl.col("name").alias("state"),
                "start",
                pl.coalesce("end", "start").alias("end"),
            )
        )
    if tasks.client_recorded and tasks.final.height > 1:
        frames.append(_busy_blocked(tasks))
    if not frames:
        return pl.DataFrame(schema=SEGMENT_SCHEMA)
    return pl.concat(frames, how="vertical_relaxed").sort("lane", "start")


def _busy_blocked(tasks: Tasks) -> pl.DataFrame:
    subs = (
        tasks.final.select("submitted", "client_seconds", "client_busy_seconds")
        .drop_nulls("submitted")
        .sort("submitted")
    )
    previous = pl.col("submitted").shift(1)
    gap = pl.col("submitted") - previous
    after = pl.min_horizontal(pl.col("client_seconds").fill_null(0.0), gap).clip(lower_bound=0.0)
    work = pl.col("client_busy_seconds").fill_null(0.0) - pl.col("client_seconds").fill_null(0.0)
    before = pl.min_horizontal(work, gap - after).clip(lower_bound=0.0)
    parts = subs.select(
        previous.alias("s0"), pl.col("submitted").alias("s1"), after.alias("a"), before.alias("b")
    ).drop_nulls("s0")
    edges = {  # each gap: busy, then blocked on results, then busy up to the submission
        "busy_before": (pl.col("s0"), pl.col("s0") + pl.col("b")),
        "blocked": (pl.col("s0") + pl.col("b"), pl.col("s1") - pl.col("a")),
        "busy_after": (pl.col("s1") - pl.col("a"), pl.col("s1")),
    }
    segments = pl.concat(
        [
            parts.select(
                pl.lit(state.split("_")[0]).alias("state"), lo.alias("start"), hi.alias("end")
            )
            for state, (lo, hi) in edges.items()
        ]
    ).filter(pl.col("end") > pl.col("start"))
    merged = (
        segments.sort("start", "end")
        .with_columns(
            (
                (pl.col("state") != pl.col("state").shift(1))
                | (pl.col("start") > pl.col("end").shift(1) + 1e-9)
            )
            .fill_null(True)
            .cum_sum()
            .alias("run")
        )
        .group_by("run", maintain_order=True)
        .agg(pl.col("state").first(), pl.col("start").min(), pl.col("end").max())
        .select(pl.lit("client").alias("lane"), "state", "start", "end")
    )
    if merged.height > MAX_SEGMENTS:
        length = (merged["end"] - merged["start"]).to_numpy()
        cut = np.sort(length)[-MAX_SEGMENTS]
        merged = merged.filter(pl.Series(length >= cut))
    return merged


def client_summary(trace: Trace | Tasks) -> dict[str, Any]:
    """The client in numbers (seconds): whether it was recorded, time busy between
    submissions, blocked on results, its CPU time, the control edges, and each marked
    phase's total time."""
    tasks = as_tasks(trace)
    phases = (
        tasks.client.group_by("name", maintain_order=True)
        .agg((pl.col("end") - pl.col("start")).sum().alias("seconds"), pl.len().alias("n"))
        .to_dicts()
        if tasks.client.height
        else []
    )
    if not tasks.client_recorded:
        return {"recorded": False, "phases": phases}
    segments = client_segments(tasks).filter(pl.col("lane") == "client")
    totals = dict(
        segments.group_by("state").agg((pl.col("end") - pl.col("start")).sum()).iter_rows()
    )
    final = tasks.final
    return {
        "recorded": True,
        "busy_s": float(final["client_busy_seconds"].sum() or 0.0),
        "blocked_s": float(totals.get("blocked", 0.0)),
        "cpu_s": float(final["client_cpu_seconds"].sum() or 0.0),
        "control_edges": flow_dag(tasks).control,
        "waits": int((final["control_parents"].list.len() > 0).sum()),
        "phases": phases,
    }
