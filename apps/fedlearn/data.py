"""Data of fedlearn: a labelled dataset, a train/test split and a non-IID client split.

The default dataset is scikit-learn's digits (1,797 8x8 images, 10 classes), which the
scikit-learn package ships: loading it reads a file inside the package and never touches
the network. A user's own data is an ``.npz`` file with arrays ``x`` (samples x features)
and ``y`` (integer labels).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """Features scaled to [0, 1] and integer labels 0..classes-1."""

    x: np.ndarray
    y: np.ndarray
    classes: int


def load_digits_dataset() -> Dataset:
    """scikit-learn's digits, pixel values scaled from 0..16 to 0..1."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return Dataset(x / 16.0, y.astype(np.int64), 10)


def load_npz(path: Path) -> Dataset:
    """A user's dataset: ``x`` and ``y`` arrays in an ``.npz`` file (features min-max scaled)."""
    with np.load(path) as data:
        missing = {"x", "y"} - set(data.files)
        if missing:
            raise ValueError(f"{path}: missing array(s) {', '.join(sorted(missing))}")
        x = np.asarray(data["x"], dtype=np.float64).reshape(len(data["x"]), -1)
        labels = np.asarray(data["y"])
    if len(x) != len(labels) or len(x) < 2:
        raise ValueError(f"{path}: x and y must have the same number (>= 2) of samples")
    _, y = np.unique(labels, return_inverse=True)
    low, high = x.min(axis=0), x.max(axis=0)
    x = (x - low) / np.where(high > low, high - low, 1.0)
    return Dataset(x, y.astype(np.int64), int(y.max()) + 1)


def train_test_split(data: Dataset, test_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A seeded random split."""
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(len(data.y))
    n_test = max(1, round(test_fraction * len(order)))
    test, train = order[:n_test], order[n_test:]
    return (
        Dataset(data.x[train], data.y[train], data.classes),
        Dataset(data.x[test], data.y[test], data.classes),
    )


def dirichlet_split(labels: np.ndarray, clients: int, alpha: float, seed: int) -> list[np.ndarray]:
    """Sample indices of each client: per class, shares drawn from Dirichlet(alpha).

    Small ``alpha`` gives each client few classes (non-IID); large ``alpha`` approaches
    an even IID split. Every sample goes to exactly one client; a client may get none.
    """
    rng = np.random.default_rng([seed, 2])
    parts: list[list[np.ndarray]] = [[] for _ in range(clients)]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        shares = rng.dirichlet(np.full(clients, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(members)).astype(int)
        for client, chunk in enumerate(np.split(members, cuts)):
            parts[client].append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]
