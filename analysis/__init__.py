"""Trace analyses (installed as tapstrace.analysis): metrics and plots over traces.

Analyses read traces only (tapstrace.read_trace); they never import the engine.
"""

from __future__ import annotations
