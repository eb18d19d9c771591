"""Reading the dates other tools write: ISO 8601 (basic or extended, any offset) and the
``MM-DD-YYTHH:MM:SSZ`` form found in WfInstances."""

from __future__ import annotations

from datetime import UTC, datetime

#: strptime formats tried after ISO 8601; WfInstances write month-day-year.
_FORMATS = (
    "%m-%d-%yT%H:%M:%SZ",
    "%m-%d-%yT%H:%M:%S%z",
    "%m-%d-%YT%H:%M:%SZ",
    "%m-%d-%YT%H:%M:%S%z",
    "%Y%m%dT%H%M%SZ",
    "%Y%m%dT%H%M%S%z",
    "%Y-%m-%d %H:%M:%S%z",
)


def parse_timestamp(text: str) -> tuple[datetime, bool] | None:
    """The instant ``text`` names, and whether it carried a time zone.

    Dates without a zone are read as UTC (the second value is then False, so callers can
    say so). Returns None when ``text`` is not a date in any known form.
    """
    value = text.strip()
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        for fmt in _FORMATS:
            try:
                when = datetime.strptime(value, fmt)
            except ValueError:
                continue
            if fmt.endswith("Z"):
                when = when.replace(tzinfo=UTC)
            break
    if when is None:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC), False
    try:
        return when.astimezone(UTC), True
    except OverflowError:  # year 1 or 9999 moved past the calendar's edge by its offset
        return None
