"""Numbers as people read them: seconds, bytes, shares and counts with their units.

One place for the terminal tables and the HTML report, so both say the same thing.
"""

from __future__ import annotations

from typing import Any

MISSING = "-"


def seconds(value: float | None) -> str:
    """Seconds with a unit that keeps 3 significant figures readable (µs, ms, s, min, h)."""
    if value is None:
        return MISSING
    size = abs(value)
    if size < 1e-9:  # zero, or floating-point dust from a difference
        return "0 s"
    if size >= 3600:
        return f"{value / 3600:.2f} h"
    if size >= 120:
        return f"{value / 60:.1f} min"
    if size >= 1:
        return f"{value:.3g} s" if size < 100 else f"{value:.0f} s"
    if size >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} µs"


def signed_seconds(value: float | None) -> str:
    """A difference of seconds, with its sign."""
    if value is None:
        return MISSING
    text = seconds(value)
    return text if value < 0 or text == "0 s" else f"+{text}"


def size(value: float | None) -> str:
    """Bytes in binary units."""
    if value is None:
        return MISSING
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"


def number(value: float | None, digits: int = 3) -> str:
    """A plain number (integers as they are, others to ``digits`` significant figures,
    with thousands separators), or "-" when unknown."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 10**digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def percent(value: float | None) -> str:
    """A share as a percentage."""
    return MISSING if value is None else f"{value * 100:.1f}%"


def rate(value: float | None) -> str:
    """Tasks per second."""
    return MISSING if value is None else f"{number(value)}/s"


def by_key(key: str, value: Any) -> str:
    """A value formatted by what its key says it is (``*_s`` seconds, ``*bytes*`` bytes,
    shares and fractions as percentages, ``*_per_s`` rates)."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    name = key.lower()
    if name.endswith("_per_s"):
        return rate(value)
    if name.endswith("_ratio") or name == "ratio":
        return f"{value:.2f}x"
    if "delta" in name and (name.endswith("_s") or "_s_" in name):
        return signed_seconds(value)
    if name.endswith("_s") or name.endswith("_seconds") or "_s_" in name:
        return seconds(value)
    if "bytes" in name:
        return size(value)
    if any(w in name for w in ("share", "fraction", "efficiency")):
        return percent(value)
    return number(value)


def title(key: str) -> str:
    """A column name for people: ``mean_execution_s`` -> "mean execution"."""
    words = key.removesuffix("_per_s") if key.endswith("_per_s") else key.removesuffix("_s")
    words = words.replace("_", " ").replace(".", " ")
    return words.replace("median", "p50").strip()
