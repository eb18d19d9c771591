"""Errors that the CLI reports as one line (no traceback) with exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: a flag, a config file, a trace path.

    The message must name the offending file or option and say what is wrong.
    """


class ConfigError(UserError):
    """An invalid configuration value, file or flag."""


class UnknownPluginError(UserError):
    """A plugin name (app, executor, filter, transformer) that is not registered."""


class TraceError(UserError):
    """A trace file that cannot be read."""


class RecordingError(UserError):
    """Recording a task failed (the trace writer cannot write, a listener raised): the
    engine stops the run, every task's future still resolved. The message says what
    failed; the first failure is kept as ``__cause__``."""
