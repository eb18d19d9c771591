"""Molecule libraries: SMILES read from a file, filtered and de-duplicated.

The default library is the sample of the NCI Open Database (public domain) that RDKit
ships as ``Data/NCI/first_5K.smi``, so that the apps run offline with real molecules.
A user points ``--app.library`` at a ``.smi``/``.txt`` file (SMILES first on each line)
or a ``.csv`` file with a ``smiles`` column instead.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tapstrace.errors import ConfigError

#: Which molecules a library keeps.
Selection = Literal["drug-like", "small", "all"]

#: Elements the docking scoring function and Meeko's atom typing handle.
DRUG_ELEMENTS = frozenset({"C", "N", "O", "S", "F", "Cl", "Br", "P", "I"})
#: Elements of the QM9-like space of small organic molecules.
SMALL_ELEMENTS = frozenset({"C", "N", "O", "F"})


def default_library() -> Path:
    """RDKit's NCI sample (5,000 structures of the NCI Open Database)."""
    from rdkit import RDConfig

    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def read_smiles(path: Path) -> list[str]:
    """SMILES strings of a ``.csv`` (``smiles`` column) or whitespace-separated file."""
    if not path.is_file():
        raise ConfigError(f"--app.library: {path} is not a file")
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            column = next((c for c in reader.fieldnames or [] if c.lower() == "smiles"), None)
            if column is None:
                raise ConfigError(f"--app.library: {path} has no 'smiles' column")
            return [row[column].strip() for row in reader if row[column].strip()]
    out = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#") and fields[0].lower() != "smiles":
            out.append(fields[0])
    return out


def _keep(mol: Any, selection: Selection, max_heavy_atoms: int) -> bool:
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    heavy = mol.GetNumHeavyAtoms()
    if heavy > max_heavy_atoms or Chem.GetFormalCharge(mol) != 0:
        return False
    if any(atom.GetNumRadicalElectrons() for atom in mol.GetAtoms()):
        return False
    if len(Chem.GetMolFrags(mol)) != 1:
        return False
    elements = {atom.GetSymbol() for atom in mol.GetAtoms()}
    if selection == "small":
        return elements <= SMALL_ELEMENTS
    if selection == "drug-like":  # Lipinski's rule of five, few rotatable bonds
        return (
            elements <= DRUG_ELEMENTS
            and 12 <= heavy <= max_heavy_atoms
            and rdMolDescriptors.CalcExactMolWt(mol) <= 500
            and rdMolDescriptors.CalcNumHBD(mol) <= 5
            and rdMolDescriptors.CalcNumHBA(mol) <= 10
            and rdMolDescriptors.CalcCrippenDescriptors(mol)[0] <= 5
            and rdMolDescriptors.CalcNumRotatableBonds(mol) <= 7
        )
    return heavy <= max_heavy_atoms


def load_library(
    source: str | None,
    selection: Selection = "drug-like",
    max_heavy_atoms: int = 35,
    size: int | None = None,
    seed: int = 0,
) -> list[str]:
    """Canonical, unique SMILES of ``source`` (default: RDKit's NCI sample) that pass
    ``selection``; ``size`` of them drawn with ``seed`` (in file order) when given.

    Runs as a task: the same arguments give the same list on every machine.
    """
    from rdkit import Chem
    from rdkit.rdBase import DisableLog

    DisableLog("rdApp.*")  # unparsable lines are counted, not printed
    path = Path(source) if source else default_library()
    seen: dict[str, None] = {}
    for smiles in read_smiles(path):
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or not _keep(mol, selection, max_heavy_atoms):
            continue
        seen.setdefault(Chem.MolToSmiles(mol), None)
    molecules = list(seen)
    if size is not None and size < len(molecules):
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(molecules), size, replace=False))
        molecules = [molecules[i] for i in keep]
    return molecules
