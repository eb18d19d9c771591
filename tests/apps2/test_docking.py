"""The docking app: real RDKit, Meeko and AutoDock Vina on the bundled DHFR structure."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tapstrace.apps.docking.config import DockingConfig
from tapstrace.apps.docking.receptor import bundled_receptor, ligand_coordinates
from tapstrace.apps.docking.tasks import dock, embed_ligand, ligand_pdbqt, prepare_receptor
from tapstrace.apps.extras import MissingExtraError
from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.errors import ConfigError
from tests.apps2.conftest import needs

pytestmark = needs("rdkit", "meeko", "gemmi", "vina", "sklearn", "posebusters")

TINY = {
    "library_size": 30,
    "max_heavy_atoms": 16,
    "initial_simulations": 3,
    "batch_size": 2,
    "num_iterations": 1,
    "inference_chunks": 2,
    "exhaustiveness": 1,
    "box_size": (14.0, 14.0, 14.0),
}


@pytest.mark.slow
def test_campaign_docks_ligands_with_negative_scores(
    engine: Engine, recorder: MemoryRecorder, tmp_path: Path
) -> None:
    DockingConfig(**TINY).build().run(engine, tmp_path)  # type: ignore[arg-type]
    table = pl.read_csv(tmp_path / "docking.csv")
    assert table.height == 3 + 2
    scores = table["value"].to_list()
    assert all(isinstance(s, float) and math.isfinite(s) and s < 0 for s in scores), scores
    assert table["predicted"].is_null().to_list() == [True] * 3 + [False] * 2
    assert len(set(table["smiles"])) == 5  # never docks a ligand twice
    assert (tmp_path / "docking.png").stat().st_size > 0

    records = {r.task_id: r for r in recorder.records}
    by_name: dict[str, list[int]] = {}
    for r in records.values():
        assert r.status == "ok", (r.name, r.error_message)
        by_name.setdefault(r.name, []).append(r.task_id)
    assert {n: len(v) for n, v in by_name.items()} == {
        "prepare_receptor": 1,
        "load_library": 1,
        "embed_ligand": 5,
        "ligand_pdbqt": 5,
        "dock": 5,
        "train_surrogate": 1,
        "predict": 2,
    }
    (receptor,) = by_name["prepare_receptor"]
    for task in by_name["dock"]:  # a docking waits for its ligand and the receptor
        parents = records[task].parents
        assert receptor in parents and len(parents) == 2
        (ligand,) = [p for p in parents if p != receptor]
        assert records[ligand].name == "ligand_pdbqt"
    (train,) = by_name["train_surrogate"]
    assert all(records[p].parents == (train,) for p in by_name["predict"])


def test_default_box_is_the_crystal_ligand_site() -> None:
    _, ligand = bundled_receptor()
    app = DockingConfig().build()
    expected = ligand_coordinates(ligand).mean(axis=0)
    assert app.center == pytest.approx(tuple(expected), abs=1e-3)
    assert "ATOM" in app.receptor_text and not app.receptor_is_pdbqt


def test_receptor_preparation_and_one_docking() -> None:
    pdb, ligand = bundled_receptor()
    pdbqt = prepare_receptor(pdb.read_text(), False)
    atom_types = {line[77:79].strip() for line in pdbqt.splitlines() if line.startswith("ATOM")}
    assert {"C", "N", "OA", "HD"} <= atom_types  # polar hydrogens added, acceptors typed
    center = list(ligand_coordinates(ligand).mean(axis=0))
    # Trimethoprim, a DHFR inhibitor: binds in the folate site.
    lig = ligand_pdbqt(embed_ligand("COc1cc(Cc2cnc(N)nc2N)cc(OC)c1OC", 0))
    assert lig.startswith(("REMARK", "ROOT")) and "TORSDOF" in lig
    box = [16.0, 16.0, 16.0]
    score = dock(lig, pdbqt, center, box, 1, 0)
    assert -12.0 < score < -5.0
    # Reproducible: the same seed gives the same score, whatever the worker docked before.
    other = ligand_pdbqt(embed_ligand("CC(=O)Oc1ccccc1C(=O)O", 0))
    assert dock(other, pdbqt, center, box, 1, 0) < 0
    assert dock(lig, pdbqt, center, box, 1, 0) == score


def test_user_receptor_box_from_a_residue_of_the_file(tmp_path: Path) -> None:
    """The 1IEP recipe (--app.box-residue STI) on a structure that ships with a cofactor:
    1IA1, Candida albicans DHFR with NADPH (NDP)."""
    pdb, _ = bundled_receptor()
    source = pdb.parents[1] / "1ia1" / "1ia1_protein_one_lig_removed.pdb"
    receptor = tmp_path / "1ia1.pdb"
    receptor.write_text(source.read_text())
    app = DockingConfig(receptor=receptor, box_residue="NDP", receptor_chains=["A"]).build()
    ndp = [
        (float(line[30:38]), float(line[38:46]), float(line[46:54]))
        for line in source.read_text().splitlines()
        if line.startswith("HETATM") and line[17:20] == "NDP" and line[21] == "A"
    ]
    assert app.center == pytest.approx(tuple(np.asarray(ndp).mean(axis=0)), abs=1e-3)
    prepared = prepare_receptor(app.receptor_text, False, ["A"])
    assert "NDP" not in prepared  # hetero groups are not part of the receptor

    with pytest.raises(ConfigError, match=r"--app.box-residue: no residue 'XYZ'"):
        DockingConfig(receptor=receptor, box_residue="XYZ").build()
    with pytest.raises(ConfigError, match=r"--app.center"):
        DockingConfig(receptor=receptor).build()


def test_pdbqt_receptor_is_used_as_is(tmp_path: Path) -> None:
    pdb, _ = bundled_receptor()
    path = tmp_path / "receptor.pdbqt"
    path.write_text(prepare_receptor(pdb.read_text(), False))
    app = DockingConfig(receptor=path, center=(1.0, 2.0, 3.0)).build()
    assert app.receptor_is_pdbqt and app.center == (1.0, 2.0, 3.0)
    assert prepare_receptor(app.receptor_text, True) == path.read_text()


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vina" else real(name, *a)
    )
    with pytest.raises(MissingExtraError, match=r"needs vina .*pip install 'tapstrace\[science\]'"):
        DockingConfig().build()


def test_bad_receptor_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a file"):
        DockingConfig(receptor=tmp_path / "missing.pdb")
    bad = tmp_path / "receptor.mol2"
    bad.write_text("")
    with pytest.raises(ValueError, match="use a PDB"):
        DockingConfig(receptor=bad)
