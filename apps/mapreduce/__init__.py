"""Word count with map tasks over chunks of files and a reduce tree to the top-N words.

Every file is counted: files are cut into chunks of ``files_per_map`` (the last chunk may
be shorter), each chunk is one map task, and reduce tasks merge at most ``fan_in`` counts
each, level by level, until one count remains; a last task picks the top-N words. The
whole graph is submitted at once.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from tapstrace.apps.mapreduce.corpus import list_files, write_corpus
from tapstrace.apps.mapreduce.tasks import count_words, merge_counts, top_words
from tapstrace.engine.engine import Engine
from tapstrace.engine.future import TaskFuture
from tapstrace.plugins.config import App, AppConfig
from tapstrace.plugins.registry import register

log = logging.getLogger(__name__)


@register("app")
class MapReduceConfig(AppConfig):
    """Word count: map tasks over chunks of text files, a reduce tree, the top-N words."""

    name: ClassVar[str] = "mapreduce"

    pattern: str = Field(
        "**/*.txt", description="data_dir: glob of the files to count (relative to data_dir)."
    )
    data_dir: Path | None = Field(
        None, description="Directory of text files to count (default: generate a corpus)."
    )
    files: int = Field(96, ge=1, description="Generated corpus: number of files.")
    words_per_file: int = Field(20_000, ge=1, description="Generated corpus: words per file.")
    vocabulary: int = Field(
        20_000, ge=1, description="Generated corpus: distinct words (Zipf-distributed)."
    )
    zipf_exponent: float = Field(
        1.1, gt=0, description="Generated corpus: P(word of rank r) ∝ 1/r^exponent."
    )
    seed: int = Field(0, description="Generated corpus: random seed.")
    files_per_map: int = Field(2, ge=1, description="Files counted by one map task.")
    fan_in: int = Field(4, ge=2, description="Counts merged by one reduce task.")
    top: int = Field(20, ge=1, description="How many of the most frequent words to report.")

    @field_validator("data_dir")
    @classmethod
    def _has_files(cls, data_dir: Path | None, info: ValidationInfo) -> Path | None:
        if data_dir is None:
            return None
        if not data_dir.is_dir():
            raise ValueError(f"{data_dir} is not a directory")
        pattern = info.data.get("pattern", "**/*.txt")
        if not list_files(data_dir, pattern):
            raise ValueError(f"no file in {data_dir} matches {pattern!r}")
        return data_dir

    def build(self) -> MapReduceApp:
        return MapReduceApp(self)


def reduce_tree(engine: Engine, parts: list[TaskFuture], fan_in: int) -> TaskFuture:
    """Merge ``parts`` with reduce tasks of at most ``fan_in`` inputs, level by level."""
    level = parts
    while len(level) > 1:
        level = [
            engine.submit(merge_counts, *level[i : i + fan_in])
            for i in range(0, len(level), fan_in)
        ]
    if not level:
        raise ValueError("nothing to reduce")
    return level[0]


class MapReduceApp(App):
    """Counts words; writes ``top_words.csv`` and ``summary.json`` in the run directory.

    After ``run``: ``counts`` is the future of the full word count (the tree's root),
    ``files`` the files counted and ``summary`` what ``summary.json`` holds.
    """

    def __init__(self, config: MapReduceConfig) -> None:
        self.config = config
        self.files: list[Path] = []
        self.counts: TaskFuture | None = None
        self.summary: dict[str, Any] | None = None

    def _input(self, run_dir: Path) -> list[Path]:
        c = self.config
        if c.data_dir is not None:
            return list_files(c.data_dir, c.pattern)
        start = time.perf_counter()
        files = write_corpus(
            run_dir / "corpus", c.files, c.words_per_file, c.vocabulary, c.zipf_exponent, c.seed
        )
        log.info(
            "mapreduce: generated %d files of %d words in %s (%.3f s)",
            len(files), c.words_per_file, run_dir / "corpus", time.perf_counter() - start,
        )  # fmt: skip
        return files

    def run(self, engine: Engine, run_dir: Path) -> None:
        c = self.config
        with engine.client_phase("prepare input"):
            self.files = self._input(run_dir)
        paths = [str(p.resolve()) for p in self.files]
        start = time.perf_counter()
        chunks = [paths[i : i + c.files_per_map] for i in range(0, len(paths), c.files_per_map)]
        maps = [engine.submit(count_words, chunk) for chunk in chunks]
        self.counts = reduce_tree(engine, maps, c.fan_in)
        result = engine.submit(top_words, self.counts, c.top).result()
        seconds = time.perf_counter() - start
        with (run_dir / "top_words.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["rank", "word", "count"])
            for rank, (word, count) in enumerate(result["top"], 1):
                writer.writerow([rank, word, count])
        self.summary = {
            "files": len(paths),
            "map_tasks": len(maps),
            "total_words": result["total_words"],
            "distinct_words": result["distinct_words"],
            "top": result["top"],
            "seconds": seconds,
        }
        (run_dir / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
        log.info(
            "mapreduce: %d files, %d map tasks, %d words (%d distinct) in %.3f s; top: %s",
            len(paths), len(maps), result["total_words"], result["distinct_words"], seconds,
            ", ".join(f"{w} {n}" for w, n in result["top"][:5]),
        )  # fmt: skip
