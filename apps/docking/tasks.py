"""The docking tasks. Module-level functions (pickled by reference); each imports its
science library when it runs, so workers load only what they execute."""

from __future__ import annotations

import hashlib
import tempfile
import threading
from pathlib import Path
from typing import Any

from tapstrace.apps.threads import limit_threads

_local = threading.local()  # one Vina object (with its maps) per worker thread


def prepare_receptor(text: str, pdbqt: bool, chains: list[str] | None = None) -> str:
    """The receptor as PDBQT text: PDBQT input is kept; PDB input keeps its ATOM records
    (of ``chains``), gets polar hydrogens and Gasteiger charges from Meeko's residue
    templates; residues that match no template are dropped (Meeko logs them)."""
    if pdbqt:
        return text
    from meeko import MoleculePreparation, PDBQTWriterLegacy, Polymer, ResidueChemTemplates

    lines = [
        line
        for line in text.splitlines()
        if line.startswith("ATOM") and (not chains or line[21:22].strip() in chains)
    ]
    if not lines:
        raise ValueError("the receptor has no ATOM records (in the chosen chains)")
    templates = ResidueChemTemplates.create_from_defaults()
    polymer = Polymer.from_pdb_string(
        "\n".join([*lines, "END"]) + "\n",
        templates,
        MoleculePreparation(),
        allow_bad_res=True,
        default_altloc="A",
    )
    rigid, _flexible = PDBQTWriterLegacy.write_from_polymer(polymer)
    return str(rigid)


def embed_ligand(smiles: str, seed: int) -> str:
    """A 3D conformer with hydrogens (RDKit ETKDG, then MMFF94, UFF if MMFF lacks
    parameters), as a MOL block."""
    from rdkit import Chem

    from tapstrace.apps.chemistry.conformers import embed

    return str(Chem.MolToMolBlock(embed(smiles, seed)))


def ligand_pdbqt(molblock: str) -> str:
    """The ligand as PDBQT text (Meeko: AutoDock atom types, Gasteiger charges, torsion
    tree)."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy
    from rdkit import Chem

    mol = Chem.MolFromMolBlock(molblock, removeHs=False)
    if mol is None:
        raise ValueError("unreadable MOL block")
    setups = MoleculePreparation().prepare(mol)
    text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise ValueError(f"Meeko could not write the ligand: {error}")
    return str(text)


def _receptor_file(receptor: str) -> Path:
    """The receptor text in a file named by its hash (Vina reads receptors from files)."""
    digest = hashlib.sha256(receptor.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / "tapstrace-docking" / f"{digest}.pdbqt"
    if not path.exists():  # written whole under a unique name, then renamed into place
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=path.name, suffix=".tmp", delete=False
        ) as partial:
            partial.write(receptor)
        Path(partial.name).replace(path)
    return path


def _vina(receptor: str, center: list[float], size: list[float], seed: int, threads: int) -> Any:
    """A Vina object with its grid maps, computed once per worker thread and box."""
    from vina import Vina

    key = (hashlib.sha256(receptor.encode()).hexdigest(), tuple(center), tuple(size), seed)
    cached = getattr(_local, "vina", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    # Vina reads seed 0 as "pick a random seed": shift ours so every seed is reproducible.
    vina = Vina(sf_name="vina", cpu=threads, seed=seed + 1, verbosity=0)
    vina.set_receptor(str(_receptor_file(receptor)))
    vina.compute_vina_maps(center=list(center), box_size=list(size))
    _local.vina = (key, vina)
    return vina


def dock(
    ligand: str,
    receptor: str,
    center: list[float],
    size: list[float],
    exhaustiveness: int,
    seed: int,
    threads: int = 1,
) -> float:
    """AutoDock Vina: the best pose's score (kcal/mol, lower binds better)."""
    import vina as _vina_module  # noqa: F401 (loads libvina before the thread limit)

    limit_threads(threads, "vina")
    engine = _vina(receptor, center, size, seed, threads)
    engine.set_ligand_from_string(ligand)
    engine.dock(exhaustiveness=exhaustiveness, n_poses=1)
    return float(engine.energies(n_poses=1)[0][0])
