"""Federated averaging (FedAvg) of a small numpy classifier over non-IID clients.

Each round, a seeded random fraction of the clients trains the global model on its own
data (``local_train`` tasks), an ``aggregate`` task averages their parameters weighted by
sample counts, and an ``evaluate`` task measures test accuracy. Round r+1's training
tasks take round r's aggregate as an argument, so the client submits every round at once
and the executor runs the graph as data arrives: no waiting in the client between rounds.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from tapstrace.apps.fedlearn.data import (
    Dataset,
    dirichlet_split,
    load_digits_dataset,
    load_npz,
    train_test_split,
)
from tapstrace.apps.fedlearn.model import init_params
from tapstrace.apps.fedlearn.tasks import aggregate, evaluate, local_train
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture
from tapstrace.plugins.config import App, AppConfig
from tapstrace.plugins.registry import register

log = logging.getLogger(__name__)

CSV_COLUMNS = ["round", "accuracy", "test_loss", "train_loss", "clients", "samples", "steps"]


@register("app")
class FedLearnConfig(AppConfig):
    """Federated averaging of a numpy MLP over Dirichlet non-IID clients (digits data)."""

    name: ClassVar[str] = "fedlearn"

    data_file: Path | None = Field(
        None,
        description="An .npz file with arrays x (samples x features) and y (labels); "
        "default: scikit-learn's digits, shipped with the package (no download).",
    )
    clients: int = Field(16, ge=1, description="Number of clients the data is split over.")
    alpha: float = Field(
        0.5, gt=0, description="Dirichlet concentration of the label split (small: non-IID)."
    )
    rounds: int = Field(20, ge=1, description="Federated rounds.")
    participation: float = Field(
        0.5, gt=0, le=1, description="Fraction of the clients that train in each round."
    )
    epochs: int = Field(5, ge=1, description="Local epochs per round.")
    batch_size: int = Field(16, ge=1, description="Local mini-batch size.")
    learning_rate: float = Field(0.1, ge=0, description="Local SGD learning rate.")
    hidden: int = Field(32, ge=0, description="Hidden units of the MLP (0: softmax regression).")
    test_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of the samples held out for testing."
    )
    blas_threads: int = Field(
        1, ge=0, description="BLAS/OpenMP threads per task (threadpoolctl); 0 leaves them."
    )
    seed: int = Field(0, description="Seed of the splits, the model and the client sampling.")

    @field_validator("data_file")
    @classmethod
    def _exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"{path}: no such file")
        return path

    def build(self) -> FedLearnApp:
        return FedLearnApp(self)


class FedLearnApp(App):
    """Runs the rounds; writes ``accuracy.csv`` (one row per round, round 0 = initial model).

    After ``run``: ``history`` holds the rows, ``client_sizes`` the samples per client and
    ``selected[r]`` the clients that trained in round r (1-based).
    """

    def __init__(self, config: FedLearnConfig) -> None:
        self.config = config
        self.history: list[dict[str, Any]] = []
        self.client_sizes: list[int] = []
        self.selected: dict[int, list[int]] = {}

    def _data(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], Dataset, Dataset]:
        c = self.config
        try:
            data = load_npz(c.data_file) if c.data_file else load_digits_dataset()
        except ImportError as exc:
            raise ImportError(
                "fedlearn's default data needs scikit-learn: pip install 'tapstrace[apps]'"
            ) from exc
        train, test = train_test_split(data, c.test_fraction, c.seed)
        split = dirichlet_split(train.y, c.clients, c.alpha, c.seed)
        return [(train.x[i], train.y[i]) for i in split], train, test

    def run(self, engine: Engine, run_dir: Path) -> None:
        c = self.config
        clients, train, test = self._data()
        self.client_sizes = [len(y) for _, y in clients]
        log.info(
            "fedlearn: %d training / %d test samples, %d classes, %d clients "
            "(alpha %g: %d to %d samples each)",
            len(train.y), len(test.y), train.classes, c.clients, c.alpha,
            min(self.client_sizes), max(self.client_sizes),
        )  # fmt: skip
        state: Any = {
            "round": 0,
            "params": init_params(train.x.shape[1], c.hidden, train.classes, c.seed),
            "clients": 0,
            "samples": 0,
            "steps": 0,
            "train_loss": math.nan,
        }
        rng = np.random.default_rng([c.seed, 4])
        per_round = max(1, round(c.participation * c.clients))
        start = time.perf_counter()
        evaluations: list[TaskFuture] = [
            engine.submit(evaluate, state, test.x, test.y, c.blas_threads)
        ]
        for r in range(1, c.rounds + 1):
            chosen = sorted(int(k) for k in rng.choice(c.clients, per_round, replace=False))
            self.selected[r] = chosen
            hyper = (c.epochs, c.batch_size, c.learning_rate)
            updates = [
                engine.submit(
                    local_train, state, *clients[k], *hyper, [c.seed, r, k], c.blas_threads
                )
                for k in chosen
            ]
            state = engine.submit(aggregate, state, *updates)
            evaluations.append(engine.submit(evaluate, state, test.x, test.y, c.blas_threads))
        log.info("fedlearn: %d rounds submitted (%d clients per round)", c.rounds, per_round)
        with (run_dir / "accuracy.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for future in evaluations:
                row = future.result()
                self.history.append(row)
                writer.writerow(row)
                f.flush()
                log.info(
                    "fedlearn: round %d: test accuracy %.4f (loss %.4f), %d clients, %d steps",
                    row["round"], row["accuracy"], row["test_loss"], row["clients"], row["steps"],
                )  # fmt: skip
        log.info(
            "fedlearn: accuracy %.4f -> %.4f after %d rounds in %.3f s",
            self.history[0]["accuracy"], self.history[-1]["accuracy"], c.rounds,
            time.perf_counter() - start,
        )  # fmt: skip
