"""The moldesign campaign on the engine."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tapstrace.apps.chemistry.campaign import Campaign
from tapstrace.apps.chemistry.library import load_library
from tapstrace.apps.chemistry.report import write_report
from tapstrace.apps.moldesign.tasks import relax_structure, vertical_ip
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture
from tapstrace.plugins.config import App

if TYPE_CHECKING:
    from tapstrace.apps.moldesign.config import MoldesignConfig

log = logging.getLogger(__name__)


class MoldesignApp(App):
    """Per molecule: relax (xTB) -> vertical IP (xTB); per round: train -> inference."""

    def __init__(self, config: MoldesignConfig) -> None:
        self.config = config

    def run(self, engine: Engine, run_dir: Path) -> None:
        c = self.config
        started = time.perf_counter()
        library = engine.submit(
            load_library,
            str(c.library) if c.library else None,
            "small",
            c.max_heavy_atoms,
            c.library_size,
            c.seed,
        )
        space: list[str] = library.result()
        if not space:
            raise ValueError("the search space has no molecule")
        budget = min(c.search_budget, len(space))
        first = min(c.initial_count, budget)
        rounds = math.ceil((budget - first) / c.batch_size)
        log.info("moldesign: %d molecules in the search space, budget %d", len(space), budget)

        def simulate(engine: Engine, smiles: str) -> TaskFuture:
            geometry = engine.submit(
                relax_structure, smiles, c.relax_method, c.fmax, c.max_steps, c.seed, c.threads
            )
            return engine.submit(vertical_ip, geometry, c.ip_method, c.ip_shift, c.threads)

        campaign = Campaign(
            initial=first,
            batch_size=c.batch_size,
            rounds=rounds,
            inference_chunks=c.inference_chunks,
            model=c.model,
            seed=c.seed,
            maximize=True,
            threads=c.threads,
        )
        results = campaign.run(engine, space, simulate)[:budget]
        table, plot = write_report(
            results, run_dir, "moldesign", "ionisation potential (eV)", maximize=True
        )
        values = [r.value for r in results if r.value is not None]
        log.info(
            "moldesign: %d molecules simulated (%d failed), best IP %.2f eV, in %.1f s; %s %s",
            len(values),
            len(results) - len(values),
            max(values) if values else float("nan"),
            time.perf_counter() - started,
            table,
            plot or "",
        )
