"""Checks that an app's optional science libraries are installed, before it runs.

The docking, moldesign and montage apps need libraries that only the ``science`` extra
installs; a missing one must stop the run with one line that names the extra, not with an
ImportError from deep inside a worker.
"""

from __future__ import annotations

import importlib.util

from tapstrace.errors import UserError

EXTRA = "science"


class MissingExtraError(UserError):
    """An app's optional dependencies are not installed."""


def require(app: str, *modules: str, extra: str = EXTRA) -> None:
    """Raise MissingExtraError naming the extra unless every module can be imported.

    Only looks modules up (``find_spec``), it imports nothing.
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"app {app!r} needs {', '.join(missing)} (not installed): "
            f"pip install 'tapstrace[{extra}]'"
        )
