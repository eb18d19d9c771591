"""apps/, executors/ and analysis/ install under tapstrace only, never top-level."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHECK = """
import importlib.util, sys
import analysis                      # the user's own module, from the working directory
import tapstrace.analysis, tapstrace.apps, tapstrace.executors
assert analysis.MINE is True
assert not hasattr(tapstrace.analysis, "MINE")
for name in ("apps", "executors"):
    assert importlib.util.find_spec(name) is None, name
print(tapstrace.analysis.__file__)
"""


def test_user_module_does_not_shadow_ours(tmp_path: Path) -> None:
    (tmp_path / "analysis.py").write_text("MINE = True\n")
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).parent.name == "analysis"
    assert tmp_path not in Path(result.stdout.strip()).parents


@pytest.mark.slow
def test_wheel_has_no_top_level_plugin_packages(tmp_path: Path) -> None:
    # Build from a copy of the tracked files: setuptools leaves build/ behind in the tree
    # it builds, and stale files there could leak into later wheels.
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    source = tmp_path / "src"
    for name in files:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(source)],
        check=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("tapstrace-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"tapstrace", wheel.name.split("-py3")[0] + ".dist-info"}
    for module in ("apps/synthetic.py", "executors/process.py", "analysis/__init__.py"):
        assert f"tapstrace/{module}" in names
