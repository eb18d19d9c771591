"""Receptor files and the docking box.

The offline default receptor is human dihydrofolate reductase, PDB 1S3V, as shipped in
the PoseBusters package (BSD-3) with its co-crystallised inhibitor (TQD) removed and kept
aside: the box is centred on that ligand, i.e. on the enzyme's folate site. A user's
receptor (PDB or PDBQT) comes with a box centre given directly, as the centroid of a
residue of the file (the co-crystallised ligand, e.g. STI in 1IEP) or of a ligand file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from tapstrace.errors import ConfigError

DEFAULT_PDB_ID = "1s3v"


def bundled_receptor() -> tuple[Path, Path]:
    """The PDB file of 1S3V (ligand removed) and the SDF of its ligand, from PoseBusters."""
    spec = importlib.util.find_spec("posebusters")
    if spec is None or not spec.submodule_search_locations:
        from tapstrace.apps.extras import MissingExtraError

        raise MissingExtraError(
            "app 'docking' needs posebusters for its default receptor: "
            "pip install 'tapstrace[science]' (or give --app.receptor PATH)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "pdb"
    folder = folder / DEFAULT_PDB_ID
    return (
        folder / f"{DEFAULT_PDB_ID}_protein_one_lig_removed.pdb",
        folder / f"{DEFAULT_PDB_ID}_ligand.sdf",
    )


def pdb_coordinates(
    text: str, residue: str | None = None, chains: list[str] | None = None
) -> np.ndarray:
    """Coordinates of the ATOM/HETATM records of PDB or PDBQT text, optionally only of
    residue name ``residue`` and of ``chains``."""
    rows = []
    for line in text.splitlines():
        if not line.startswith(("ATOM", "HETATM")):
            continue
        if residue is not None and line[17:20].strip() != residue:
            continue
        if chains and line[21:22].strip() not in chains:
            continue
        rows.append((float(line[30:38]), float(line[38:46]), float(line[46:54])))
    return np.asarray(rows, dtype=float).reshape(-1, 3)


def ligand_coordinates(path: Path) -> np.ndarray:
    """Atom coordinates of a ligand file: SDF/MOL (RDKit), MOL2 (RDKit), PDB or PDBQT."""
    suffix = path.suffix.lower()
    if suffix in (".pdb", ".pdbqt", ".ent"):
        return pdb_coordinates(path.read_text())
    from rdkit import Chem

    if suffix in (".sdf", ".mol"):
        mol = Chem.MolFromMolFile(str(path), removeHs=False, sanitize=False)
    elif suffix == ".mol2":
        mol = Chem.MolFromMol2File(str(path), removeHs=False, sanitize=False)
    else:
        raise ConfigError(f"--app.box-ligand: {path}: use an SDF, MOL, MOL2, PDB or PDBQT file")
    if mol is None or mol.GetNumConformers() == 0:
        raise ConfigError(f"--app.box-ligand: {path}: no molecule with coordinates")
    return np.asarray(mol.GetConformer().GetPositions(), dtype=float)


def box_center(
    receptor_text: str,
    center: tuple[float, float, float] | None,
    residue: str | None,
    ligand: Path | None,
    chains: list[str] | None,
) -> tuple[float, float, float]:
    """The box centre: given, or the centroid of ``residue`` in the receptor, or of
    ``ligand``; ConfigError names the option when none works."""
    if center is not None:
        return center
    if residue is not None:
        points = pdb_coordinates(receptor_text, residue, chains)
        if not len(points):
            raise ConfigError(f"--app.box-residue: no residue {residue!r} in the receptor file")
    elif ligand is not None:
        points = ligand_coordinates(ligand)
    else:
        raise ConfigError(
            "--app.receptor: give the docking box centre with --app.center X,Y,Z, "
            "--app.box-residue NAME or --app.box-ligand PATH"
        )
    x, y, z = (float(v) for v in points.mean(axis=0))
    return (round(x, 3), round(y, 3), round(z, 3))
