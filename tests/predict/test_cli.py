"""tapstrace calibrate / predict / list models as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapstrace.trace.reader import read_trace
from tests.conftest import tapstrace_cli
from tests.predict.builders import fixed_model

ROOT = Path(__file__).resolve().parents[2]
TRACE = str(ROOT / "traces" / "fedlearn.arrow")


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("TAPSTRACE_MODELS", str(folder))
    return folder


ERRORS = [
    (["predict", TRACE, "--workers", "2"], "give --model FILE or --executor NAME"),
    (["predict", TRACE, "--executor", "dask", "--workers", "2"], "no model calibrated for it"),
    (["predict", TRACE, "--model", "bad.json", "--workers", "2"], "bad.json: not a JSON model"),
    (["predict", TRACE, "--model", "good.json", "--workers", "0"], "--workers 0: worker counts"),
    (["predict", TRACE, "--model", "good.json", "--workers", "x"], "'x' is not a whole number"),
    (["predict", "missing.arrow", "--model", "good.json", "--workers", "2"], "missing.arrow: no"),
    (["predict", TRACE, "--model", "good.json", "--workers", "2", "--cores", "-1"], "--cores"),
    (["calibrate", "missing.arrow"], "missing.arrow: no such file or directory"),
    (["calibrate", "--executor", "nope"], "unknown executor 'nope'"),
    (["calibrate", "--executor", "thread", "--executor.max-threads", "0"], "--executor.max-th"),
    (["calibrate", "--engine.retries", "2"], "calibrate takes executor settings only"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[" ".join(a[:3]) for a, _ in ERRORS])
def test_errors_are_one_line(models: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.json").write_text("{")
    fixed_model().save(tmp_path / "good.json")
    result = tapstrace_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tapstrace: error: "), result.stderr
    assert message in lines[0]


def test_cores_share_the_workers_first_use_imports(tmp_path: Path) -> None:
    """moldesign's workers each import scikit-learn and tblite on first use: on one core
    for 16 workers those imports queue, on a core per worker (--cores 0) they do not."""
    fixed_model(workers=16).save(tmp_path / "m.json")
    trace = str(Path(TRACE).parent / "moldesign.arrow")
    spans = {}
    for cores in ("0", "1"):
        out = tapstrace_cli("predict", trace, "--model", "m.json", "--workers", "16",
                            "--cores", cores, "--json", cwd=tmp_path)  # fmt: skip
        assert out.returncode == 0, out.stderr
        document = json.loads(out.stdout)
        (row,) = document["predictions"]
        # moldesign's imports were timed here (its libraries are installed)
        assert document["imports"]["error"] is None and document["imports"]["units"] >= 4
        assert document["imports"]["cpu_seconds"] > 0.1
        spans[cores] = row["makespan_s"]
        assert row["cores"] == (None if cores == "0" else 1.0)
    assert spans["1"] > spans["0"] + 1.0


@pytest.mark.slow
def test_calibrate_list_predict(models: Path, tmp_path: Path) -> None:
    done = tapstrace_cli(
        "calibrate", "--executor", "thread", "--workers", "1,2", "--quick", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "model saved:" in done.stdout
    saved = list(models.glob("thread-*.json"))
    assert len(saved) == 1
    assert len(list((models / "calibration").glob("thread-*/w2-noop.arrow"))) == 1
    listed = tapstrace_cli("list", "models", cwd=tmp_path)
    assert saved[0].stem in listed.stdout and "calibration" in listed.stdout

    out = tapstrace_cli(
        "predict", TRACE, "--executor", "thread", "--workers", "2", "--json",
        "--trace", "pred.arrow", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    (row,) = document["predictions"]
    assert row["workers"] == 2
    assert row["makespan_low_s"] <= row["makespan_s"] <= row["makespan_high_s"]
    assert row["makespan_s"] >= row["naive_bound_s"] * 0.99
    assert document["analysis"]["critical_path"]["tasks"] > 0
    predicted = read_trace(tmp_path / "pred.arrow")
    assert predicted.tasks.height == read_trace(TRACE, warn=False).tasks["task_id"].n_unique()
    analysed = tapstrace_cli("analyze", "pred.arrow", "--json", cwd=tmp_path)
    assert analysed.returncode == 0, analysed.stderr
    summary = json.loads(analysed.stdout)["traces"][0]
    assert summary["executor"] == "thread-predicted"
    assert summary["makespan_s"] == pytest.approx(row["makespan_s"], abs=1e-5)

    one = tapstrace_cli("predict", TRACE, "--model", saved[0].stem, "--workers", "2", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "where it went" in one.stdout and "execution" in one.stdout

    curve = tapstrace_cli(
        "predict", TRACE, "--model", saved[0].stem, "--workers", "1,2,4", "--plot",
        "--out", "plots", cwd=tmp_path,
    )  # fmt: skip
    assert curve.returncode == 0, curve.stderr
    assert "predicted scaling" in curve.stdout
    assert (tmp_path / "plots" / "scaling.png").stat().st_size > 1000

    refit = tapstrace_cli("calibrate", str(models / "calibration"), "--json", cwd=tmp_path)
    assert refit.returncode == 0, refit.stderr
    assert json.loads(refit.stdout)["executor"] == "thread"


def test_fit_from_shipped_traces(models: Path, tmp_path: Path) -> None:
    """The sample traces were recorded on the process pool with 2 workers."""
    fitted = tapstrace_cli("calibrate", str(ROOT / "traces"), "--json", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    model = json.loads(fitted.stdout)
    assert model["executor"] == "process" and model["source"]["kind"] == "traces"
    assert [f["workers"] for f in model["fits"]] == [2]
    assert not model["native_dependencies"]
