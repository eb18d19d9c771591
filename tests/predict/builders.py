"""Workloads and models built by hand, for checking the simulator against schedules
worked out on paper."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapstrace.predict.model import Distribution, ExecutorModel, WorkerFit
from tapstrace.predict.workload import Workload, from_plan
from tapstrace.replay.plan import synthetic_plan


def workload(
    durations: list[float],
    parents: list[list[int]] | None = None,
    *,
    outputs: list[int] | None = None,
    control: list[list[int]] | None = None,
    client: list[float] | None = None,
    busy: list[float] | None = None,
) -> Workload:
    """A workload of tasks t0, t1, ... with these durations and data parents."""
    n = len(durations)
    plan = synthetic_plan(
        [f"t{i}" for i in range(n)], durations, parents or [[] for _ in range(n)], outputs
    )
    work = from_plan(plan)
    if control is not None:
        work.control = control
        work.client = np.array(client or [0.0] * n)
        work.busy = np.array(busy or [0.0] * n)
        work.flow = "recorded"
    return work


def fixed_model(
    *,
    native: bool = False,
    workers: int = 1,
    submit: float = 0.0,
    service: float = 0.0,
    launch: float = 0.0,
    handoff: float = 0.0,
    engine: float = 0.0,
    gap: float = 0.0,
    noop_gap: float | None = None,
    result: float = 0.0,
    startup: list[float] | None = None,
    execution: float = 0.0,
    spawn: float = 0.0,
    spawn_step: float = 0.0,
    input_per_byte: float = 0.0,
    slot_per_input_byte: float = 0.0,
    slot_per_output_byte: float = 0.0,
    **extra: Any,
) -> ExecutorModel:
    """A model whose latencies are constants, at one worker count."""
    fit = WorkerFit(
        workers=workers,
        submit=Distribution.fixed(submit),
        service=service,
        launch=Distribution.fixed(launch),
        handoff=Distribution.fixed(handoff),
        engine=Distribution.fixed(engine),
        gap=Distribution.fixed(gap),
        noop_gap=Distribution.fixed(gap if noop_gap is None else noop_gap),
        result=Distribution.fixed(result),
        execution=Distribution.fixed(execution),
        startup=startup or [],
        spawn=spawn,
        spawn_step=spawn_step,
        input_per_byte=input_per_byte,
        slot_per_input_byte=slot_per_input_byte,
        slot_per_output_byte=slot_per_output_byte,
    )
    return ExecutorModel(executor="paper", native_dependencies=native, fits=[fit], **extra)
