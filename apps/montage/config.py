"""The montage app's parameters (CLI flags ``--app.*`` and TOML keys)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from tapstrace.apps.extras import require
from tapstrace.apps.montage.app import FITS_SUFFIXES, MontageApp, fits_images
from tapstrace.apps.montage.sky import Survey
from tapstrace.errors import ConfigError
from tapstrace.plugins.config import AppConfig
from tapstrace.plugins.registry import register


@register("app")
class MontageConfig(AppConfig):
    """Montage mosaicking (MontagePy) of overlapping sky images into one mosaic (FITS
    and PNG). Default input: a synthetic star field observed as a grid of tiles with
    their own pointings, rotations and backgrounds (astropy). Needs the science extra.
    """

    name: ClassVar[str] = "montage"

    input_dir: Path | None = Field(
        None,
        description="A folder of FITS images with celestial WCS to mosaic instead of the "
        "synthetic tiles.",
    )
    tiles_x: int = Field(4, ge=1, description="Synthetic tiles along right ascension.")
    tiles_y: int = Field(4, ge=1, description="Synthetic tiles along declination.")
    tile_pixels: int = Field(256, ge=32, description="Synthetic tile width and height (pixels).")
    overlap: float = Field(
        0.2, ge=0.05, lt=0.9, description="Fraction of a tile shared with its neighbour."
    )
    pixel_arcsec: float = Field(1.0, gt=0, description="Pixel scale (arcsec).")
    center_ra: float = Field(180.0, ge=0, lt=360, description="Field centre RA (degrees).")
    center_dec: float = Field(30.0, gt=-89, lt=89, description="Field centre Dec (degrees).")
    stars_per_tile: int = Field(150, ge=0, description="Mean stars per tile area.")
    rotation_deg: float = Field(
        5.0, ge=0, le=45, description="Largest tile rotation (degrees, uniform in +-)."
    )
    background: float = Field(
        50.0, ge=0, description="Largest sky-level difference between tiles (counts)."
    )
    noise: float = Field(3.0, ge=0, description="Gaussian pixel noise (counts).")
    keep_intermediate: bool = Field(
        False, description="Keep projected, difference and corrected images in the run dir."
    )
    seed: int = Field(0, description="Seed of the star field, pointings and backgrounds.")

    @field_validator("input_dir")
    @classmethod
    def _existing_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value} is not a folder")
        return value

    def survey(self) -> Survey:
        """The synthetic survey these parameters describe."""
        return Survey(
            tiles_x=self.tiles_x,
            tiles_y=self.tiles_y,
            tile_pixels=self.tile_pixels,
            overlap=self.overlap,
            pixel_arcsec=self.pixel_arcsec,
            center_ra=self.center_ra,
            center_dec=self.center_dec,
            stars_per_tile=self.stars_per_tile,
            rotation_deg=self.rotation_deg,
            background=self.background,
            noise=self.noise,
            seed=self.seed,
        )

    def build(self) -> MontageApp:
        require(self.name, "MontagePy", "astropy", "importlib_resources")
        if self.input_dir is not None and not fits_images(self.input_dir):
            raise ConfigError(
                f"--app.input-dir: no FITS images ({', '.join(FITS_SUFFIXES)}) in {self.input_dir}"
            )
        return MontageApp(self)
