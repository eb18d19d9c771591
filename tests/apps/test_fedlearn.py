"""fedlearn: accuracy improves above chance, and every parameter reaches the training."""

from __future__ import annotations

import csv
import math
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tapstrace.apps.fedlearn import CSV_COLUMNS, FedLearnApp, FedLearnConfig
from tapstrace.apps.fedlearn.data import dirichlet_split, load_digits_dataset
from tapstrace.apps.fedlearn.model import init_params
from tapstrace.engine import Engine, MemoryRecorder
from tests.conftest import build_executor

SMALL = {"clients": 6, "rounds": 4, "participation": 0.5, "epochs": 1, "hidden": 0}


def run(tmp_path: Path, recorder: MemoryRecorder | None = None, **params: Any) -> FedLearnApp:
    app = FedLearnConfig(**{**SMALL, **params}).build()
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Engine(build_executor("thread", max_threads=2), recorder=recorder) as engine:
        app.run(engine, tmp_path)
    return app


def test_accuracy_improves_above_chance(
    engine: Engine, recorder: MemoryRecorder, tmp_path: Path
) -> None:
    app = FedLearnConfig(clients=6, rounds=6, participation=0.5, epochs=2, hidden=16).build()
    app.run(engine, tmp_path)
    with (tmp_path / "accuracy.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == CSV_COLUMNS
    assert [int(r["round"]) for r in rows] == list(range(7))
    accuracy = [float(r["accuracy"]) for r in rows]
    assert accuracy == [h["accuracy"] for h in app.history]
    assert accuracy[0] < 0.3  # the untrained model is near chance (0.1)
    assert accuracy[-1] > 0.6 and accuracy[-1] > accuracy[0] + 0.3
    engine.shutdown()
    names = Counter(r.name for r in recorder.records)
    assert names == {"local_train": 6 * 3, "aggregate": 6, "evaluate": 7}
    assert all(r.status == "ok" for r in recorder.records)


def test_digits_load_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    data = load_digits_dataset()
    assert data.x.shape == (1797, 64) and data.classes == 10
    assert data.x.min() >= 0.0 and data.x.max() <= 1.0


def test_epochs_and_batch_size_set_the_optimizer_steps(tmp_path: Path) -> None:
    one = run(tmp_path / "a", epochs=1, batch_size=8)
    two = run(tmp_path / "b", epochs=2, batch_size=8)
    big = run(tmp_path / "c", epochs=1, batch_size=32)
    assert one.selected == two.selected == big.selected
    for r in range(1, SMALL["rounds"] + 1):
        sizes = [one.client_sizes[k] for k in one.selected[r]]
        steps = {h["round"]: h["steps"] for h in one.history}
        assert steps[r] == sum(math.ceil(n / 8) for n in sizes)
        assert two.history[r]["steps"] == 2 * steps[r]
        assert big.history[r]["steps"] == sum(math.ceil(n / 32) for n in sizes)


def test_participation_and_rounds(tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    app = run(tmp_path, recorder, clients=10, participation=0.3, rounds=3)
    assert [len(app.selected[r]) for r in (1, 2, 3)] == [3, 3, 3]
    assert [h["clients"] for h in app.history] == [0, 3, 3, 3]
    names = Counter(r.name for r in recorder.records)
    assert names["local_train"] == 9 and names["aggregate"] == 3
    everyone = run(tmp_path / "all", clients=4, participation=1.0, rounds=2)
    assert everyone.selected == {1: [0, 1, 2, 3], 2: [0, 1, 2, 3]}
    assert [h["samples"] for h in everyone.history[1:]] == [sum(everyone.client_sizes)] * 2


def test_learning_rate_reaches_training(tmp_path: Path) -> None:
    frozen = run(tmp_path / "zero", learning_rate=0.0)
    assert len({h["accuracy"] for h in frozen.history}) == 1
    assert len({h["test_loss"] for h in frozen.history}) == 1
    slow = run(tmp_path / "slow", learning_rate=0.01)
    fast = run(tmp_path / "fast", learning_rate=0.3)
    assert (
        fast.history[-1]["test_loss"]
        < slow.history[-1]["test_loss"]
        < frozen.history[-1]["test_loss"]
    )


def test_dirichlet_alpha_controls_skew() -> None:
    labels = np.repeat(np.arange(10), 100)

    def mean_entropy(alpha: float) -> float:
        parts = dirichlet_split(labels, 8, alpha, seed=0)
        assert sorted(np.concatenate(parts).tolist()) == list(range(1000))  # each sample once
        entropies = []
        for part in parts:
            if len(part):
                p = np.bincount(labels[part], minlength=10) / len(part)
                entropies.append(-(p[p > 0] * np.log(p[p > 0])).sum())
        return float(np.mean(entropies))

    skewed, even = mean_entropy(0.05), mean_entropy(100.0)
    assert skewed < 1.0 < np.log(10) - 0.05 < even


def test_hidden_units_and_user_data(tmp_path: Path) -> None:
    assert [p.shape for p in init_params(64, 0, 10, 0)] == [(64, 10), (10,)]
    assert [p.shape for p in init_params(64, 7, 10, 0)] == [(64, 7), (7,), (7, 10), (10,)]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.normal(0, 0.3, (300, 5)) + np.eye(3, 5)[y] * 2  # three separable blobs
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    app = run(
        tmp_path, data_file=tmp_path / "blobs.npz", clients=3, participation=1.0, epochs=3,
        learning_rate=0.5,
    )  # fmt: skip
    assert app.history[-1]["accuracy"] > 0.9
    assert sum(app.client_sizes) == 240


def test_data_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        FedLearnConfig(data_file=tmp_path / "nope.npz")
