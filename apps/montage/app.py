"""The Montage workflow on the engine: every module call is a task, with its true
dependencies (a difference waits for its two projections only, a background correction
for the model and its own projection)."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tapstrace.apps.montage.tasks import (
    background_model,
    co_add,
    difference,
    find_overlaps,
    fit_plane,
    make_header,
    make_tile,
    project,
    render,
    subtract_background,
)
from tapstrace.engine.engine import Engine
from tapstrace.plugins.config import App

if TYPE_CHECKING:
    from tapstrace.apps.montage.config import MontageConfig

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts")


def fits_images(folder: Path) -> list[Path]:
    """The FITS files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in FITS_SUFFIXES)


class MontageApp(App):
    """Synthesise (or find) the images, then run mProject, mOverlaps, mDiff, mFitplane,
    mBgModel, mBackground, mAdd and mViewer as tasks."""

    def __init__(self, config: MontageConfig) -> None:
        self.config = config

    def _inputs(self, engine: Engine, work: Path) -> tuple[Path, dict[str, Any]]:
        """The folder of input images and each image (a path, or the future of a synthetic
        tile) by file name."""
        c = self.config
        if c.input_dir is not None:
            return c.input_dir, {p.name: str(p) for p in fits_images(c.input_dir)}
        raw = work / "raw"
        raw.mkdir(parents=True)
        survey = c.survey().as_dict()
        names = [f"tile_{i:04d}.fits" for i in range(c.tiles_x * c.tiles_y)]
        return raw, {
            name: engine.submit(make_tile, survey, i, str(raw / name))
            for i, name in enumerate(names)
        }

    def run(self, engine: Engine, run_dir: Path) -> None:
        started = time.perf_counter()
        work = run_dir / "montage"
        folders = {name: work / name for name in ("projected", "differences", "corrected")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        image_dir, images = self._inputs(engine, work)
        header = engine.submit(make_header, str(image_dir), list(images.values()), str(work))
        overlaps = engine.submit(find_overlaps, header, str(work))
        projected = {
            name: engine.submit(project, image, header, str(folders["projected"] / name))
            for name, image in images.items()
        }
        pairs: list[tuple[str, str]] = overlaps.result()
        log.info("montage: %d images, %d overlaps", len(projected), len(pairs))
        fits = []
        for k, (plus, minus) in enumerate(pairs):
            diff = engine.submit(
                difference,
                projected[plus],
                projected[minus],
                header,
                str(folders["differences"] / f"diff_{k:05d}.fits"),
            )
            fits.append(engine.submit(fit_plane, diff, plus, minus))
        model = engine.submit(background_model, list(projected.values()), fits, str(work))
        corrected = [
            engine.submit(subtract_background, image, model, str(folders["corrected"] / name))
            for name, image in projected.items()
        ]
        mosaic = engine.submit(co_add, corrected, header, str(run_dir / "mosaic.fits"))
        png = engine.submit(render, mosaic, str(run_dir / "mosaic.png"))
        png.result()
        if not self.config.keep_intermediate:
            for folder in folders.values():
                shutil.rmtree(folder, ignore_errors=True)
        log.info(
            "montage: mosaic %s and %s in %.1f s",
            mosaic.result(),
            png.result(),
            time.perf_counter() - started,
        )
