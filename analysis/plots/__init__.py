"""Figures of an analysis (altair / vega-lite): compact plot datasets built per trace,
charts over them, and a self-contained HTML report with PNG and SVG files."""

from __future__ import annotations
