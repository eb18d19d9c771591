"""Checking an executor's JSON options against what the framework accepts, before use.

A mistyped key in ``--executor.cluster-options`` must be one line naming the flag and the
key, not a framework failing in its worker processes with a page of tracebacks.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tapstrace.errors import UserError


def parameters(*targets: Callable[..., Any]) -> set[str]:
    """Keyword parameters that ``targets`` (functions or classes) name explicitly."""
    names: set[str] = set()
    for target in targets:
        for name, param in inspect.signature(target).parameters.items():
            if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
                names.add(name)
    names.discard("self")
    return names


def check_keys(options: Mapping[str, Any], flag: str, accepted: Iterable[str], where: str) -> None:
    """Raise a UserError naming ``flag`` and the first key of ``options`` not in
    ``accepted`` (``where`` says whose options they are), with the closest valid key."""
    known = set(accepted)
    for key in options:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), sorted(known), 1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{flag}: {key!r} is not an option of {where}{hint}")
