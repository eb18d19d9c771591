"""Predictions: a workload simulated on a model at one or more worker counts.

The makespan's interval comes from repeating the simulation with latencies drawn afresh
(``samples`` runs, seeded): the prediction is their median, the interval their range.
The schedule of the median run is kept, to be written as a trace.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tapstrace.predict.model import ExecutorModel
from tapstrace.predict.simulate import Parameters, Schedule, simulate
from tapstrace.predict.workload import Workload


@dataclass
class Prediction:
    """The predicted run of a workload on ``workers`` slots of a modelled executor."""

    workers: int
    makespans: list[float]
    schedule: Schedule
    work: float
    seconds: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def makespan(self) -> float:
        """The median of the sampled makespans, seconds."""
        return float(statistics.median(self.makespans))

    @property
    def interval(self) -> tuple[float, float]:
        """The lowest and highest sampled makespans, seconds."""
        return min(self.makespans), max(self.makespans)

    @property
    def utilisation(self) -> float | None:
        """Work / (makespan x workers): the share of the slots' time spent executing."""
        span = self.makespan
        return self.work / (span * self.workers) if span > 0 else None

    @property
    def throughput(self) -> float | None:
        """Tasks completed per second of makespan."""
        s = self.schedule
        done = int((s.status[s.first :] == 0).sum())
        return done / self.makespan if self.makespan > 0 else None

    @property
    def client(self) -> dict[str, float]:
        """The client's share: from the first to the last submission (``span_s``), the
        seconds it spent submitting and working (``busy_s``) and waiting for results."""
        s = self.schedule
        span = float(s.submitted[s.first :].max()) - s.origin if s.first < len(s.submitted) else 0.0
        return {
            "span_s": span,
            "busy_s": s.client_busy,
            "waiting_s": max(0.0, span - s.client_busy),
            "share_of_makespan": span / self.makespan if self.makespan > 0 else 0.0,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (no per-task data)."""
        low, high = self.interval
        return {
            "workers": self.workers,
            "makespan_s": self.makespan,
            "makespan_low_s": low,
            "makespan_high_s": high,
            "samples": self.makespans,
            "work_s": self.work,
            "utilisation": self.utilisation,
            "throughput_per_s": self.throughput,
            "simulation_seconds": self.seconds,
            "client": self.client,
            **self.facts,
        }


def predict(
    workload: Workload,
    model: ExecutorModel,
    workers: int,
    *,
    samples: int = 5,
    seed: int = 0,
    warm: bool = False,
    cores: float | None = None,
) -> Prediction:
    """Simulate ``workload`` on ``model`` with ``workers`` slots, ``samples`` times.

    ``warm``: the executor's workers are up before the first submission (no start-up);
    ``cores``: the CPUs the workers' first-use imports share (None: the model's
    machine's; 0: one per worker).
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    params = Parameters.of(model, workers, warm=warm, cores=cores)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    schedules = [simulate(workload, params, rng) for _ in range(samples)]
    seconds = time.perf_counter() - t0
    spans = [s.makespan for s in schedules]
    middle = sorted(range(samples), key=lambda k: spans[k])[(samples - 1) // 2]
    return Prediction(
        workers=workers,
        makespans=spans,
        schedule=schedules[middle],
        work=workload.work,
        seconds=seconds,
        facts={
            "startup_s": max(params.startup, default=0.0),
            "warm": warm,
            "cores": params.cores,
        },
    )
