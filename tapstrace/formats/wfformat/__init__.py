"""WfCommons WfFormat instances (https://github.com/wfcommons/wfformat): import and export.

Import reads schema 1.5 and later (``workflow.specification`` + ``workflow.execution``)
and the flat layout of 1.4 and earlier (``workflow.tasks`` with per-task ``files``),
validated against ``model`` as it is parsed. A task's output bytes are the sum of its
output files, its input bytes the sum of the files it reads; ``runtimeInSeconds`` is its
execution time.

WfFormat records runtimes, not start times (a 1.5 task may carry its own ``executedAt``;
real instances rarely do). A task without one gets ``started`` = the workflow's
``executedAt`` and ``ended`` = started + runtime: only ``ended - started`` is a measurement,
and the trace metadata says so under ``timing``. Client-side times (submitted, ready,
dispatched, received) stay null. See docs/formats.md.
"""

from __future__ import annotations

from tapstrace.formats.wfformat.export import to_wfformat, write_wfformat
from tapstrace.formats.wfformat.reader import ANCHORED_NOTE, is_wfformat, read_wfformat

__all__ = ["ANCHORED_NOTE", "is_wfformat", "read_wfformat", "to_wfformat", "write_wfformat"]
