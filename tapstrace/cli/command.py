"""A click command whose flags come from the plugin registry.

``tapstrace run APP`` must know APP before it can offer ``--app.*`` flags, so the command
peeks at its arguments (and at its ``--config`` files) for the app name before click
parses them, then adds the app's fields, every executor's, filter's and transformer's
fields and the engine options. Help is grouped by plugin.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from typing import Any

import click

from tapstrace.cli.options import FieldOption, model_options, rows
from tapstrace.config.spec import EngineOptions
from tapstrace.plugins import registry

APP_KEY = "tapstrace.app"
OPTIONS_KEY = "tapstrace.options"
SELECTABLE: tuple[registry.Kind, ...] = ("executor", "filter", "transformer")


def _first_line(cls: type) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


class PluginCommand(click.Command):
    """A command with generated ``--app.*``, ``--executor.*``, ... and ``--engine.*`` flags.

    Args:
        with_app: the first positional argument names an app (``tapstrace run``).
    """

    def __init__(self, *args: Any, with_app: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.with_app = with_app

    # -- finding the app before parsing ---------------------------------------------

    def _value_options(self) -> set[str]:
        names: set[str] = set()
        for param in self.params:
            if isinstance(param, click.Option) and not param.is_flag:
                names.update(param.opts)
        return names

    def _peek_app(self, args: Sequence[str]) -> str | None:
        takes_value = self._value_options()
        configs: list[str] = []
        i = 0
        while i < len(args):
            token = args[i]
            if token == "--":
                return args[i + 1] if i + 1 < len(args) else None
            if token.startswith("-"):
                if "=" not in token and (token in takes_value or "." in token):
                    if token == "--config" and i + 1 < len(args):
                        configs.append(args[i + 1])
                    i += 1
                i += 1
                continue
            return token
        for path in reversed(configs):  # the last config that names an app wins
            try:
                with open(path, "rb") as f:
                    data = tomllib.load(f)
            except (OSError, tomllib.TOMLDecodeError):
                continue  # reported properly when the config is loaded
            name = data.get("app", {}).get("name") if isinstance(data.get("app"), dict) else None
            if isinstance(name, str):
                return name
        return None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        app = self._peek_app(args) if self.with_app else None
        options: list[FieldOption] = []
        if app is not None and app in registry.plugins("app"):
            options += model_options("app", [(app, registry.plugins("app")[app])])
        for kind in SELECTABLE:
            options += model_options(kind, registry.plugins(kind).items())
        options += model_options("engine", [("engine", EngineOptions)])
        ctx.meta[APP_KEY] = app
        ctx.meta[OPTIONS_KEY] = options
        return super().parse_args(ctx, args)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        return params[:-1] + ctx.meta.get(OPTIONS_KEY, []) + params[-1:]  # --help stays last

    # -- help grouped by plugin -----------------------------------------------------

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        base = [
            p.get_help_record(ctx) for p in super().get_params(ctx) if isinstance(p, click.Option)
        ]
        with formatter.section("Options"):
            formatter.write_dl([r for r in base if r])
        apps = registry.plugins("app")
        app = ctx.meta.get(APP_KEY)
        if self.with_app:
            if app in apps:
                with formatter.section(f"App options ({app}: {_first_line(apps[app])})"):
                    formatter.write_dl(rows("app", apps[app]) or [("(none)", "")])
            else:
                with formatter.section("Apps (tapstrace run APP --help shows an app's options)"):
                    formatter.write_dl([(n, _first_line(c)) for n, c in apps.items()])
        for kind in SELECTABLE:
            plugins = registry.plugins(kind)
            if not plugins:
                continue
            with formatter.section(f"{kind.capitalize()} options (--{kind} NAME)"):
                for name, cls in plugins.items():
                    formatter.write_text(f"{name}: {_first_line(cls)}")
                    with formatter.indentation():
                        formatter.write_dl(rows(kind, cls) or [("(no parameters)", "")])
        with formatter.section("Engine options"):
            formatter.write_dl(rows("engine", EngineOptions))
