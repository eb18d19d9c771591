"""The Montage tasks: thin wrappers over MontagePy's modules that read and write FITS
files in the run's work directory and return paths and small tables.

Files move through the file system, as in Montage itself: with a distributed executor
the work directory must be on a file system that every worker sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tapstrace.apps.montage.sky import Survey, write_tile
from tapstrace.apps.threads import limit_threads

FIT_COLUMNS = [
    "a",
    "b",
    "c",
    "crpix1",
    "crpix2",
    "xmin",
    "xmax",
    "ymin",
    "ymax",
    "xcenter",
    "ycenter",
    "npixel",
    "rms",
    "boxx",
    "boxy",
    "boxwidth",
    "boxheight",
    "boxang",
]


class MontageError(RuntimeError):
    """A Montage module returned an error status."""


def _check(module: str, result: dict[str, Any]) -> dict[str, Any]:
    if str(result.get("status")) != "0":
        raise MontageError(f"{module}: {result.get('msg', result)}")
    return result


def _table(path: Path) -> Any:
    """A Montage (IPAC) table as an astropy Table."""
    from astropy.table import Table

    return Table.read(path, format="ascii.ipac")


def make_tile(survey: dict[str, Any], index: int, path: str) -> str:
    """Synthesise tile ``index`` of the survey into ``path``."""
    limit_threads(1, "numpy")
    write_tile(Survey(**survey), index, Path(path))
    return path


def make_header(image_dir: str, images: list[str], work_dir: str) -> dict[str, str]:
    """mImgtbl over the input images, then mMakeHdr: the mosaic's header, bounding all of
    them. ``images`` (the tiles' paths) only orders this task after the tiles."""
    from MontagePy.main import mImgtbl, mMakeHdr

    work = Path(work_dir)
    table, header = work / "images.tbl", work / "mosaic.hdr"
    found = _check("mImgtbl", mImgtbl(image_dir, str(table)))
    if int(found.get("count", 0)) < len(images):
        raise MontageError(f"mImgtbl found {found.get('count')} of {len(images)} images")
    _check("mMakeHdr", mMakeHdr(str(table), str(header)))
    return {"table": str(table), "header": str(header)}


def find_overlaps(header: dict[str, str], work_dir: str) -> list[tuple[str, str]]:
    """mOverlaps on the input images: the pairs (plus, minus) of file names that overlap."""
    from MontagePy.main import mOverlaps

    diffs = Path(work_dir) / "overlaps.tbl"
    result = _check("mOverlaps", mOverlaps(header["table"], str(diffs)))
    if int(result.get("count", 0)) == 0:
        return []
    table = _table(diffs)
    return [(Path(str(row["plus"])).name, Path(str(row["minus"])).name) for row in table]


def project(image: str, header: dict[str, str], out: str) -> str:
    """mProject: reproject one image onto the mosaic's header (flux-conserving)."""
    from MontagePy.main import mProject

    _check("mProject", mProject(image, out, header["header"]))
    return out


def difference(plus: str, minus: str, header: dict[str, str], out: str) -> str | None:
    """mDiff: the difference of two projected images on their overlap; None when the
    projected images do not overlap after all (footprints that only touched), which
    mDiffExec also skips."""
    from MontagePy.main import mDiff

    result = mDiff(plus, minus, out, header["header"])
    if str(result.get("status")) != "0" and "overlap" in str(result.get("msg", "")):
        return None
    _check("mDiff", result)
    return out


def fit_plane(diff: str | None, plus: str, minus: str) -> dict[str, Any] | None:
    """mFitplane: a plane fitted to a difference image (outliers such as stars excluded);
    None when there is no difference or too few pixels to fit, as mFitExec skips them."""
    from MontagePy.main import mFitplane

    if diff is None:
        return None
    result = mFitplane(diff)
    if str(result.get("status")) != "0":
        return None
    fit = {name: float(result[name]) for name in FIT_COLUMNS}
    return {"plus": Path(plus).name, "minus": Path(minus).name, **fit}


def _write_fits_table(path: Path, fits: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """The table of plane fits that mBgModel reads (the columns mFitExec writes)."""
    columns = ["plus", "minus", *FIT_COLUMNS]
    lines = ["|" + "|".join(f"{name:>16}" for name in columns) + "|"]
    for fit in fits:
        values = [f"{ids[fit['plus']]:>16d}", f"{ids[fit['minus']]:>16d}"]
        values += [f"{fit[name]:>16.6e}" for name in FIT_COLUMNS]
        lines.append(" " + " ".join(values) + " ")
    path.write_text("\n".join(lines) + "\n")


def background_model(
    projected: list[str], fits: list[dict[str, Any] | None], work_dir: str
) -> dict[str, list[float]]:
    """mBgModel: the background plane (a, b, c) of each projected image that best levels
    every overlap at once; returns them by file name."""
    from MontagePy.main import mBgModel, mImgtbl

    work = Path(work_dir)
    table, fits_table, corrections = (
        work / "projected.tbl",
        work / "fits.tbl",
        work / "corrections.tbl",
    )
    _check("mImgtbl", mImgtbl(str(Path(projected[0]).parent), str(table)))
    images = _table(table)
    ids = {Path(str(row["fname"])).name: int(row["cntr"]) for row in images}
    names = {cntr: name for name, cntr in ids.items()}
    usable = [f for f in fits if f is not None and f["plus"] in ids and f["minus"] in ids]
    _write_fits_table(fits_table, usable, ids)
    _check("mBgModel", mBgModel(str(table), str(fits_table), str(corrections)))
    out: dict[str, list[float]] = {}
    for row in _table(corrections):
        out[names[int(row["id"])]] = [float(row["a"]), float(row["b"]), float(row["c"])]
    return out


def subtract_background(image: str, corrections: dict[str, list[float]], out: str) -> str:
    """mBackground: remove the modelled plane from one projected image."""
    from MontagePy.main import mBackground

    a, b, c = corrections.get(Path(image).name, [0.0, 0.0, 0.0])
    _check("mBackground", mBackground(image, out, a, b, c))
    return out


def co_add(images: list[str], header: dict[str, str], out: str) -> str:
    """mImgtbl over the corrected images, then mAdd: the mosaic (mean of overlaps)."""
    from MontagePy.main import mAdd, mImgtbl

    folder = Path(images[0]).parent
    table = folder.parent / "corrected.tbl"
    _check("mImgtbl", mImgtbl(str(folder), str(table)))
    _check("mAdd", mAdd(str(folder), str(table), header["header"], out))
    return out


def render(mosaic: str, out: str) -> str:
    """mViewer: a PNG of the mosaic (grey scale, logarithmic-Gaussian stretch)."""
    from MontagePy.main import mViewer

    command = f'-ct 0 -gray "{mosaic}" -1s max gaussian-log -out "{out}"'
    _check("mViewer", mViewer(command, out, mode=2))
    return out
