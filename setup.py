"""Package layout: apps/, executors/ and analysis/ sit at the repository root but install
only as tapstrace.apps, tapstrace.executors and tapstrace.analysis (never top-level, so a
user's own analysis.py cannot shadow ours). Everything else is in pyproject.toml."""

from __future__ import annotations

from setuptools import find_packages, setup

ROOTS = {
    "tapstrace": "tapstrace",
    "tapstrace.apps": "apps",
    "tapstrace.executors": "executors",
    "tapstrace.analysis": "analysis",
}

packages: list[str] = []
for name, folder in ROOTS.items():
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]

setup(packages=packages, package_dir=ROOTS)
