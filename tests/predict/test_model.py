"""The model file: distributions, interpolation between worker counts, saving and the
one-line errors a bad file gives; the model directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tapstrace.predict.model import Distribution, ExecutorModel, ModelError
from tapstrace.predict.store import find_model, latest_model, save_model, saved_models
from tests.predict.builders import fixed_model


def test_distribution_keeps_the_mean_and_the_spread() -> None:
    rng = np.random.default_rng(3)
    samples = rng.exponential(0.01, 5000)
    d = Distribution.of(samples)
    assert len(d.values) == 40 and d.samples == 5000
    assert d.mean == pytest.approx(samples.mean(), rel=0.05)
    drawn = d.sample(np.random.default_rng(4), 20000)
    assert drawn.mean() == pytest.approx(samples.mean(), rel=0.05)
    assert np.median(drawn) == pytest.approx(np.median(samples), rel=0.05)
    assert (d.sample(None, 3) == d.median).all()
    assert Distribution.of([]).values == [0.0]


def test_interpolation_between_worker_counts() -> None:
    model = fixed_model(workers=2, launch=0.010, service=0.002, startup=[1.0, 2.0])
    other = fixed_model(workers=8, launch=0.030, service=0.004, startup=[3.0] * 8).fits[0]
    model.fits.append(other)
    model = ExecutorModel.model_validate(model.model_dump())
    at4 = model.at(4)  # halfway in log2(workers)
    assert at4.launch.median == pytest.approx(0.020)
    assert at4.service == pytest.approx(0.003)
    assert len(at4.startup) == 4
    assert model.at(1).launch.median == pytest.approx(0.010)  # below: the nearest
    assert model.at(64).service == pytest.approx(0.004)  # above: the nearest
    assert len(model.at(64).startup) == 64


def test_save_load_and_bad_files(tmp_path: Path) -> None:
    model = fixed_model(launch=0.01)
    path = model.save(tmp_path / "m.json")
    assert ExecutorModel.load(path) == model
    data = json.loads(path.read_text())
    cases = {
        "not-json.json": ("{", "not a JSON model file"),
        "other.json": (json.dumps({"format": "x"}), "not a tapstrace executor model"),
        "future.json": (json.dumps({**data, "version": 9}), "model version 9"),
        "bad.json": (
            json.dumps({**data, "fits": [{**data["fits"][0], "service": -1}]}),
            "fits.0.service: Input should be greater than or equal to 0",
        ),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ModelError, match="^" + str(tmp_path / name)) as error:
            ExecutorModel.load(tmp_path / name)
        assert message in str(error.value)
    with pytest.raises(ModelError, match="no such model file"):
        ExecutorModel.load(tmp_path / "missing.json")


def test_model_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPSTRACE_MODELS", str(tmp_path / "models"))
    assert saved_models() == []
    with pytest.raises(ModelError, match="--executor paper: no model calibrated for it"):
        latest_model("paper")
    first = save_model(fixed_model(launch=0.01))
    second = save_model(fixed_model(launch=0.02))
    assert first != second and first.parent == tmp_path / "models"
    (tmp_path / "models" / "junk.json").write_text("{")
    found = saved_models()
    assert [p for p, _ in found][:2] == [first, second]
    assert isinstance(found[-1][1], ModelError)
    assert latest_model("paper") == second
    assert find_model(second.stem) == second
    with pytest.raises(ModelError, match="--model nope: no such model file"):
        find_model("nope")


def test_graph_is_read_from_a_no_op_bag() -> None:
    """A calibration no-op bag of 100 tasks: while the client submits (20 ms) the
    scheduler starts one task per 2 ms, then one per 1 ms (its steady pace, the middle
    80 % of starts). The whole bag's pace is 108 ms / 99 starts: 0.0909 ms more per
    task, what each submission took of the scheduler's time."""
    from tapstrace.predict.fit import Samples, measure
    from tests.replay.conftest import make_trace

    rows = []
    for i in range(100):
        start = 0.002 * (i + 1) if i < 10 else 0.020 + 0.001 * (i - 9)
        rows.append({"task_id": i, "name": "calibrate_noop", "submitted": i * 0.0002,
                     "ready": i * 0.0002, "dispatched": i * 0.0002, "started": start,
                     "ended": start, "received": start + 0.001, "worker_id": "w0"})  # fmt: skip
    trace = make_trace(rows)
    trace.metadata["calibration"] = {"workload": "noop", "durations": {"calibrate_noop": 0.0}}
    samples = Samples()
    measure(trace, samples, True, {"calibrate_noop": 0.0})
    assert samples.service == [pytest.approx(0.001, abs=1e-8)]
    assert samples.graph == [pytest.approx(0.108 / 99 - 0.001, abs=1e-8)]  # us timestamps
