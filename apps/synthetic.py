"""Synthetic workloads: task graphs of chosen shape, duration and data size.

For measuring executors themselves: the task does nothing but sleep (or spin the CPU)
for a drawn duration and return a payload of a drawn size. Deterministic for a seed.
The task is in tapstrace.apps.synthetic_task (re-exported here), so that workers do not
import this module's numpy and pydantic to run it.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import FIRST_COMPLETED
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from tapstrace.apps.synthetic_task import synthetic_task
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture
from tapstrace.plugins.config import App, AppConfig
from tapstrace.plugins.registry import register
from tapstrace.replay.task import occupy

log = logging.getLogger(__name__)

Distribution = Literal["constant", "normal", "exponential", "lognormal"]


def draw(
    rng: np.random.Generator, distribution: Distribution, mean: float, std: float, n: int
) -> np.ndarray:
    """``n`` non-negative samples with the given mean (and std where it applies)."""
    if n == 0:
        return np.zeros(0)
    if distribution == "constant" or mean == 0:
        values = np.full(n, float(mean))
    elif distribution == "normal":
        values = rng.normal(mean, std, n)
    elif distribution == "exponential":
        values = rng.exponential(mean, n)
    else:  # lognormal with the requested mean and standard deviation
        sigma2 = math.log1p((std / mean) ** 2)
        values = rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), n)
    return np.clip(values, 0.0, None)


@register("app")
class SyntheticConfig(AppConfig):
    """Synthetic task graphs: bag, diamond, reduce, sequential or a random layered DAG."""

    name: ClassVar[str] = "synthetic"

    structure: Literal["bag", "diamond", "reduce", "sequential", "random", "rounds"] = Field(
        "bag",
        description="Graph shape: bag (independent tasks), diamond (1 -> tasks -> 1), "
        "reduce (tasks -> 1), sequential (a chain), random (layered DAG: width x depth), "
        "rounds (a TaPS-style client: depth rounds of width tasks; after each round the "
        "client waits for it and works client-seconds before the next).",
    )
    tasks: int = Field(
        200, ge=1, description="Tasks (bag, sequential; the fan of diamond, reduce)."
    )
    max_in_flight: int | None = Field(
        None, ge=1, description="bag: most tasks submitted and not finished at once."
    )
    width: int = Field(16, ge=1, description="random, rounds: tasks per layer or round.")
    depth: int = Field(8, ge=1, description="random, rounds: number of layers or rounds.")
    client_seconds: float = Field(
        0.0, ge=0, le=3600, description="rounds: client work after each round, in seconds."
    )
    client_mode: Literal["sleep", "spin"] = Field(
        "spin", description="rounds: the client's work sleeps or spins its CPU."
    )
    edge_probability: float = Field(
        0.2, ge=0, le=1, description="random: chance of an edge from each task of the layer above."
    )
    duration: Distribution = Field("constant", description="Distribution of task durations.")
    mean_seconds: float = Field(0.02, ge=0, description="Mean task duration in seconds.")
    std_seconds: float = Field(0.0, ge=0, description="Std of task durations (normal, lognormal).")
    mode: Literal["sleep", "spin"] = Field(
        "sleep", description="sleep (no CPU) or spin (busy CPU, for contention studies)."
    )
    output_bytes: int = Field(0, ge=0, description="Mean bytes each task returns.")
    output_distribution: Distribution = Field(
        "constant", description="Distribution of output sizes."
    )
    output_std_bytes: float = Field(0.0, ge=0, description="Std of output sizes.")
    warmup_tasks: int = Field(
        0, ge=0, description="Tasks run first, flagged as warm-up in the trace, to start workers."
    )
    seed: int = Field(0, description="Random seed: the same seed gives the same graph.")

    def build(self) -> SyntheticApp:
        return SyntheticApp(self)


class SyntheticApp(App):
    """Submits the configured graph and waits for it."""

    def __init__(self, config: SyntheticConfig) -> None:
        self.config = config
        self.rng = np.random.default_rng(config.seed)

    def _sizes(self, n: int) -> tuple[list[float], list[int]]:
        c = self.config
        durations = draw(self.rng, c.duration, c.mean_seconds, c.std_seconds, n)
        sizes = draw(self.rng, c.output_distribution, c.output_bytes, c.output_std_bytes, n)
        return durations.tolist(), np.rint(sizes).astype(np.int64).tolist()

    def run(self, engine: Engine, run_dir: Path) -> None:
        c = self.config
        if c.warmup_tasks:
            with engine.warmup():
                warm = [
                    engine.submit(synthetic_task, 0.0, "sleep", 0) for _ in range(c.warmup_tasks)
                ]
                engine.wait(warm)
        start = time.perf_counter()
        futures = getattr(self, f"_{c.structure}")(engine)
        done, _ = engine.wait(futures)
        failed = sum(1 for f in done if f.cancelled() or f.exception() is not None)
        log.info(
            "synthetic %s: %d tasks in %.3f s (%d failed)",
            c.structure,
            len(futures),
            time.perf_counter() - start,
            failed,
        )

    def _task(self, engine: Engine, duration: float, size: int, *inputs: Any) -> TaskFuture:
        return engine.submit(synthetic_task, duration, self.config.mode, size, *inputs)

    def _bag(self, engine: Engine) -> list[TaskFuture]:
        c = self.config
        durations, sizes = self._sizes(c.tasks)
        limit = c.max_in_flight or c.tasks
        futures: list[TaskFuture] = []
        in_flight: set[TaskFuture] = set()
        for duration, size in zip(durations, sizes, strict=True):
            if len(in_flight) >= limit:
                _, pending = engine.wait(in_flight, return_when=FIRST_COMPLETED)
                in_flight = set(pending)  # type: ignore[arg-type]
            future = self._task(engine, duration, size)
            in_flight.add(future)
            futures.append(future)
        return futures

    def _sequential(self, engine: Engine) -> list[TaskFuture]:
        durations, sizes = self._sizes(self.config.tasks)
        futures: list[TaskFuture] = []
        for duration, size in zip(durations, sizes, strict=True):
            futures.append(self._task(engine, duration, size, *futures[-1:]))
        return futures

    def _reduce(self, engine: Engine) -> list[TaskFuture]:
        durations, sizes = self._sizes(self.config.tasks + 1)
        fan = [self._task(engine, d, s) for d, s in zip(durations[:-1], sizes[:-1], strict=True)]
        return [*fan, self._task(engine, durations[-1], sizes[-1], *fan)]

    def _diamond(self, engine: Engine) -> list[TaskFuture]:
        durations, sizes = self._sizes(self.config.tasks + 2)
        source = self._task(engine, durations[0], sizes[0])
        fan = [
            self._task(engine, d, s, source)
            for d, s in zip(durations[1:-1], sizes[1:-1], strict=True)
        ]
        return [source, *fan, self._task(engine, durations[-1], sizes[-1], *fan)]

    def _rounds(self, engine: Engine) -> list[TaskFuture]:
        """Rounds of independent tasks; the client waits for each round (as_completed in
        odd rounds, wait in even ones), then works before submitting the next."""
        c = self.config
        durations, sizes = self._sizes(c.width * c.depth)
        futures: list[TaskFuture] = []
        for layer in range(c.depth):
            batch = [
                self._task(engine, durations[k], sizes[k])
                for k in range(layer * c.width, (layer + 1) * c.width)
            ]
            futures.extend(batch)
            if layer == c.depth - 1:
                break
            if layer % 2:
                for future in engine.as_completed(batch):
                    future.result()
            else:
                engine.wait(batch)
            with engine.client_phase("plan next round"):
                occupy(c.client_seconds, c.client_mode)
        return futures

    def _random(self, engine: Engine) -> list[TaskFuture]:
        c = self.config
        durations, sizes = self._sizes(c.width * c.depth)
        futures: list[TaskFuture] = []
        previous: list[TaskFuture] = []
        for layer in range(c.depth):
            current = []
            for i in range(c.width):
                k = layer * c.width + i
                parents: list[TaskFuture] = []
                if previous:
                    mask = self.rng.random(len(previous)) < c.edge_probability
                    if not mask.any():  # every task below the top has a parent
                        mask[self.rng.integers(len(previous))] = True
                    parents = [p for p, keep in zip(previous, mask, strict=True) if keep]
                current.append(self._task(engine, durations[k], sizes[k], *parents))
            futures.extend(current)
            previous = current
        return futures
