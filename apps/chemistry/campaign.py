"""The active-learning loop shared by docking and moldesign.

A random first batch is simulated; then, round after round, a surrogate is trained on
every result so far, run as parallel inference tasks over the molecules not yet
simulated, and the best predicted ones are simulated next. Each step is a task: the
campaign is a dynamic task graph whose shape depends on the results.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tapstrace.apps.chemistry.surrogate import Model, predict, train_surrogate
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture

log = logging.getLogger(__name__)

#: Submits the simulation of one molecule; the future's value is its score.
Simulate = Callable[[Engine, str], TaskFuture]


@dataclass
class Result:
    """One simulated molecule."""

    smiles: str
    value: float | None  # None: the simulation failed
    round: int  # 0 for the random first batch
    predicted: float | None  # the surrogate's prediction that chose it
    error: str | None = None


@dataclass
class Campaign:
    """Parameters of a campaign; ``maximize`` says which end of the score is good."""

    initial: int
    batch_size: int
    rounds: int
    inference_chunks: int
    model: Model
    seed: int
    maximize: bool
    threads: int = 1

    def run(self, engine: Engine, space: list[str], simulate: Simulate) -> list[Result]:
        """Run every round; returns one Result per simulated molecule, in order."""
        rng = np.random.default_rng(self.seed)
        first = rng.choice(len(space), min(self.initial, len(space)), replace=False)
        batch: list[tuple[str, float | None]] = [(space[i], None) for i in sorted(first)]
        results: list[Result] = []
        done: set[str] = set()
        for round_ in range(self.rounds + 1):
            if not batch:
                break
            results += self._simulate(engine, batch, round_, simulate)
            done.update(smiles for smiles, _ in batch)
            if round_ == self.rounds:
                break
            batch = self._choose(engine, results, [s for s in space if s not in done])
        return results

    def _simulate(
        self,
        engine: Engine,
        batch: list[tuple[str, float | None]],
        round_: int,
        simulate: Simulate,
    ) -> list[Result]:
        futures = [simulate(engine, smiles) for smiles, _ in batch]
        engine.wait(futures)
        out = []
        for (smiles, predicted), future in zip(batch, futures, strict=True):
            error = None if future.cancelled() else future.exception()
            if future.cancelled() or error is not None:
                log.warning("simulation of %s failed: %s", smiles, error or "cancelled")
                out.append(Result(smiles, None, round_, predicted, str(error or "cancelled")))
            else:
                out.append(Result(smiles, float(future.result()), round_, predicted))
        best = [r.value for r in out if r.value is not None]
        log.info(
            "round %d: %d simulated, %d ok, best of the round %s",
            round_,
            len(out),
            len(best),
            (max(best) if self.maximize else min(best)) if best else None,
        )
        return out

    def _choose(
        self, engine: Engine, results: list[Result], candidates: list[str]
    ) -> list[tuple[str, float | None]]:
        """Train on ``results``, predict ``candidates`` in parallel, keep the best."""
        known = [r for r in results if r.value is not None]
        if not candidates:
            return []
        if len(known) < 2:  # nothing to learn from yet: explore at random
            rng = np.random.default_rng(self.seed + len(results))
            pick = rng.choice(len(candidates), min(self.batch_size, len(candidates)), False)
            return [(candidates[i], None) for i in sorted(pick)]
        model = engine.submit(
            train_surrogate,
            [r.smiles for r in known],
            [r.value for r in known],
            self.model,
            self.seed,
            self.threads,
        )
        size = math.ceil(len(candidates) / max(1, self.inference_chunks))
        chunks = [candidates[i : i + size] for i in range(0, len(candidates), size)]
        parts: list[Any] = [engine.submit(predict, model, chunk, self.threads) for chunk in chunks]
        predictions = np.concatenate([np.asarray(p.result(), dtype=float) for p in parts])
        with engine.client_phase("choose next batch"):
            order = np.argsort(-predictions if self.maximize else predictions, kind="stable")
            return [(candidates[i], float(predictions[i])) for i in order[: self.batch_size]]
