"""The map, reduce and top-N tasks of mapreduce (module level: picklable by reference).

A word is a maximal run of letters (Unicode letters, no digits or underscores), compared
in lower case: ``Don't`` counts ``don`` and ``t``.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from typing import Any

WORD = re.compile(r"[^\W\d_]+")


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased."""
    return WORD.findall(text.lower())


def count_words(paths: list[str]) -> Counter[str]:
    """Map: word counts over every file of a chunk."""
    counts: Counter[str] = Counter()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                counts.update(words(line))
    return counts


def merge_counts(*parts: Counter[str]) -> Counter[str]:
    """Reduce: the sum of several word counts."""
    total: Counter[str] = Counter()
    for part in parts:
        total.update(part)
    return total


def top_words(counts: Counter[str], n: int) -> dict[str, Any]:
    """The ``n`` most frequent words (ties broken alphabetically) and corpus totals."""
    top = heapq.nsmallest(n, counts.items(), key=lambda item: (-item[1], item[0]))
    return {"top": top, "total_words": sum(counts.values()), "distinct_words": len(counts)}
