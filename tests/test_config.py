"""Config layering: TOML files in order, then flags; every key validated, none dropped silently.

A table that names its plugin binds its keys to it (a switch drops them); a table without
``name`` merges into whichever plugin the run ends up with, and is validated against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tapstrace.config.layers import Layer, load_toml_layer, resolve
from tapstrace.errors import ConfigError
from tests.conftest import tapstrace_cli


def toml(tmp_path: Path, name: str, text: str) -> Layer:
    path = tmp_path / name
    path.write_text(text)
    return load_toml_layer(path)


def flags(**sections: dict[str, object]) -> Layer:
    """A CLI layer: ``name`` first in each section, as the CLI orders it."""
    layer = Layer()
    for section, table in sections.items():
        for key in sorted(table, key=lambda k: k != "name"):
            source = f"--{section}" if key == "name" else f"--{section}.{key.replace('_', '-')}"
            layer.set(section, key, table[key], source)
    return layer


def test_nameless_app_table_merges_into_the_app_on_the_command_line(tmp_path: Path) -> None:
    spec = resolve(
        [toml(tmp_path, "c.toml", "[app]\ntasks = 10\n"), flags(app={"name": "synthetic"})]
    )
    assert type(spec.app).name == "synthetic" and spec.app.tasks == 10  # type: ignore[attr-defined]


def test_nameless_executor_table_merges_into_the_executor_flag(tmp_path: Path) -> None:
    layers = [
        toml(tmp_path, "c.toml", "[executor]\nmax_processes = 1\n"),
        flags(app={"name": "synthetic"}, executor={"name": "process"}),
    ]
    spec = resolve(layers)
    assert type(spec.executor).name == "process" and spec.executor.max_processes == 1  # type: ignore[attr-defined]


def test_nameless_executor_table_applies_to_the_default_executor(tmp_path: Path) -> None:
    spec = resolve(
        [toml(tmp_path, "c.toml", "[executor]\nmax_processes = 3\n[app]\nname = 'synthetic'\n")]
    )
    assert type(spec.executor).name == "process" and spec.executor.max_processes == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "cli", "message"),
    [
        # a typo in a nameless table, for the app named on the command line
        ("[app]\ntaks = 10\n", {}, "c.toml: [app] taks: app 'synthetic' has no parameter 'taks'"),
        # a wrong type
        ("[app]\ntasks = 'ten'\n", {}, "c.toml: [app] tasks: Input should be a valid integer"),
        # a key of another executor, in a nameless table, for --executor dask
        (
            "[executor]\nmax_processes = 1\n",
            {"executor": {"name": "dask"}},
            "c.toml: [executor] max_processes: executor 'dask' has no parameter",
        ),
        # out of range
        ("[engine]\nretries = -1\n", {}, "c.toml: [engine] retries: Input should be greater"),
        # not finite
        (
            "[engine]\nflush_interval = inf\n",
            {},
            "c.toml: [engine] flush_interval: must be a finite",
        ),
        ("[app]\nmean_seconds = nan\n", {}, "c.toml: [app] mean_seconds: must be a finite number"),
    ],
)
def test_bad_keys_in_a_nameless_table_are_errors_naming_the_file(
    tmp_path: Path, text: str, cli: dict[str, dict[str, object]], message: str
) -> None:
    layers = [toml(tmp_path, "c.toml", text), flags(app={"name": "synthetic"}, **cli)]
    with pytest.raises(ConfigError) as err:
        resolve(layers)
    assert str(err.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message.split(": ", 1)[1] in str(err.value)


def test_named_table_then_nameless_table_merge(tmp_path: Path) -> None:
    layers = [
        toml(tmp_path, "a.toml", "[executor]\nname = 'thread'\nmax_threads = 3\n"),
        toml(tmp_path, "b.toml", "[app]\nname = 'synthetic'\n[executor]\nmax_threads = 5\n"),
    ]
    spec = resolve(layers)
    assert type(spec.executor).name == "thread" and spec.executor.max_threads == 5  # type: ignore[attr-defined]


def test_same_plugin_named_twice_merges(tmp_path: Path) -> None:
    layers = [
        toml(tmp_path, "a.toml", "[app]\nname = 'synthetic'\ntasks = 7\nwidth = 3\n"),
        toml(tmp_path, "b.toml", "[app]\nname = 'synthetic'\ntasks = 9\n"),
    ]
    spec = resolve(layers)
    assert (spec.app.tasks, spec.app.width) == (9, 3)  # type: ignore[attr-defined]


def test_switching_plugin_drops_keys_bound_to_the_old_one(tmp_path: Path) -> None:
    layers = [
        toml(
            tmp_path,
            "a.toml",
            "[app]\nname = 'synthetic'\n[executor]\nname = 'thread'\nmax_threads = 3\n",
        ),
        flags(executor={"name": "process"}),
    ]
    spec = resolve(layers)
    assert type(spec.executor).name == "process"
    assert "max_threads" not in spec.executor.model_dump()


def test_switching_plugin_keeps_nameless_keys_and_validates_them(tmp_path: Path) -> None:
    base = toml(
        tmp_path,
        "a.toml",
        "[app]\nname = 'synthetic'\n[executor]\nname = 'thread'\nmax_threads = 3\n",
    )
    nameless = toml(tmp_path, "b.toml", "[executor]\nmax_processes = 1\n")
    spec = resolve([base, nameless, flags(executor={"name": "process"})])
    assert spec.executor.max_processes == 1  # type: ignore[attr-defined]
    # The same nameless key, for a plugin that does not have it: an error, not dropped.
    with pytest.raises(
        ConfigError, match=r"b\.toml: \[executor\] max_processes: executor 'thread'"
    ):
        resolve([base, nameless])


def test_a_later_named_layer_overrides_a_nameless_value(tmp_path: Path) -> None:
    layers = [
        toml(tmp_path, "a.toml", "[executor]\nmax_threads = 3\n"),
        toml(
            tmp_path,
            "b.toml",
            "[app]\nname = 'synthetic'\n[executor]\nname = 'thread'\nmax_threads = 4\n",
        ),
    ]
    spec = resolve(layers)
    assert spec.executor.max_threads == 4  # type: ignore[attr-defined]


def test_flags_win_over_files(tmp_path: Path) -> None:
    layers = [
        toml(tmp_path, "a.toml", "[app]\nname = 'synthetic'\ntasks = 7\n[engine]\nretries = 2\n"),
        flags(app={"tasks": 4}, engine={"retries": 1}),
    ]
    spec = resolve(layers)
    assert spec.app.tasks == 4 and spec.engine.retries == 1  # type: ignore[attr-defined]


def test_flag_errors_name_the_flag(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^--app\.mean-seconds: must be a finite number \(got 'inf'\)"
    ):
        resolve([flags(app={"name": "synthetic", "mean_seconds": "inf"})])
    with pytest.raises(ConfigError, match=r"^--engine\.flush-interval: must be a finite"):
        resolve([flags(app={"name": "synthetic"}, engine={"flush_interval": "-inf"})])


def test_nameless_filter_table_without_a_filter_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[filter\] has parameters but no `name`"):
        resolve([toml(tmp_path, "a.toml", "[app]\nname = 'synthetic'\n[filter]\nmin_bytes = 1\n")])


@pytest.mark.slow
def test_cli_runs_the_nameless_table(tmp_path: Path) -> None:
    """The case of the issue: ``[app] tasks = 10`` with ``tapstrace run synthetic``."""
    (tmp_path / "c.toml").write_text(
        "[app]\ntasks = 10\nmean_seconds = 0\n[executor]\nmax_threads = 1\n"
    )
    result = tapstrace_cli(
        "run", "synthetic", "--executor", "thread", "--config", "c.toml", "--trace", "t.arrow",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "10 ok" in result.stdout
    from tapstrace.trace import read_trace

    trace = read_trace(tmp_path / "t.arrow")
    assert trace.config["app"]["tasks"] == 10 and trace.config["executor"]["max_threads"] == 1
    typo = tapstrace_cli("run", "synthetic", "--config", "bad.toml", cwd=tmp_path)
    assert typo.returncode == 2 and "bad.toml: no such config file" in typo.stderr
    (tmp_path / "bad.toml").write_text("[executor]\nmax_threads = 1\n")
    wrong = tapstrace_cli(
        "run", "synthetic", "--executor", "process", "--config", "bad.toml", cwd=tmp_path
    )
    assert wrong.returncode == 2, wrong.stderr
    assert wrong.stderr.strip() == (
        "tapstrace: error: bad.toml: [executor] max_threads: executor 'process' has no "
        "parameter 'max_threads' (its parameters: max_processes, start_method, max_tasks_per_child)"
    )
