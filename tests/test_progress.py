"""The progress bar's text: rate, time left when the number of tasks is known, failures."""

from __future__ import annotations

from tapstrace.cli.progress import line


def test_rate_eta_and_failures() -> None:
    assert line(50, 0, 10.0, None) == "5.0 tasks/s"  # a run: the total is not known
    assert line(50, 0, 10.0, 200) == "5.0 tasks/s  ETA 0:30"  # a replay: 150 left at 5/s
    assert line(5000, 3, 10.0, 5000) == "500 tasks/s  [red]3 failed[/red]"  # done: no ETA
    assert line(0, 0, 0.0, 10) == "0.0 tasks/s"
