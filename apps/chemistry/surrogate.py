"""The surrogate model of the active-learning campaigns: Morgan fingerprints of the
molecules fed to a scikit-learn regressor, trained on the simulations done so far and
then run as parallel inference tasks over the molecules not yet simulated.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from tapstrace.apps.threads import limit_threads

#: Regressors the campaigns offer.
Model = Literal["knn", "forest"]

FINGERPRINT_RADIUS = 2
FINGERPRINT_BITS = 2048


def fingerprints(smiles: list[str]) -> np.ndarray:
    """Boolean Morgan fingerprints (radius 2, 2048 bits), one row per molecule."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=FINGERPRINT_RADIUS, fpSize=FINGERPRINT_BITS
    )
    out = np.zeros((len(smiles), FINGERPRINT_BITS), dtype=bool)
    for row, text in enumerate(smiles):
        mol = Chem.MolFromSmiles(text)
        if mol is not None:
            out[row] = generator.GetFingerprintAsNumPy(mol).astype(bool)
    return out


def train_surrogate(
    smiles: list[str], values: list[float], model: Model, seed: int, threads: int = 1
) -> Any:
    """Fit the regressor on fingerprints -> values; returns the fitted estimator.

    ``knn``: distance-weighted nearest neighbours in Jaccard (Tanimoto) distance, the
    surrogate of the Parsl docking tutorial; ``forest``: a random forest.
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.neighbors import KNeighborsRegressor

    limit_threads(threads, "sklearn")
    features = fingerprints(smiles)
    target = np.asarray(values, dtype=float)
    estimator: Any
    if model == "knn":
        estimator = KNeighborsRegressor(
            n_neighbors=min(5, len(smiles)), weights="distance", metric="jaccard"
        )
    else:
        estimator = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)
    return estimator.fit(features, target)


def predict(estimator: Any, smiles: list[str], threads: int = 1) -> list[float]:
    """The estimator's predictions for ``smiles`` (one inference task's chunk)."""
    limit_threads(threads, "sklearn")
    if not smiles:
        return []
    return [float(v) for v in estimator.predict(fingerprints(smiles))]
