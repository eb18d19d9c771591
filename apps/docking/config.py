"""The docking app's parameters (CLI flags ``--app.*`` and TOML keys)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from tapstrace.apps.chemistry.surrogate import Model
from tapstrace.apps.docking.app import DockingApp
from tapstrace.apps.extras import require
from tapstrace.plugins.config import AppConfig
from tapstrace.plugins.registry import register

RECEPTOR_SUFFIXES = (".pdb", ".ent", ".pdbqt")


@register("app")
class DockingConfig(AppConfig):
    """Protein-ligand docking (RDKit, Meeko, AutoDock Vina) steered by a surrogate model.

    Default receptor: human DHFR (PDB 1S3V) shipped by PoseBusters; default ligands:
    drug-like molecules of the NCI sample shipped by RDKit. Needs the science extra.
    """

    name: ClassVar[str] = "docking"

    receptor: Path | None = Field(
        None,
        description="Receptor PDB or PDBQT file (default: DHFR 1S3V from PoseBusters). PDB "
        "input keeps its ATOM records and is prepared with Meeko.",
    )
    receptor_chains: list[str] | None = Field(
        None, description="Chains of a PDB receptor to keep (default: all), e.g. A."
    )
    center: tuple[float, float, float] | None = Field(
        None,
        description="Box centre X,Y,Z in Angstrom (default: the centroid of --app.box-residue "
        "or --app.box-ligand; for the default receptor, of its crystal ligand).",
    )
    box_residue: str | None = Field(
        None, description="Residue name in the receptor file whose centroid is the box centre "
        "(the co-crystallised ligand, e.g. STI in 1IEP).",
    )  # fmt: skip
    box_ligand: Path | None = Field(
        None, description="Ligand file (SDF, MOL2, PDB, PDBQT) whose centroid is the box centre."
    )
    box_size: tuple[float, float, float] = Field(
        (20.0, 20.0, 20.0), description="Box edge lengths X,Y,Z in Angstrom."
    )
    library: Path | None = Field(
        None,
        description="Ligand SMILES: .smi/.txt (SMILES first on each line) or .csv with a "
        "smiles column (default: RDKit's NCI sample).",
    )
    library_size: int | None = Field(
        500, ge=1, description="Ligands drawn (with the seed) from the drug-like ones of "
        "the library as the search space; none: all.",
    )  # fmt: skip
    max_heavy_atoms: int = Field(35, ge=12, description="Largest ligand kept (heavy atoms).")
    initial_simulations: int = Field(8, ge=1, description="Ligands docked at random first.")
    batch_size: int = Field(4, ge=1, description="Ligands docked per active-learning round.")
    num_iterations: int = Field(3, ge=0, description="Active-learning rounds after the first.")
    inference_chunks: int = Field(
        4, ge=1, description="Parallel inference tasks over the search space per round."
    )
    model: Model = Field("knn", description="Surrogate: knn (Tanimoto neighbours) or forest.")
    exhaustiveness: int = Field(4, ge=1, description="Vina search exhaustiveness.")
    threads: int = Field(1, ge=1, description="Threads per task (Vina cpu, OMP_NUM_THREADS, BLAS).")
    seed: int = Field(
        0, ge=0, description="Seed of the library draw, first batch, conformers, Vina."
    )

    @field_validator("receptor")
    @classmethod
    def _receptor_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            if not value.is_file():
                raise ValueError(f"{value} is not a file")
            if value.suffix.lower() not in RECEPTOR_SUFFIXES:
                raise ValueError(f"{value}: use a PDB (.pdb, .ent) or PDBQT (.pdbqt) file")
        return value

    @field_validator("library", "box_ligand")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    def build(self) -> DockingApp:
        from tapstrace.apps.docking.receptor import box_center, bundled_receptor

        require(self.name, "rdkit", "meeko", "gemmi", "vina", "sklearn", "threadpoolctl")
        if self.receptor is None:
            pdb, crystal_ligand = bundled_receptor()
            text = pdb.read_text()
            ligand = self.box_ligand or (None if self.box_residue else crystal_ligand)
            center = box_center(text, self.center, self.box_residue, ligand, None)
            return DockingApp(self, text, False, center)
        text = self.receptor.read_text()
        center = box_center(
            text, self.center, self.box_residue, self.box_ligand, self.receptor_chains
        )
        return DockingApp(self, text, self.receptor.suffix.lower() == ".pdbqt", center)
