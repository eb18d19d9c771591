"""The moldesign app's parameters (CLI flags ``--app.*`` and TOML keys)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from tapstrace.apps.chemistry.surrogate import Model
from tapstrace.apps.extras import require
from tapstrace.apps.moldesign.app import MoldesignApp
from tapstrace.apps.moldesign.tasks import IPEA_SHIFT_EV
from tapstrace.plugins.config import AppConfig
from tapstrace.plugins.registry import register

Method = Literal["GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"]


@register("app")
class MoldesignConfig(AppConfig):
    """Search for molecules of high ionisation potential: xTB (tblite + ASE) simulations
    steered by a scikit-learn surrogate. Default search space: the small C/N/O/F
    molecules of RDKit's NCI sample. Needs the science extra.
    """

    name: ClassVar[str] = "moldesign"

    library: Path | None = Field(
        None,
        description="Search space SMILES: .smi/.txt (SMILES first on each line) or .csv with "
        "a smiles column (default: RDKit's NCI sample).",
    )
    max_heavy_atoms: int = Field(
        9, ge=2, description="Largest molecule kept (heavy atoms; QM9 stops at 9)."
    )
    library_size: int | None = Field(
        None, ge=1, description="Molecules drawn (with the seed) as the search space; none: all."
    )
    initial_count: int = Field(16, ge=1, description="Molecules simulated at random first.")
    batch_size: int = Field(8, ge=1, description="Molecules simulated per round.")
    search_budget: int = Field(64, ge=1, description="Simulations in total, first batch included.")
    inference_chunks: int = Field(
        4, ge=1, description="Parallel inference tasks over the search space per round."
    )
    model: Model = Field("knn", description="Surrogate: knn (Tanimoto neighbours) or forest.")
    relax_method: Method = Field("GFN2-xTB", description="xTB method of the relaxation.")
    ip_method: Method = Field(
        "IPEA1-xTB", description="xTB method of the ionisation potential (delta-SCF)."
    )
    ip_shift: float = Field(
        IPEA_SHIFT_EV,
        description="eV subtracted from the delta-SCF IP (xtb's empirical IPEA-xTB shift).",
    )
    fmax: float = Field(0.05, gt=0, description="Relaxation stops below this force (eV/A).")
    max_steps: int = Field(250, ge=1, description="Most relaxation steps (LBFGS).")
    threads: int = Field(1, ge=1, description="Threads per task (OMP_NUM_THREADS, BLAS).")
    seed: int = Field(0, description="Seed of the space draw, first batch and conformers.")

    @field_validator("library")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    def build(self) -> MoldesignApp:
        require(self.name, "rdkit", "tblite", "ase", "sklearn", "threadpoolctl")
        return MoldesignApp(self)
