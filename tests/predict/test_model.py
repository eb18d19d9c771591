"""The model file: distributions, interpolation between worker counts, saving and the
one-line errors a bad file gives; the model directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tapstrace.predict.model import Distribution, ExecutorModel, ModelError, WorkerFit
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


def test_kruskal_h_by_hand() -> None:
    """Ranks 1-3 and 4-6: H = 12 / (6 x 7) x (6^2 / 3 + 15^2 / 3) - 3 x 7 = 27/7."""
    from tapstrace.predict.fit import kruskal_h

    h = kruskal_h([np.array([0.1, 0.2, 0.3]), np.array([0.4, 0.5, 0.6])])
    assert h == pytest.approx(27 / 7)


def test_handoff_bins_by_the_parents_duration() -> None:
    """40 hand-offs after parents of 1-40 ms: 5 ms after the 20 shortest, 1 ms after the
    others. Bins at the parents' quartiles (10.75, 20.5, 30.25 ms), kept because they
    differ; the same hand-offs whatever the parent ran, or parents all alike, give none."""
    from tapstrace.predict.fit import Samples, _by_parent

    parents = np.arange(1, 41) * 1e-3
    slow = np.where(parents <= 0.020, 0.005, 0.001)

    def bins(values: np.ndarray, after: np.ndarray) -> tuple[list[float], list[Distribution]]:
        s = Samples()
        s.add("handoff", values, np.zeros(values.size), True)
        s.handoff_after.append(after)
        return _by_parent(s, "handoff", {"handoff": 0.0})

    edges, after = bins(slow, parents)
    assert edges == pytest.approx([0.01075, 0.0205, 0.03025])
    assert [d.median for d in after] == pytest.approx([0.005, 0.005, 0.001, 0.001])
    assert bins(np.full(40, 0.002), parents) == ([], [])  # alike
    assert bins(slow, np.full(40, 0.005)) == ([], [])  # one parent duration: no spread


def test_handoff_bins_in_the_model_file() -> None:
    """One distribution more than edges; blended bin by bin between worker counts."""
    base = fixed_model(native=True, handoff=0.002).fits[0]
    one = base.model_copy(
        update={
            "after_edges": [0.005],
            "after": [Distribution.fixed(0.004), Distribution.fixed(0.001)],
        }
    )
    two = one.model_copy(
        update={"workers": 4, "after": [Distribution.fixed(0.006), Distribution.fixed(0.003)]}
    )
    model = ExecutorModel(executor="paper", native_dependencies=True, fits=[one, two])
    mid = model.at(2)
    assert mid.after_edges == pytest.approx([0.005])
    assert [d.median for d in mid.after] == pytest.approx([0.005, 0.002])
    bad = {**base.model_dump(), "after_edges": [0.005], "after": [{"values": [0.1]}]}
    with pytest.raises(ValueError, match="one distribution more"):
        WorkerFit.model_validate(bad)
    with pytest.raises(ValueError, match="without after"):
        WorkerFit.model_validate({**bad, "after": []})
