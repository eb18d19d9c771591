"""The moldesign app: real xTB (tblite through ASE) ionisation potentials."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from tapstrace.apps.chemistry.library import load_library
from tapstrace.apps.moldesign.config import MoldesignConfig
from tapstrace.apps.moldesign.tasks import IPEA_SHIFT_EV, relax_structure, vertical_ip
from tapstrace.engine import Engine, MemoryRecorder
from tests.apps2.conftest import needs

pytestmark = needs("rdkit", "tblite", "ase", "sklearn")


@pytest.mark.slow
def test_campaign_finds_plausible_ionisation_potentials(
    engine: Engine, recorder: MemoryRecorder, tmp_path: Path
) -> None:
    config = MoldesignConfig(
        library_size=40, initial_count=4, batch_size=2, search_budget=8, inference_chunks=2
    )
    config.build().run(engine, tmp_path)
    table = pl.read_csv(tmp_path / "moldesign.csv")
    assert table.height == 8
    assert table["round"].to_list() == [0, 0, 0, 0, 1, 1, 2, 2]
    values = table["value"].to_list()
    # Vertical IPs of small neutral organic molecules lie between ~7 and ~15 eV.
    assert all(isinstance(v, float) and 6.0 < v < 16.0 for v in values), values
    assert table["best"].to_list()[-1] == pytest.approx(max(values))
    assert (tmp_path / "moldesign.png").stat().st_size > 0

    names = [r.name for r in recorder.records]
    assert all(r.status == "ok" for r in recorder.records)
    assert names.count("relax_structure") == names.count("vertical_ip") == 8
    assert names.count("train_surrogate") == 2 and names.count("predict") == 4
    by_id = {r.task_id: r for r in recorder.records}
    for r in recorder.records:
        if r.name == "vertical_ip":
            assert [by_id[p].name for p in r.parents] == ["relax_structure"]


@pytest.mark.parametrize(
    ("smiles", "experiment"),
    [("c1ccccc1", 9.24), ("O", 12.62), ("C=O", 10.88)],  # NIST vertical/adiabatic IPs (eV)
)
def test_vertical_ip_matches_experiment(smiles: str, experiment: float) -> None:
    xyz = relax_structure(smiles, "GFN2-xTB", 0.05, 250, 0)
    assert xyz.splitlines()[1] == smiles  # the comment line names the molecule
    ip = vertical_ip(xyz, "IPEA1-xTB", IPEA_SHIFT_EV)
    assert math.isfinite(ip)
    assert ip == pytest.approx(experiment, abs=1.3)


def test_search_space_is_small_neutral_cnof_molecules() -> None:
    from rdkit import Chem

    space = load_library(None, "small", 9, None, 0)
    assert len(space) > 300 and len(space) == len(set(space))
    for smiles in space:
        mol = Chem.MolFromSmiles(smiles)
        assert mol.GetNumHeavyAtoms() <= 9 and Chem.GetFormalCharge(mol) == 0
        assert {a.GetSymbol() for a in mol.GetAtoms()} <= {"C", "N", "O", "F"}
    assert load_library(None, "small", 9, 25, 3) == load_library(None, "small", 9, 25, 3)


def test_user_library_file(tmp_path: Path) -> None:
    (tmp_path / "space.csv").write_text("name,smiles\nbenzene,c1ccccc1\nwater,O\nbad,C(\n")
    assert load_library(str(tmp_path / "space.csv"), "small", 9) == ["c1ccccc1", "O"]
    with pytest.raises(ValueError, match="is not a file"):
        MoldesignConfig(library=tmp_path / "missing.smi")
