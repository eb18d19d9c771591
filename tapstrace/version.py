"""Version of the tapstrace package and of the trace schema it writes."""

from __future__ import annotations

__version__ = "0.1.0"

#: Version of the Arrow trace schema (docs/trace-format.md). Bump the minor number for
#: added columns or metadata keys, the major number for anything a reader must adapt to.
TRACE_SCHEMA_VERSION = "1.4"
