"""The input of mapreduce: a user's directory of text files or a generated corpus.

Generated files follow Zipf's law: word of rank r has probability ∝ 1/r^s over a fixed
pseudo-word vocabulary. The vocabulary comes from the seed alone and each file from
(seed, file index), so the corpus is the same on every machine and any file can be
regenerated alone.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np

LETTERS = np.array(list(string.ascii_lowercase))
WORDS_PER_LINE = 12


def vocabulary(size: int, seed: int) -> list[str]:
    """``size`` distinct pseudo-words, most frequent first; frequent words are shorter."""
    rng = np.random.default_rng([seed, 0x70C])
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < size:
        rank = len(words) + 1
        length = 2 + int(np.log2(rank)) // 2 + int(rng.integers(0, 3))
        word = "".join(rng.choice(LETTERS, length))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def zipf_probabilities(size: int, exponent: float) -> np.ndarray:
    """P(rank r) ∝ 1/r^exponent for r = 1..size."""
    weights = 1.0 / np.arange(1, size + 1, dtype=np.float64) ** exponent
    return weights / weights.sum()


def write_corpus(
    directory: Path,
    files: int,
    words_per_file: int,
    vocabulary_size: int,
    exponent: float,
    seed: int,
) -> list[Path]:
    """Write ``files`` text files of ``words_per_file`` words into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = np.array(vocabulary(vocabulary_size, seed))
    p = zipf_probabilities(vocabulary_size, exponent)
    paths = []
    for index in range(files):
        rng = np.random.default_rng([seed, index])
        words = vocab[rng.choice(vocabulary_size, words_per_file, p=p)]
        lines = (
            " ".join(words[i : i + WORDS_PER_LINE])
            for i in range(0, words_per_file, WORDS_PER_LINE)
        )
        path = directory / f"part-{index:05d}.txt"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def list_files(directory: Path, pattern: str) -> list[Path]:
    """Regular files under ``directory`` matching the glob ``pattern``, sorted."""
    return sorted(p for p in directory.glob(pattern) if p.is_file())
