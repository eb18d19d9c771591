"""Which attempts an analysis looks at: a time window, functions, workers, statuses.

``tapstrace analyze`` and ``tapstrace compare`` take ``--window START:END`` (seconds from
the run's first submission), ``--function``, ``--worker`` and ``--status``; all of them
narrow the attempts before any metric is computed, so every number, table and figure
describes the same selection.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tapstrace.errors import UserError

STATUSES = ("ok", "failed", "cancelled", "dependency-failed")


@dataclass(frozen=True)
class Selection:
    """Attempts kept for analysis (None: no restriction).

    Attributes:
        window: (start, end) seconds since the run's first recorded time; an attempt is
            kept when its life (submitted, else started, to received, else ended)
            overlaps the window.
        functions: function names kept.
        workers: worker names kept (worker_id, else host:pid); attempts that never
            reached a worker are dropped by this filter.
        statuses: attempt statuses kept.
    """

    window: tuple[float | None, float | None] | None = None
    functions: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """Whether anything is filtered out."""
        return bool(self.window or self.functions or self.workers or self.statuses)

    def describe(self) -> str:
        """The selection as the user wrote it (empty when nothing is filtered)."""
        parts = []
        if self.window:
            start, end = self.window
            parts.append(f"window {_fmt(start)}:{_fmt(end)} s")
        for label, values in (
            ("function", self.functions),
            ("worker", self.workers),
            ("status", self.statuses),
        ):
            if values:
                parts.append(f"{label} {','.join(values)}")
        return "; ".join(parts)

    def expression(self) -> pl.Expr:
        """A filter over prepared attempts (times in seconds since the origin)."""
        keep = pl.lit(True)
        if self.window:
            start, end = self.window
            begin = pl.coalesce("submitted", "ready", "dispatched", "started")
            finish = pl.coalesce("received", "ended", "started", "dispatched", "submitted")
            if end is not None:
                keep &= begin.fill_null(float("-inf")) <= end
            if start is not None:
                keep &= finish.fill_null(float("inf")) >= start
        if self.functions:
            keep &= pl.col("name").is_in(list(self.functions))
        if self.workers:
            keep &= pl.col("worker").is_in(list(self.workers))
        if self.statuses:
            keep &= pl.col("status").is_in(list(self.statuses))
        return keep


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _names(option: str, values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Comma-separated or repeated values, stripped, without duplicates."""
    names = [v.strip() for text in values for v in text.split(",") if v.strip()]
    if values and not names:
        raise UserError(f"{option}: give at least one name")
    return tuple(dict.fromkeys(names))


def parse_window(text: str | None) -> tuple[float | None, float | None] | None:
    """``START:END`` seconds since the first submission; either side may be empty."""
    if text is None:
        return None
    start_text, sep, end_text = text.partition(":")
    if not sep:
        raise UserError(f"--window {text}: expected START:END in seconds, e.g. 0:2.5 or 10:")
    try:
        start = float(start_text) if start_text.strip() else None
        end = float(end_text) if end_text.strip() else None
    except ValueError:
        raise UserError(f"--window {text}: START and END must be numbers of seconds") from None
    if start is not None and end is not None and end < start:
        raise UserError(f"--window {text}: END is before START")
    if start is None and end is None:
        return None
    return start, end


def parse_selection(
    window: str | None,
    functions: tuple[str, ...] | list[str] = (),
    workers: tuple[str, ...] | list[str] = (),
    statuses: tuple[str, ...] | list[str] = (),
) -> Selection:
    """A Selection from command-line values (each list comma-separated or repeated)."""
    chosen = _names("--status", statuses)
    unknown = [s for s in chosen if s not in STATUSES]
    if unknown:
        raise UserError(f"--status {unknown[0]}: choose from {', '.join(STATUSES)}")
    return Selection(
        window=parse_window(window),
        functions=_names("--function", functions),
        workers=_names("--worker", workers),
        statuses=chosen,
    )
