"""Run facts written into a trace's schema metadata."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import socket
import sys
from collections.abc import Mapping
from typing import Any

from tapstrace.trace.schema import KEY_CONFIG, KEY_RUN, KEY_SCHEMA_VERSION, KEY_VERSION
from tapstrace.version import TRACE_SCHEMA_VERSION, __version__

#: Distributions whose versions are recorded when installed (never imported for it).
PACKAGES = (
    "tapstrace",
    "numpy",
    "polars",
    "pyarrow",
    "dask",
    "distributed",
    "parsl",
    "ray",
    "globus-compute-sdk",
    "ndcctools",
    "proxystore",
    "redis",
    "torch",
    "scikit-learn",
)


def package_versions() -> dict[str, str]:
    """Versions of the key packages that are installed."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def environment() -> dict[str, Any]:
    """Facts about the client machine and interpreter."""
    return {
        "host": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": package_versions(),
    }


def trace_metadata(run: Mapping[str, Any], config_toml: str) -> dict[bytes, bytes]:
    """Schema metadata for a trace: versions, run facts (JSON) and the config (TOML)."""
    return {
        KEY_SCHEMA_VERSION: TRACE_SCHEMA_VERSION.encode(),
        KEY_VERSION: __version__.encode(),
        KEY_RUN: json.dumps(run, default=str).encode(),
        KEY_CONFIG: config_toml.encode(),
    }
