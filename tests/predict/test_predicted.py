"""Predictions on real traces, and predicted schedules written as traces that the
analyses read like any other."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapstrace.analysis import metrics
from tapstrace.formats.save import save
from tapstrace.predict.predicted import predicted_trace
from tapstrace.predict.prediction import predict
from tapstrace.predict.workload import from_trace
from tapstrace.trace.reader import read_trace
from tests.predict.builders import fixed_model

ROOT = Path(__file__).resolve().parents[2]


def test_a_shipped_trace_on_more_workers(tmp_path: Path) -> None:
    trace = read_trace(ROOT / "traces" / "cholesky.arrow", warn=False)
    work = from_trace(trace)
    model = fixed_model(workers=1, launch=0.001, result=0.001, gap=0.0005)
    spans = [predict(work, model, n, samples=2).makespan for n in (1, 2, 4, 8)]
    assert spans == sorted(spans, reverse=True)  # more workers never slower here
    path = metrics.critical_path(metrics.prepare(trace)).length_s
    # One worker runs everything in turn, importing each function's modules once (the
    # source's two workers imported SciPy twice).
    once = work.work - work.import_cpu.sum() + sum(work.import_cost.values())
    assert work.import_cpu.sum() > sum(work.import_cost.values()) > 0
    assert spans[0] >= once
    assert spans[-1] >= path  # nothing beats the critical path
    p = predict(work, model, 4, samples=3)
    predicted = predicted_trace(work, p, model, source={"app": "cholesky"})
    written = save(predicted, tmp_path / "predicted.arrow", "arrow")
    again = read_trace(written)
    assert again.tasks.height == len(work)
    assert again.metadata["predicted"]["workers"] == 4
    assert again.executor == "paper-predicted" and again.app == "cholesky"
    tasks = metrics.prepare(again)
    assert metrics.makespan(tasks) == pytest.approx(p.makespan, abs=1e-5)
    # The schedule's execution times, first-use imports on each of the 4 workers included.
    ran = (p.schedule.ended - p.schedule.started)[p.schedule.first :].sum()
    assert metrics.total_work(tasks) == pytest.approx(float(ran), rel=1e-4)
    assert ran > work.work - work.import_cpu.sum()
    assert metrics.workers(tasks) == (4, "metadata")
    assert tasks.final["worker"].n_unique() == 4


def test_failures_stay_failures() -> None:
    trace = read_trace(ROOT / "traces" / "failures.arrow", warn=False)
    work = from_trace(trace)
    p = predict(work, fixed_model(workers=2), 2, samples=1)
    predicted = predicted_trace(work, p, fixed_model(workers=2))
    counts = metrics.status_counts(metrics.prepare(predicted))
    source = metrics.status_counts(metrics.prepare(trace))
    assert counts == source


def test_recorded_client_flow_paces_the_prediction(tmp_path: Path) -> None:
    """A client that keeps 4 tasks in flight (waiting for one before the next) on 8
    workers: the recorded control flow holds the prediction to 4 at a time."""
    import concurrent.futures

    from tapstrace.engine.engine import Engine
    from tapstrace.engine.executor import PoolExecutor
    from tapstrace.trace.writer import TraceWriter
    from tests.tasks import sleep

    path = tmp_path / "inflight.arrow"
    with (
        TraceWriter(path) as writer,
        Engine(PoolExecutor(concurrent.futures.ThreadPoolExecutor(8)), recorder=writer) as engine,
    ):
        pending: set[concurrent.futures.Future[object]] = set()
        for _ in range(24):
            if len(pending) >= 4:
                _, left = engine.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                pending = set(left)
            pending.add(engine.submit(sleep, 0.05))
        engine.wait(pending)
    trace = read_trace(path)
    assert trace.tasks["control_parents"].list.len().sum() >= 20
    model = fixed_model(workers=8)
    paced = predict(from_trace(trace), model, 8, samples=1)
    assert paced.makespan >= 6 * 0.05  # 24 tasks, 4 at a time
    free = predict(from_trace(trace, client_flow="none"), model, 8, samples=1)
    assert free.makespan < 4 * 0.05 + 0.05  # 24 tasks, 8 at a time
