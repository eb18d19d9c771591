"""The executor model: what an executor costs per task, as fitted by calibration.

A small, versioned JSON file (docs/predict.md documents every field). Latencies are
empirical distributions (quantiles), because a makespan interval comes from their
spread, not from their means. Everything that depends on how many workers there are
(start-up, the scheduler's pace, latencies under contention) is measured at several
worker counts; :meth:`ExecutorModel.at` interpolates between them.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tapstrace.errors import UserError
from tapstrace.predict.kinds import KindCost

#: Where an executor runs a task whose parents have run (ExecutorModel.placement).
Placement = Literal["fifo", "locality"]
#: ``format`` of every model file, and the version this code reads and writes.
FORMAT = "tapstrace-executor-model"
MODEL_VERSION = 1
#: Values kept per distribution (its quantiles at probabilities (k + 0.5) / VALUES).
VALUES = 40
#: Share of the samples at each end that is clipped to the quantile there.
TRIM = 0.025


class ModelError(UserError):
    """A model file that cannot be used."""


class Distribution(BaseModel):
    """An empirical distribution of seconds: ``values[k]`` is its quantile at probability
    (k + 0.5) / len(values), so each value stands for an equal share of the samples and
    their mean is the distribution's mean, samples beyond the 2.5 % and 97.5 % quantiles
    counted as those; ``samples`` says how many measurements it was fitted from."""

    model_config = ConfigDict(extra="forbid")

    values: list[float] = Field(min_length=1)
    samples: int = Field(0, ge=0)

    @field_validator("values")
    @classmethod
    def _sorted(cls, values: list[float]) -> list[float]:
        if any(not math.isfinite(v) for v in values):
            raise ValueError("values must be finite numbers")
        if any(b < a for a, b in itertools.pairwise(values)):
            raise ValueError("values must not decrease")
        return values

    @classmethod
    def fixed(cls, seconds: float) -> Distribution:
        """Always ``seconds``."""
        return cls(values=[float(seconds)], samples=0)

    @classmethod
    def of(cls, samples: Sequence[float] | np.ndarray, points: int = VALUES) -> Distribution:
        """The distribution of ``samples`` (NaN ignored); empty samples give a fixed 0."""
        values = np.asarray(samples, dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return cls.fixed(0.0)
        points = max(1, min(points, values.size))
        # Winsorised at 2.5 % and 97.5 %: a calibration of a few dozen tasks on a busy
        # machine catches the odd pause of tens of ms, which would otherwise weigh on
        # every simulated task.
        low, high = np.quantile(values, [TRIM, 1 - TRIM])
        values = np.clip(values, low, high)
        q = np.quantile(values, (np.arange(points) + 0.5) / points)
        return cls(values=[float(v) for v in np.maximum.accumulate(q)], samples=int(values.size))

    @property
    def median(self) -> float:
        """The 50 % quantile."""
        return float(np.interp(0.5, self._probabilities(), self.values))

    @property
    def mean(self) -> float:
        """The mean of the values."""
        return float(np.mean(self.values))

    def _probabilities(self) -> np.ndarray:
        n = len(self.values)
        return (np.arange(n) + 0.5) / n

    def sample(self, rng: np.random.Generator | None, size: int) -> np.ndarray:
        """``size`` draws (linear between values, flat beyond the outer ones); without a
        generator, every draw is the median."""
        if len(self.values) == 1:
            return np.full(size, self.values[0])
        if rng is None:
            return np.full(size, self.median)
        return np.interp(rng.random(size), self._probabilities(), self.values)


def _blend(a: Distribution, b: Distribution, w: float) -> Distribution:
    """Quantile-wise mix (1 - w) a + w b, on a common grid."""
    if w <= 0:
        return a
    if w >= 1:
        return b
    n = max(len(a.values), len(b.values))
    grid = (np.arange(n) + 0.5) / n
    qa = np.interp(grid, a._probabilities(), a.values)
    qb = np.interp(grid, b._probabilities(), b.values)
    mixed = (1 - w) * qa + w * qb
    return Distribution(values=[float(v) for v in mixed], samples=min(a.samples, b.samples))


class WorkerFit(BaseModel):
    """Everything measured at one worker count (all times in seconds).

    Attributes:
        workers: worker slots (tasks that can run at once).
        submit: client time per submission (Engine.submit and the executor's submit).
        service: the scheduler's time between two dispatches: 1 / its throughput ceiling.
        launch: from a task's dispatch (or readiness) to its start on an idle worker.
        handoff: executors that resolve dependencies themselves (Dask, Ray, Parsl): from
            the last parent's end to the child's start, on an idle worker.
        engine: the other executors: from the last parent's result at the client to the
            child's dispatch.
        after_edges, after: ``handoff`` (``engine`` for the other executors) by the
            duration of the parent that ended last: ``after[k]`` holds for parents that
            ran between ``after_edges[k - 1]`` and ``after_edges[k]`` seconds (one more
            distribution than edges). Empty: ``handoff`` or ``engine`` whatever the
            parent ran (models fitted from a chain of equal tasks, before 1 December).
        gap: on one worker, from a task's end to the start of the next one, when that
            one was already waiting (queued at the scheduler or at the worker).
        noop_gap: the same after a task that did no work (asked to run 0 s): no
            waking up from a sleep.
        result: from a task's end to its result at the client.
        execution: how much longer than asked a task runs (a sleep's overshoot, the
            worker's wrapper); tasks asked to run 0 s do not pay it.
        startup: when each worker slot comes up, seconds after the first submission,
            sorted (a fresh executor; empty when unknown).
        spawn: executors that start workers on demand: seconds until a worker started
            alone takes its first task.
        spawn_step: ... plus this much for each other worker starting at the same time.
        input_per_byte: seconds per byte of a task's inputs (from other workers, or
            through the client).
        slot_per_input_byte: executors whose plugin declares ``inputs_at_slot`` (Parsl):
            seconds per byte of a waiting task's inputs added to its ``gap``: what moving them costs
            once its slot is free, which no waiting hides (Parsl's interchange sends a
            task to a worker only then). 0: not measured.
        slot_per_output_byte: ... and per byte of the slot's previous task's output
            (which leaves the worker before the next task starts).
        work_service: the scheduler's seconds per dispatch of tasks that do some work
            (the calibration's ``short`` bag); ``service`` is its pace for no-op tasks.
            0: not measured, ``service`` for every task.
    """

    model_config = ConfigDict(extra="forbid")

    workers: int = Field(ge=1)
    submit: Distribution
    service: float = Field(ge=0)
    launch: Distribution
    handoff: Distribution
    engine: Distribution
    after_edges: list[float] = Field(default_factory=list)
    after: list[Distribution] = Field(default_factory=list)
    gap: Distribution
    noop_gap: Distribution
    result: Distribution
    execution: Distribution = Field(default_factory=lambda: Distribution.fixed(0.0))
    startup: list[float] = Field(default_factory=list)
    spawn: float = Field(0.0, ge=0)
    spawn_step: float = Field(0.0, ge=0)
    input_per_byte: float = Field(0.0, ge=0)
    slot_per_input_byte: float = Field(0.0, ge=0)
    slot_per_output_byte: float = Field(0.0, ge=0)
    work_service: float = Field(0.0, ge=0)
    #: Load average (1 min) of the machine while this was measured, when known.
    load: float | None = None

    @model_validator(mode="after")
    def _bins(self) -> WorkerFit:
        if self.after and len(self.after) != len(self.after_edges) + 1:
            raise ValueError("after: one distribution more than after_edges")
        if self.after_edges and not self.after:
            raise ValueError("after_edges without after")
        if any(b <= a for a, b in itertools.pairwise(self.after_edges)):
            raise ValueError("after_edges must increase")
        return self


_DISTRIBUTIONS = ("submit", "launch", "handoff", "engine", "gap", "noop_gap", "result", "execution")


def _interpolate(a: WorkerFit, b: WorkerFit, workers: int) -> WorkerFit:
    """The fit at ``workers`` between a.workers and b.workers (linear in log2 workers)."""
    if a.workers == b.workers:
        w = 0.0
    else:
        w = (math.log2(workers) - math.log2(a.workers)) / (
            math.log2(b.workers) - math.log2(a.workers)
        )
    values: dict[str, Any] = {
        name: _blend(getattr(a, name), getattr(b, name), w) for name in _DISTRIBUTIONS
    }
    for name in (
        "service", "spawn", "spawn_step", "input_per_byte", "slot_per_input_byte",
        "slot_per_output_byte",
    ):  # fmt: skip
        values[name] = (1 - w) * getattr(a, name) + w * getattr(b, name)
    if a.work_service and b.work_service:
        values["work_service"] = (1 - w) * a.work_service + w * b.work_service
    elif w >= 1 or w <= 0:  # at a calibrated count: its own (0 where not measured)
        values["work_service"] = (b if w >= 1 else a).work_service
    # else between a count that measured it and one that did not: unknown (0)
    values["after_edges"], values["after"] = _blend_after(a, b, w)
    values["startup"] = _blend_startup(a.startup, b.startup, w, workers)
    return WorkerFit(workers=workers, **values)


def _blend_after(a: WorkerFit, b: WorkerFit, w: float) -> tuple[list[float], list[Distribution]]:
    """The by-parent-duration latencies between two fits: bin by bin where both have the
    same bins (one calibration design), else the nearer fit's."""
    if len(a.after) == len(b.after):
        edges = [(1 - w) * x + w * y for x, y in zip(a.after_edges, b.after_edges, strict=True)]
        return edges, [_blend(x, y, w) for x, y in zip(a.after, b.after, strict=True)]
    near = a if w < 0.5 else b
    return list(near.after_edges), list(near.after)


def _resample(offsets: list[float], workers: int) -> list[float]:
    """Start-up offsets of ``workers`` slots from a sorted curve measured on fewer or
    more slots (read at the same relative rank)."""
    if not offsets:
        return []
    if len(offsets) == 1:
        return [offsets[0]] * workers
    ranks = (np.arange(workers) + 0.5) / workers
    known = (np.arange(len(offsets)) + 0.5) / len(offsets)
    return [float(v) for v in np.interp(ranks, known, offsets)]


def _blend_startup(a: list[float], b: list[float], w: float, workers: int) -> list[float]:
    if not a or not b:
        return _resample(a or b, workers)
    ra, rb = np.array(_resample(a, workers)), np.array(_resample(b, workers))
    return [float(v) for v in (1 - w) * ra + w * rb]


class ExecutorModel(BaseModel):
    """A fitted executor model (docs/predict.md).

    Attributes:
        executor: the executor's registry name; ``params`` its configuration.
        native_dependencies: the executor resolves dependencies itself (data moves
            worker to worker; a child waits for its parents' ends, not their results).
        on_demand: the executor starts a worker when a task finds none idle (process
            pools, Ray) rather than all of them at once (Dask, Parsl).
        seconds_per_output_byte: execution time per byte the task returns (making and
            serialising the payload on the worker).
        seconds_per_result_byte: the client's time per byte of a result it receives
            (it takes results one at a time).
        kind_costs: seconds per byte of making, pickling and unpickling each payload
            kind (bytes, array, object, mapping) on the machine that fitted the model;
            the simulator prices what a kind costs beyond bytes (tapstrace.predict.kinds).
            Empty in models fitted before it was measured: every kind priced as bytes.
        placement: where the executor runs a task whose parents have run: ``fifo``, on
            the next free worker; ``locality`` (Dask), on the worker holding its
            inputs where it would start soonest by the scheduler's own estimate
            (queued work at each task name's running mean duration, plus the bytes
            to fetch at ``bandwidth``), even if that worker is busy.
        bandwidth: the bytes per second the executor assumes when it places by
            locality (Dask's ``distributed.scheduler.bandwidth``).
        fits: one WorkerFit per calibrated worker count, by workers.
    """

    model_config = ConfigDict(extra="forbid")

    format: Literal["tapstrace-executor-model"] = "tapstrace-executor-model"
    version: Literal[1] = 1
    executor: str
    params: dict[str, Any] = Field(default_factory=dict)
    native_dependencies: bool = False
    on_demand: bool = False
    seconds_per_output_byte: float = Field(0.0, ge=0)
    seconds_per_result_byte: float = Field(0.0, ge=0)
    kind_costs: dict[str, KindCost] = Field(default_factory=dict)
    placement: Placement = "fifo"
    bandwidth: float = Field(1e8, gt=0)
    fits: list[WorkerFit] = Field(min_length=1)
    #: Where it came from: {"kind": "calibration" | "traces", "traces": [...], ...}.
    source: dict[str, Any] = Field(default_factory=dict)
    created: str | None = None
    host: str | None = None
    cpu_count: int | None = None
    tapstrace_version: str | None = None

    @field_validator("fits")
    @classmethod
    def _by_workers(cls, fits: list[WorkerFit]) -> list[WorkerFit]:
        fits = sorted(fits, key=lambda f: f.workers)
        counts = [f.workers for f in fits]
        if len(set(counts)) < len(counts):
            raise ValueError("two fits for the same worker count")
        return fits

    @property
    def workers(self) -> list[int]:
        """The calibrated worker counts."""
        return [f.workers for f in self.fits]

    def at(self, workers: int) -> WorkerFit:
        """The parameters at ``workers`` slots: interpolated between the calibrated counts
        around it; beyond them, the nearest calibrated count's (start-up read at the same
        relative rank of the slots)."""
        if workers < 1:
            raise ValueError("workers must be at least 1")
        fits = self.fits
        if workers <= fits[0].workers:
            return _interpolate(fits[0], fits[0], workers)
        if workers >= fits[-1].workers:
            return _interpolate(fits[-1], fits[-1], workers)
        for lower, upper in itertools.pairwise(fits):
            if lower.workers <= workers <= upper.workers:
                return _interpolate(lower, upper, workers)
        raise AssertionError("unreachable")

    def label(self) -> str:
        """A short description: executor, calibrated worker counts, source."""
        kind = self.source.get("kind", "?")
        counts = ",".join(str(w) for w in self.workers)
        return f"{self.executor} (workers {counts}; {kind})"

    # -- files ------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model as indented JSON."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(self.model_dump(mode="json"), indent=1) + "\n")
        tmp.replace(target)
        return target

    @classmethod
    def load(cls, path: str | Path) -> ExecutorModel:
        """Read a model file; a bad one raises a ModelError naming the file and field."""
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except FileNotFoundError:
            raise ModelError(f"{p}: no such model file") from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"{p}: not a JSON model file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"{p}: not a tapstrace executor model (format is not {FORMAT!r})")
        if data.get("version") != MODEL_VERSION:
            raise ModelError(
                f"{p}: model version {data.get('version')!r}; this tapstrace reads "
                f"version {MODEL_VERSION} (calibrate again)"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise ModelError(f"{p}: {where}: {error['msg']}") from None
