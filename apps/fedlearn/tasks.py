"""Tasks of fedlearn (module level: picklable by reference): local training,
federated averaging and evaluation.

A model state is a dict ``{"round", "params", ...}``; every task reports what it did
(steps, samples, the hyper-parameters it used) so that tests and the run's CSV can show
that each parameter reached the training.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapstrace.apps.blas import pin_blas_threads
from tapstrace.apps.fedlearn.model import forward, loss_and_grads


def local_train(
    state: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    blas_threads: int = 1,
) -> dict[str, Any]:
    """Mini-batch SGD on one client's data, starting from the global model."""
    pin_blas_threads(blas_threads)
    params = [p.copy() for p in state["params"]]
    rng = np.random.default_rng(seed)
    steps, losses = 0, []
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            batch = order[start : start + batch_size]
            loss, grads = loss_and_grads(params, x[batch], y[batch])
            for p, g in zip(params, grads, strict=True):
                p -= learning_rate * g
            losses.append(loss)
            steps += 1
    return {
        "params": params,
        "samples": len(y),
        "steps": steps,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "loss": float(np.mean(losses)) if losses else math.nan,
    }


def aggregate(state: dict[str, Any], *updates: dict[str, Any]) -> dict[str, Any]:
    """FedAvg: the clients' parameters averaged, weighted by their sample counts.

    Clients without samples carry no weight; if no client had any, the model is kept.
    """
    samples = sum(u["samples"] for u in updates)
    if samples:
        params = [
            sum(u["params"][i] * (u["samples"] / samples) for u in updates)
            for i in range(len(state["params"]))
        ]
    else:
        params = [p.copy() for p in state["params"]]
    losses = [u["loss"] * u["samples"] for u in updates if u["samples"]]
    return {
        "round": state["round"] + 1,
        "params": params,
        "clients": len(updates),
        "samples": samples,
        "steps": sum(u["steps"] for u in updates),
        "train_loss": sum(losses) / samples if samples else math.nan,
    }


def evaluate(
    state: dict[str, Any], x: np.ndarray, y: np.ndarray, blas_threads: int = 1
) -> dict[str, Any]:
    """Accuracy of the model on the test set, with the round's training facts."""
    pin_blas_threads(blas_threads)
    probs, _ = forward(state["params"], x)
    accuracy = float((probs.argmax(axis=1) == y).mean())
    loss = float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())
    facts = {k: v for k, v in state.items() if k != "params"}
    return {**facts, "accuracy": accuracy, "test_loss": loss}
