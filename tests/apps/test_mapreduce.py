"""mapreduce: every file counted, counts equal a direct count, the reduce tree's shape."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tapstrace.apps.mapreduce import MapReduceConfig
from tapstrace.apps.mapreduce.corpus import vocabulary, write_corpus, zipf_probabilities
from tapstrace.engine import Engine, MemoryRecorder
from tests.conftest import build_executor


def direct_count(paths: list[Path]) -> Counter[str]:
    """Generated files hold lower-case words separated by white space."""
    counts: Counter[str] = Counter()
    for path in paths:
        counts.update(path.read_text().split())
    return counts


def test_counts_every_file(engine: Engine, recorder: MemoryRecorder, tmp_path: Path) -> None:
    # 7 files in chunks of 2: the last map task has one file (TaPS dropped it).
    config = MapReduceConfig(
        files=7, words_per_file=300, vocabulary=50, files_per_map=2, fan_in=2, top=5, seed=1
    )
    app = config.build()
    app.run(engine, tmp_path)
    files = sorted((tmp_path / "corpus").glob("*.txt"))
    assert len(files) == 7 and app.files == files
    expected = direct_count(files)
    assert app.counts is not None and app.counts.result() == expected
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["files"] == 7 and summary["map_tasks"] == 4
    assert summary["total_words"] == 7 * 300 == sum(expected.values())
    assert summary["distinct_words"] == len(expected)
    top = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [tuple(pair) for pair in summary["top"]] == top
    with (tmp_path / "top_words.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["word"], int(r["count"])) for r in rows] == top
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4, 5]
    engine.shutdown()
    by_name = Counter(r.name for r in recorder.records)
    assert by_name == {"count_words": 4, "merge_counts": 3, "top_words": 1}  # 4 -> 2 -> 1
    merges = [r for r in recorder.records if r.name == "merge_counts"]
    assert sorted(len(r.parents) for r in merges) == [2, 2, 2]


def test_user_directory(tmp_path: Path) -> None:
    data = tmp_path / "texts"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("Hello, hello world!\nNaïve café 42 foo_bar\n")
    (data / "sub" / "b.txt").write_text("World's end.\n")
    (data / "notes.md").write_text("ignored words\n")
    expected = {"hello": 2, "world": 2, "naïve": 1, "café": 1, "foo": 1, "bar": 1, "s": 1,
                "end": 1}  # fmt: skip
    app = MapReduceConfig(data_dir=data, files_per_map=1, fan_in=3).build()
    with Engine(build_executor("thread", max_threads=2)) as engine:
        app.run(engine, tmp_path)
        assert app.counts is not None and dict(app.counts.result()) == expected
    assert len(app.files) == 2
    assert not (tmp_path / "corpus").exists()
    md = MapReduceConfig(data_dir=data, pattern="*.md").build()
    with Engine(build_executor("thread", max_threads=2)) as engine:
        md.run(engine, tmp_path)
        assert md.counts is not None and dict(md.counts.result()) == {"ignored": 1, "words": 1}


def test_single_file_still_reduced(tmp_path: Path) -> None:
    app = MapReduceConfig(files=1, words_per_file=10, vocabulary=3).build()
    with Engine(build_executor("thread", max_threads=2)) as engine:
        app.run(engine, tmp_path)
    assert app.summary is not None and app.summary["total_words"] == 10


def test_corpus_is_deterministic_and_zipf(tmp_path: Path) -> None:
    one = write_corpus(tmp_path / "one", 3, 20_000, 100, 1.2, seed=5)
    two = write_corpus(tmp_path / "two", 3, 20_000, 100, 1.2, seed=5)
    other = write_corpus(tmp_path / "other", 3, 20_000, 100, 1.2, seed=6)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    assert [p.read_bytes() for p in one] != [p.read_bytes() for p in other]
    words = vocabulary(100, 5)
    assert len(set(words)) == 100
    counts = direct_count(one)
    p = zipf_probabilities(100, 1.2)
    observed = np.array([counts[w] for w in words]) / 60_000
    np.testing.assert_allclose(observed[:5], p[:5], rtol=0.05)
    assert observed[0] > 4 * observed[9]


def test_bad_data_dir(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is not a directory"):
        MapReduceConfig(data_dir=tmp_path / "missing")
    with pytest.raises(ValidationError, match=r"no file in .* matches '\*\*/\*.txt'"):
        MapReduceConfig(data_dir=tmp_path)
