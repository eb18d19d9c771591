"""The docking campaign: the task graph of the Parsl docking tutorial on the engine."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tapstrace.apps.chemistry.campaign import Campaign
from tapstrace.apps.chemistry.library import load_library
from tapstrace.apps.chemistry.report import write_report
from tapstrace.apps.docking.tasks import dock, embed_ligand, ligand_pdbqt, prepare_receptor
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture
from tapstrace.plugins.config import App

if TYPE_CHECKING:
    from tapstrace.apps.docking.config import DockingConfig

log = logging.getLogger(__name__)


class DockingApp(App):
    """Prepares the receptor once, then runs the active-learning campaign: per ligand
    embed -> PDBQT -> dock, and per round train -> parallel inference."""

    def __init__(
        self,
        config: DockingConfig,
        receptor_text: str,
        receptor_is_pdbqt: bool,
        center: tuple[float, float, float],
    ) -> None:
        self.config = config
        self.receptor_text = receptor_text
        self.receptor_is_pdbqt = receptor_is_pdbqt
        self.center = center

    def run(self, engine: Engine, run_dir: Path) -> None:
        c = self.config
        started = time.perf_counter()
        receptor = engine.submit(
            prepare_receptor, self.receptor_text, self.receptor_is_pdbqt, c.receptor_chains
        )
        library = engine.submit(
            load_library,
            str(c.library) if c.library else None,
            "drug-like",
            c.max_heavy_atoms,
            c.library_size,
            c.seed,
        )
        space: list[str] = library.result()
        if not space:
            raise ValueError("the ligand library has no drug-like molecule to dock")
        log.info("docking: %d ligands in the search space, box centre %s", len(space), self.center)
        center, size = list(self.center), list(c.box_size)

        def simulate(engine: Engine, smiles: str) -> TaskFuture:
            conformer = engine.submit(embed_ligand, smiles, c.seed)
            pdbqt = engine.submit(ligand_pdbqt, conformer)
            return engine.submit(
                dock, pdbqt, receptor, center, size, c.exhaustiveness, c.seed, c.threads
            )

        campaign = Campaign(
            initial=c.initial_simulations,
            batch_size=c.batch_size,
            rounds=c.num_iterations,
            inference_chunks=c.inference_chunks,
            model=c.model,
            seed=c.seed,
            maximize=False,
            threads=c.threads,
        )
        results = campaign.run(engine, space, simulate)
        table, plot = write_report(
            results, run_dir, "docking", "Vina score (kcal/mol)", maximize=False
        )
        scores = [r.value for r in results if r.value is not None]
        log.info(
            "docking: %d ligands docked (%d failed), best %.2f kcal/mol, in %.1f s; %s %s",
            len(scores),
            len(results) - len(scores),
            min(scores) if scores else float("nan"),
            time.perf_counter() - started,
            table,
            plot or "",
        )
