"""The HTML reports in a real headless Chromium: every chart renders, the page logs no
error and asks the network for nothing.

Chromium is Debian's package (``make chromium``, run by ``make test`` as root where it
is missing). Without it the test skips locally and fails in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tapstrace.analysis import versus
from tapstrace.analysis.batch import analyze
from tapstrace.analysis.plots.data import plot_data
from tapstrace.analysis.plots.report import write_comparison, write_report
from tests.analysis.builders import client_rows, write_trace
from tests.browser import REPORT_READY, Chromium, chromium_path

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Chromium:
    if chromium_path() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: make chromium installs it")
        pytest.skip("chromium is not installed (make chromium)")
    with Chromium(width=1400, height=900) as chromium:
        yield chromium  # type: ignore[misc]


def check_page(browser: Chromium, page: Path, shot: Path) -> int:
    """Open ``page``; every figure drew an SVG, nothing was logged as an error, and no
    request left the file. Returns the number of figures."""
    session, log = browser.open(page.resolve().as_uri(), REPORT_READY)
    figures = browser.evaluate(session, "document.querySelectorAll('div.figure').length")
    drawn = browser.evaluate(
        session,
        "[...document.querySelectorAll('div.figure')]"
        ".filter(d => d.querySelector('svg') && d.querySelector('svg').getBBox().width > 50)"
        ".length",
    )
    failed = browser.evaluate(
        session,
        "[...document.querySelectorAll('div.figure')]"
        ".filter(d => d.textContent.startsWith('figure failed')).map(d => d.textContent)",
    )
    assert failed == [] and figures == page.read_text().count("class='vl-spec'") == drawn
    assert log.errors == []
    outside = [u for u in log.requests if not u.startswith(("file:", "data:", "about:"))]
    assert outside == []
    width = browser.evaluate(session, "document.documentElement.scrollWidth")
    assert width <= 1400  # nothing overflows the window
    assert browser.screenshot(session, shot).stat().st_size > 10_000
    return int(figures)


def test_reports_render_in_chromium(browser: Chromium, tmp_path: Path) -> None:
    shipped = sorted((ROOT / "traces").glob("*.arrow"))
    client = tmp_path / "client.arrow"
    write_trace(client, client_rows(), client=True)
    result = analyze([*shipped, client], by=["app", "executor", "workers"], keep=plot_data)
    assert result.errors == []
    write_report(result, tmp_path / "all", ["html"])
    # 3 across traces (breakdown, overheads, payload) and 2 per trace (Gantt, concurrency)
    assert check_page(browser, tmp_path / "all" / "report.html", tmp_path / "all.png") == 19

    pair = analyze([shipped[0], shipped[2]], by=["label"], keep=plot_data)
    diff = versus.difference(*pair.summaries)
    write_comparison(pair, diff, tmp_path / "compare", ["html"])
    assert check_page(browser, tmp_path / "compare" / "report.html", tmp_path / "cmp.png") >= 5
