"""The Montage mosaicking pipeline (MontagePy) on synthetic star-field tiles or the
user's FITS images: project, difference and fit overlaps, model and correct the
backgrounds, co-add. See docs/apps/montage.md.
"""

from __future__ import annotations
