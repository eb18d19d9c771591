"""Trace analyses (installed as tapstrace.analysis): metrics, comparisons and plots.

- ``metrics``: every per-trace metric, callable on a Trace (``metrics.makespan(trace)``).
- ``summary.summarize(trace)``: all of them in one JSON-ready dict.
- ``batch.analyze(paths, by=...)``: many traces, compared (the API of ``tapstrace analyze``).
- ``plots``: the figures and the self-contained HTML report.

Definitions and units: docs/analysis.md. Analyses read traces only (tapstrace.read_trace);
they never import the engine.
"""

from __future__ import annotations
