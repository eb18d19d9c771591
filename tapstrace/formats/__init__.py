"""Other tools' trace formats: import (WfCommons WfFormat, TaPS task records) and export
(Chrome Trace Event JSON for Perfetto, WfFormat, tapstrace Arrow). docs/formats.md.

``tapstrace.read_trace`` reads every importable format (detected by content), so replay,
analyze and ``tapstrace convert`` all accept them.
"""

from __future__ import annotations

from tapstrace.formats.detect import IMPORT_FORMATS, detect, load
from tapstrace.formats.save import EXPORT_FORMATS, output_format, save

__all__ = ["EXPORT_FORMATS", "IMPORT_FORMATS", "detect", "load", "output_format", "save"]
