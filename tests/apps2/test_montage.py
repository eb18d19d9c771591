"""The montage app: real MontagePy modules on synthetic astropy star-field tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tapstrace.apps.montage.config import MontageConfig
from tapstrace.apps.montage.sky import tile_wcs
from tapstrace.engine import Engine, MemoryRecorder
from tests.apps2.conftest import needs
from tests.conftest import tapstrace_cli

pytestmark = needs("MontagePy", "astropy", "importlib_resources")

TINY = {"tiles_x": 3, "tiles_y": 2, "tile_pixels": 64, "stars_per_tile": 20, "background": 40.0}


def footprint_coverage(config: MontageConfig, mosaic: Path) -> float:
    """Fraction of the tiles' pixels (sampled, all tiles) that land on a finite mosaic pixel."""
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(mosaic) as hdul:
        data, wcs = hdul[0].data, WCS(hdul[0].header)
    survey = config.survey()
    n = survey.tile_pixels
    grid = np.arange(1, n - 1, 3, dtype=float)
    xs, ys = (a.ravel() for a in np.meshgrid(grid, grid))
    hits = total = 0
    for index in range(survey.tiles_x * survey.tiles_y):
        ra, dec = tile_wcs(survey, index).all_pix2world(xs, ys, 0)
        px, py = (np.rint(v).astype(int) for v in wcs.all_world2pix(ra, dec, 0))
        inside = (px >= 0) & (py >= 0) & (px < data.shape[1]) & (py < data.shape[0])
        hits += int(np.isfinite(data[py[inside], px[inside]]).sum())
        total += len(xs)
    return hits / total


@pytest.mark.slow
def test_mosaic_covers_every_tile_and_levels_backgrounds(
    engine: Engine, recorder: MemoryRecorder, tmp_path: Path
) -> None:
    from astropy.io import fits

    config = MontageConfig(**TINY, keep_intermediate=True)
    config.build().run(engine, tmp_path)
    assert all(r.status == "ok" for r in recorder.records)
    mosaic = tmp_path / "mosaic.fits"
    assert footprint_coverage(config, mosaic) == 1.0
    png = (tmp_path / "mosaic.png").read_bytes()
    assert png.startswith(b"\x89PNG")

    # Background matching: the tiles' sky levels differ by up to 40 counts on input and
    # agree after mBgModel/mBackground.
    def sky(folder: str) -> list[float]:
        paths = sorted((tmp_path / "montage" / folder).glob("tile_*[0-9].fits"))
        return [float(np.nanmedian(fits.getdata(p))) for p in paths]

    before, after = np.ptp(sky("raw")), np.ptp(sky("corrected"))
    assert before > 20 and after < 5, (before, after)

    names = [r.name for r in recorder.records]
    tiles = 6
    for name, count in {
        "make_tile": tiles,
        "make_header": 1,
        "find_overlaps": 1,
        "project": tiles,
        "background_model": 1,
        "subtract_background": tiles,
        "co_add": 1,
        "render": 1,
    }.items():
        assert names.count(name) == count, name
    assert names.count("difference") == names.count("fit_plane") >= 7  # 3x2 grid: 7+ pairs
    by_id = {r.task_id: r for r in recorder.records}
    for r in recorder.records:
        parents = [by_id[p].name for p in r.parents]
        if r.name == "difference":  # exactly its two projections and the header
            assert sorted(parents) == ["make_header", "project", "project"]
        if r.name == "fit_plane":
            assert parents == ["difference"]
        if r.name == "project":
            assert sorted(parents) == ["make_header", "make_tile"]
        if r.name == "subtract_background":
            assert sorted(parents) == ["background_model", "project"]


@pytest.mark.slow
def test_cli_run_on_the_users_own_images(tmp_path: Path) -> None:
    """--app.input-dir: mosaic FITS files made elsewhere (here: by a first run)."""
    first = tapstrace_cli(
        "run", "montage", "--executor", "thread",
        "--app.tiles-x", "2", "--app.tiles-y", "2", "--app.tile-pixels", "48",
        "--app.keep-intermediate", "true", cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    (raw,) = tmp_path.glob("runs/montage-thread-*/montage/raw")
    second = tapstrace_cli(
        "run", "montage", "--executor", "process", "--executor.max-processes", "2",
        "--app.input-dir", str(raw), "--record", "--trace", "own.arrow", cwd=tmp_path,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    from tapstrace.trace import read_trace

    trace = read_trace(tmp_path / "own.arrow")
    names = trace.tasks["name"].to_list()
    assert "make_tile" not in names and names.count("project") == 4
    assert set(trace.tasks["status"].to_list()) == {"ok"}

    missing = tapstrace_cli(
        "run", "montage", "--executor", "thread", "--app.input-dir", "nowhere", cwd=tmp_path
    )  # fmt: skip
    assert missing.returncode == 2 and "--app.input-dir" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = tapstrace_cli(
        "run", "montage", "--executor", "thread", "--app.input-dir", "empty", cwd=tmp_path
    )  # fmt: skip
    assert empty.returncode == 2
    assert "--app.input-dir: no FITS images (.fits, .fit, .fts) in empty" in empty.stderr
