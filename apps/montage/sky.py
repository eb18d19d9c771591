"""A synthetic sky: a star field seen through overlapping tiles, each with its own
pointing, small rotation, sky background plane and noise, written as FITS files with
TAN WCS headers (astropy). Deterministic for a seed, so every tile task regenerates
the same star catalogue instead of receiving it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Survey:
    """The field and its tiles."""

    tiles_x: int
    tiles_y: int
    tile_pixels: int
    overlap: float  # fraction of a tile shared with its neighbour
    pixel_arcsec: float
    center_ra: float
    center_dec: float
    stars_per_tile: int
    rotation_deg: float  # largest tile rotation (uniform in +-)
    background: float  # largest background offset between tiles (counts)
    noise: float  # Gaussian noise (counts)
    seed: int

    @property
    def step_pixels(self) -> float:
        return self.tile_pixels * (1.0 - self.overlap)

    @property
    def field_pixels(self) -> tuple[float, float]:
        """Size of the whole field in pixels (x, y)."""
        return (
            self.step_pixels * (self.tiles_x - 1) + self.tile_pixels,
            self.step_pixels * (self.tiles_y - 1) + self.tile_pixels,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field_wcs(survey: Survey) -> Any:
    """A TAN projection of the whole field, centred on the survey centre."""
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [survey.center_ra, survey.center_dec]
    wcs.wcs.crpix = [0.0, 0.0]
    scale = survey.pixel_arcsec / 3600.0
    wcs.wcs.cdelt = [-scale, scale]
    return wcs


def catalogue(survey: Survey) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Star RA, Dec (degrees) and fluxes (counts), uniform over the field plus a margin."""
    rng = np.random.default_rng(survey.seed)
    width, height = survey.field_pixels
    margin = 0.1 * survey.tile_pixels
    count = survey.stars_per_tile * survey.tiles_x * survey.tiles_y
    x = rng.uniform(-width / 2 - margin, width / 2 + margin, count)
    y = rng.uniform(-height / 2 - margin, height / 2 + margin, count)
    flux = rng.lognormal(mean=7.0, sigma=1.0, size=count)
    ra, dec = _field_wcs(survey).all_pix2world(x, y, 0)
    return ra, dec, flux


def tile_header(survey: Survey, index: int) -> Any:
    """The FITS WCS header of tile ``index`` (row-major over the grid): its pointing and
    rotation as a CD matrix, the form every FITS reader (Montage's too) understands."""
    from astropy.io import fits

    rng = np.random.default_rng([survey.seed, index])
    ix, iy = index % survey.tiles_x, index // survey.tiles_x
    x = (ix - (survey.tiles_x - 1) / 2) * survey.step_pixels
    y = (iy - (survey.tiles_y - 1) / 2) * survey.step_pixels
    ra, dec = _field_wcs(survey).all_pix2world([x], [y], 0)
    angle = math.radians(rng.uniform(-survey.rotation_deg, survey.rotation_deg))
    scale = survey.pixel_arcsec / 3600.0
    cos, sin = math.cos(angle), math.sin(angle)
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRVAL1"], header["CRVAL2"] = float(ra[0]), float(dec[0])
    header["CRPIX1"] = header["CRPIX2"] = (survey.tile_pixels + 1) / 2
    header["CD1_1"], header["CD1_2"] = -scale * cos, scale * sin
    header["CD2_1"], header["CD2_2"] = scale * sin, scale * cos
    header["EQUINOX"], header["RADESYS"] = 2000.0, "ICRS"
    return header


def tile_wcs(survey: Survey, index: int) -> Any:
    """The astropy WCS of tile ``index`` (read from its header, so both always agree)."""
    from astropy.wcs import WCS

    return WCS(tile_header(survey, index))


def tile_image(survey: Survey, index: int) -> tuple[np.ndarray, Any]:
    """Pixels and WCS of one tile: Gaussian stars (FWHM 2.5 px), a background plane of
    its own, Gaussian noise."""
    wcs = tile_wcs(survey, index)
    n = survey.tile_pixels
    ra, dec, flux = catalogue(survey)
    x, y = wcs.all_world2pix(ra, dec, 0)
    sigma, half = 2.5 / 2.3548, 7
    inside = (x > -half) & (x < n + half) & (y > -half) & (y < n + half)
    image = np.zeros((n, n))
    for xs, ys, f in zip(x[inside], y[inside], flux[inside], strict=True):
        x0, x1 = max(int(xs) - half, 0), min(int(xs) + half + 1, n)
        y0, y1 = max(int(ys) - half, 0), min(int(ys) + half + 1, n)
        if x0 >= x1 or y0 >= y1:
            continue
        gx = np.exp(-((np.arange(x0, x1) - xs) ** 2) / (2 * sigma**2))
        gy = np.exp(-((np.arange(y0, y1) - ys) ** 2) / (2 * sigma**2))
        image[y0:y1, x0:x1] += f / (2 * math.pi * sigma**2) * np.outer(gy, gx)
    rng = np.random.default_rng([survey.seed, index, 1])
    level = 100.0 + rng.uniform(0, survey.background)
    slope_x, slope_y = rng.uniform(-0.02, 0.02, 2) * survey.background / 50.0
    yy, xx = np.mgrid[0:n, 0:n]
    image += level + slope_x * (xx - n / 2) + slope_y * (yy - n / 2)
    image += rng.normal(0.0, survey.noise, image.shape)
    return image.astype(np.float32), wcs


def write_tile(survey: Survey, index: int, path: Path) -> None:
    """Write tile ``index`` as a FITS file."""
    from astropy.io import fits

    image, _ = tile_image(survey, index)
    header = tile_header(survey, index)
    header["BUNIT"] = "counts"
    header["ORIGIN"] = "tapstrace synthetic sky"
    fits.PrimaryHDU(image, header=header).writeto(path, overwrite=True)
