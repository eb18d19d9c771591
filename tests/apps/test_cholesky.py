"""cholesky: the factorisation is right, the graph has the true tile dependencies."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tapstrace.apps.cholesky import CholeskyCheckFailed, CholeskyConfig, make_tile, potrf
from tapstrace.engine import Engine, MemoryRecorder
from tests.apps.probes import blas_threads
from tests.conftest import build_executor, tapstrace_cli


def assemble(tiles: dict[tuple[int, int], np.ndarray], count: int, block: int) -> np.ndarray:
    """The lower-triangular matrix whose tiles (i >= j) are given."""
    out = np.zeros((count * block, count * block))
    for (i, j), tile in tiles.items():
        out[i * block : (i + 1) * block, j * block : (j + 1) * block] = tile
    return out


def test_factor_matches_numpy(engine: Engine, recorder: MemoryRecorder, tmp_path: Path) -> None:
    config = CholeskyConfig(matrix_size=96, block_size=24, seed=3)
    app = config.build()
    app.run(engine, tmp_path)
    count, block = 4, 24
    a = assemble({(i, j): make_tile(3, i, j, block, 96) for i in range(count)
                  for j in range(i + 1)}, count, block)  # fmt: skip
    a = np.tril(a) + np.tril(a, -1).T
    lower = assemble({key: f.result() for key, f in app.factor.items()}, count, block)
    np.testing.assert_allclose(lower, np.linalg.cholesky(a), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(lower @ lower.T, a, rtol=1e-12)
    check = json.loads((tmp_path / "check.json").read_text())
    assert check["passed"] is True and check["relative_error"] < 1e-14
    assert check == {**app.check, "passed": True}
    engine.shutdown()
    names = Counter(r.name for r in recorder.records)
    t = count
    assert names == {
        "make_tile": t * (t + 1) // 2,
        "potrf": t,
        "trsm": t * (t - 1) // 2,
        "syrk": t * (t - 1) // 2,
        "gemm": t * (t - 1) * (t - 2) // 6,
        "check_tile": t * (t + 1) // 2,
    }
    assert all(r.status == "ok" for r in recorder.records)


def test_dependencies_are_the_tile_dependencies() -> None:
    """Each kernel waits for exactly the tile versions it reads, nothing more."""
    recorder = MemoryRecorder()
    with Engine(build_executor("thread", max_threads=2), recorder=recorder) as engine:
        CholeskyConfig(matrix_size=50, block_size=10, verify=False).build().run(engine, Path("."))
    records = {r.task_id: r for r in recorder.records}
    name = {tid: r.name for tid, r in records.items()}
    expected_parents = {
        "make_tile": [[]],
        "potrf": [["make_tile"], ["syrk"]],
        "trsm": [["make_tile", "potrf"], ["gemm", "potrf"]],
        "syrk": [["make_tile", "trsm"], ["syrk", "trsm"]],
        "gemm": [["make_tile", "trsm", "trsm"], ["gemm", "trsm", "trsm"]],
    }
    for r in records.values():
        parents = sorted(name[p] for p in r.parents)
        assert parents in expected_parents[r.name], (r.name, parents)
        assert all(p < r.task_id for p in r.parents)
    # Step k's potrf reads the tile that step k-1's syrk wrote: the DAG chains the steps.
    potrfs = sorted(tid for tid, n in name.items() if n == "potrf")
    assert [name[records[tid].parents[0]] for tid in potrfs] == ["make_tile"] + ["syrk"] * 4


def test_check_failure_is_reported(tmp_path: Path) -> None:
    with Engine(build_executor("thread", max_threads=2)) as engine:
        app = CholeskyConfig(matrix_size=32, block_size=8, tolerance=1e-300).build()
        with pytest.raises(CholeskyCheckFailed, match="exceeds tolerance"):
            app.run(engine, tmp_path)
    assert json.loads((tmp_path / "check.json").read_text())["passed"] is False


def test_block_size_must_divide() -> None:
    with pytest.raises(ValidationError, match="block_size 30 does not divide matrix_size 100"):
        CholeskyConfig(matrix_size=100, block_size=30)


@pytest.mark.slow
def test_cli_names_the_flag(tmp_path: Path) -> None:
    result = tapstrace_cli(
        "run", "cholesky", "--app.matrix-size", "100", "--app.block-size", "30", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tapstrace: error: --app.block-size: Value error, block_size 30 does not divide "
        "matrix_size 100 (got '30')"
    ]


@pytest.mark.slow
def test_blas_threads_pinned_in_worker_processes() -> None:
    """After a cholesky task, the worker's BLAS pools run one thread each."""
    with Engine(build_executor("process", max_processes=1)) as engine:
        before = engine.submit(blas_threads).result()
        engine.submit(potrf, np.eye(4) * 2, 1).result()
        after = engine.submit(blas_threads).result()
    assert after and all(n == 1 for n in after.values()), after
    assert before.keys() <= after.keys()
