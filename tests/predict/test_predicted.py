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
    assert spans[0] >= work.work  # one worker runs everything in turn
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
    assert metrics.total_work(tasks) == pytest.approx(work.work, rel=1e-4)
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
