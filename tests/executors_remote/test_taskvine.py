"""The taskvine executor where TaskVine is absent: the install hint, the config and its flags.

TaskVine (ndcctools) comes from conda-forge, not PyPI; test_taskvine_real.py runs the
executor on the real library where it imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from tapstrace.errors import UserError
from tapstrace.executors.taskvine import INSTALL, TaskVineConfig, TaskVineError, import_taskvine
from tapstrace.plugins import registry
from tests.conftest import ROOT, tapstrace_cli


@pytest.fixture
def without_taskvine(tmp_path: Path) -> Path:
    """A directory that, first on sys.path, makes ``import ndcctools`` fail as when absent."""
    package = tmp_path / "hide" / "ndcctools"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        'raise ModuleNotFoundError("No module named \'ndcctools\'", name="ndcctools")\n'
    )
    return package.parent


def test_missing_taskvine_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ndcctools", None)  # import fails
    with pytest.raises(TaskVineError) as info:
        import_taskvine()
    assert isinstance(info.value, UserError)
    message = str(info.value)
    assert "\n" not in message and INSTALL in message and "not on PyPI" in message
    with pytest.raises(TaskVineError, match="conda install -c conda-forge ndcctools"):
        TaskVineConfig().build()


@pytest.mark.slow
def test_cli_without_taskvine_is_one_line(tmp_path: Path, without_taskvine: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(without_taskvine), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "taskvine"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tapstrace: error: executor 'taskvine' needs TaskVine")
    assert INSTALL in lines[0]


def test_registered_with_its_parameters(tmp_path: Path) -> None:
    cls = registry.get("executor", "taskvine")
    assert cls is TaskVineConfig
    fields = set(cls.model_fields)
    assert {"port", "workers", "cores_per_task", "factory", "mode", "manager_name"} <= fields
    config = TaskVineConfig(mode="function-call", workers=0, port=9123, cores_per_task=2)
    assert (config.mode, config.workers, config.port) == ("function-call", 0, 9123)
    for bad in ({"mode": "lambda"}, {"port": 70000}, {"workers": -1}, {"cores_per_task": 0}):
        with pytest.raises(ValidationError):
            TaskVineConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.slow
def test_cli_flags(tmp_path: Path) -> None:
    help_text = tapstrace_cli("run", "synthetic", "--help", cwd=tmp_path).stdout
    for flag in ("--executor.cores-per-task", "--executor.mode", "--executor.factory",
                 "--executor.manager-name", "--executor.exec-mode", "--executor.endpoint-id",
                 "--executor.amqp-port"):  # fmt: skip
        assert flag in help_text, flag
    bad = tapstrace_cli(
        "run", "synthetic", "--executor", "taskvine", "--executor.mode", "lambda", cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "--executor.mode" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
