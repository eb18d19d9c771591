"""Fixtures of the science-app tests: skip cleanly where the science extra is absent."""

from __future__ import annotations

import importlib.util

import pytest


def needs(*modules: str) -> pytest.MarkDecorator:
    """Skip unless every module of the science extra named is installed."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(
        bool(missing), reason=f"needs tapstrace[science] ({', '.join(missing)} missing)"
    )
