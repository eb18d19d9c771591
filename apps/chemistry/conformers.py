"""3D conformers from SMILES: the first step of both the docking and the xTB tasks."""

from __future__ import annotations

from typing import Any


def embed(smiles: str, seed: int) -> Any:
    """An RDKit molecule with hydrogens and one 3D conformer: ETKDG (v3) embedding, random
    starting coordinates if that fails, then MMFF94 (UFF where MMFF lacks parameters)."""
    from rdkit import Chem
    from rdkit.Chem import rdDistGeom, rdForceFieldHelpers

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    mol = Chem.AddHs(mol)
    params: Any = rdDistGeom.ETKDGv3()
    params.randomSeed = seed
    if rdDistGeom.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if rdDistGeom.EmbedMolecule(mol, params) != 0:
            raise ValueError(f"RDKit could not embed {smiles!r} in 3D")
    if rdForceFieldHelpers.MMFFHasAllMoleculeParams(mol):
        rdForceFieldHelpers.MMFFOptimizeMolecule(mol, maxIters=500)
    else:
        rdForceFieldHelpers.UFFOptimizeMolecule(mol, maxIters=500)
    return mol
