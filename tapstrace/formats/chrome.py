"""Chrome Trace Event JSON (opens in https://ui.perfetto.dev and chrome://tracing): export.

Layout: a process per worker host and a thread per worker (integer pid/tid, named by
metadata events); a slice per task attempt that ran (name = function; args = task id,
source id, attempt, status, input/output bytes, error); flow arrows along DAG edges; and
a ``tasks`` counter track (pid 0) with the tasks running and, where the trace has client
times, the tasks in flight (submitted, result not yet received). A worker that ran
several tasks at once (a WfFormat machine, anchored imports) gets one lane per concurrent
task, so slices on a thread never overlap. Timestamps are microseconds since the trace's
first event; the absolute origin is in ``metadata.tapstrace.origin``.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, TextIO

import polars as pl

from tapstrace.trace.reader import Trace
from tapstrace.trace.schema import TIME_COLUMNS

COUNTER_PID = 0


def _events(trace: Trace) -> tuple[list[dict[str, Any]], int | None]:
    tasks = trace.tasks
    if tasks.height == 0:
        return [], None
    micros = {name: pl.col(name).dt.epoch("us").alias(name) for name in TIME_COLUMNS}
    rows = tasks.select(
        "task_id", "attempt", "name", "parents", "status", "error_type", "error_message",
        "worker_host", "worker_pid", "worker_id", "input_bytes", "output_bytes", "source_id",
        "warmup", *micros.values(),
    ).to_dicts()  # fmt: skip
    starts = [r[c] for r in rows for c in TIME_COLUMNS if r[c] is not None]
    if not starts:
        return [], None
    origin = min(starts)
    ran = [r for r in rows if r["started"] is not None and r["ended"] is not None]
    by_worker: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in ran:
        host = r["worker_host"] or "unknown host"
        worker = r["worker_id"] or (f"pid {r['worker_pid']}" if r["worker_pid"] else host)
        by_worker[(host, worker)].append(r)
    counter_track = {"name": "tapstrace"}
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": COUNTER_PID, "tid": 0, "args": counter_track}
    ]
    pids: dict[str, int] = {}
    next_tid: dict[int, int] = defaultdict(int)
    slices: dict[int, tuple[int, int, int]] = {}  # task id -> (pid, tid, ts) of final attempt
    for (host, worker), runs in sorted(by_worker.items()):
        if host not in pids:
            pids[host] = len(pids) + 1
            events.append({"ph": "M", "name": "process_name", "pid": pids[host], "tid": 0,
                           "args": {"name": host}})  # fmt: skip
        pid = pids[host]
        runs.sort(key=lambda r: (r["started"], r["ended"]))
        free: list[tuple[int, int]] = []  # (end, lane) of lanes in use
        lanes: list[int] = []  # tid of each lane
        for r in runs:
            if free and free[0][0] <= r["started"]:
                _, lane = heapq.heappop(free)
            else:
                lane = len(lanes)
                next_tid[pid] += 1
                lanes.append(next_tid[pid])
                name = worker if lane == 0 else f"{worker} #{lane + 1}"
                events.append({"ph": "M", "name": "thread_name", "pid": pid,
                               "tid": lanes[lane], "args": {"name": name}})  # fmt: skip
            heapq.heappush(free, (r["ended"], lane))
            tid, ts = lanes[lane], r["started"] - origin
            args = {"task_id": r["task_id"], "attempt": r["attempt"], "status": r["status"],
                    "input_bytes": r["input_bytes"], "output_bytes": r["output_bytes"]}  # fmt: skip
            if r["source_id"] is not None:
                args["source_id"] = r["source_id"]
            if r["error_type"] is not None:
                args["error"] = f"{r['error_type']}: {r['error_message']}"
            events.append({
                "ph": "X", "name": r["name"], "cat": "warmup" if r["warmup"] else "task",
                "pid": pid, "tid": tid, "ts": ts, "dur": max(0, r["ended"] - r["started"]),
                "args": args,
            })  # fmt: skip
            previous = slices.get(r["task_id"])
            if previous is None or r["attempt"] >= previous[2]:
                slices[r["task_id"]] = (pid, tid, ts)
    flow = 0
    for r in ran:
        child = slices.get(r["task_id"])
        if child is None or child[2] != r["started"] - origin:
            continue
        for p in r["parents"]:
            parent = slices.get(p)
            if parent is None:
                continue
            flow += 1
            pid, tid, ts = parent
            events.append({"ph": "s", "name": "dependency", "cat": "dataflow", "id": flow,
                           "pid": pid, "tid": tid, "ts": ts})  # fmt: skip
            pid, tid, ts = child
            events.append({"ph": "f", "bp": "e", "name": "dependency", "cat": "dataflow",
                           "id": flow, "pid": pid, "tid": tid, "ts": ts})  # fmt: skip
    events += _counter(rows, "started", "ended", "running", origin)
    if any(r["submitted"] is not None and r["received"] is not None for r in rows):
        events += _counter(rows, "submitted", "received", "in flight", origin)
    return events, origin


def _counter(
    rows: list[dict[str, Any]], begin: str, end: str, label: str, origin: int
) -> list[dict[str, Any]]:
    """A counter of the rows between ``begin`` and ``end`` at every change."""
    changes: dict[int, int] = defaultdict(int)
    for r in rows:
        if r[begin] is not None and r[end] is not None:
            changes[r[begin]] += 1
            changes[r[end]] -= 1
    level, out = 0, []
    for ts in sorted(changes):
        level += changes[ts]
        out.append({"ph": "C", "name": f"tasks {label}", "pid": COUNTER_PID, "tid": 0,
                    "ts": ts - origin, "args": {label: level}})  # fmt: skip
    return out


def write_chrome(trace: Trace, out: TextIO) -> None:
    """Write the trace as Chrome Trace Event JSON to the open text file ``out``."""
    events, origin = _events(trace)
    out.write('{"displayTimeUnit": "ms", "traceEvents": [\n')
    for i, event in enumerate(events):
        if i:
            out.write(",\n")
        out.write(json.dumps(event, separators=(",", ":")))
    facts = {
        "app": trace.app,
        "executor": trace.executor,
        "run_id": trace.metadata.get("run_id"),
        "workers": trace.metadata.get("workers"),
        "source": str(trace.path) if trace.path else None,
        "origin": None if origin is None else datetime.fromtimestamp(origin / 1e6, UTC).isoformat(),
        "origin_us": origin,
    }
    out.write('\n], "metadata": {"tapstrace": ')
    out.write(json.dumps(facts, default=str))
    out.write("}}\n")
