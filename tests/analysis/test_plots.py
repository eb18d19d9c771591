"""Plot datasets stay small whatever the trace size; figures render; the report is offline."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from xml.etree import ElementTree

import polars as pl
import pytest

from tapstrace.analysis.batch import analyze
from tapstrace.analysis.generate import layered_trace, write_trace
from tapstrace.analysis.metrics import total_work
from tapstrace.analysis.plots import charts
from tapstrace.analysis.plots.data import MAX_GANTT_ROWS, MAX_MARKS, plot_data
from tapstrace.analysis.plots.report import figures, write_report
from tapstrace.analysis.tasks import prepare
from tapstrace.trace import read_trace
from tests.analysis.builders import client_rows, reference_rows
from tests.analysis.builders import write_trace as write_rows


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6000 tasks on 100 workers: more attempts than any chart is given."""
    path = tmp_path_factory.mktemp("big") / "layered.arrow"
    return write_trace(layered_trace(6000, width=100, mean_seconds=0.5, seed=3), path)


def decode_png(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its pixel data inflates to that size."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        )
        chunks[kind] = body
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels * depth // 8)
    return width, height


def test_small_trace_keeps_every_task(tmp_path: Path) -> None:
    data = plot_data(prepare(write_rows(tmp_path / "ref.arrow", reference_rows())))
    assert not data.gantt_aggregated and data.gantt_rows == "worker"
    assert data.gantt.height == 6  # every attempt, warm-up excluded
    assert data.critical["task_id"].to_list() == [1, 2, 4]
    components = {"engine", "queueing", "worker_wait", "launch", "return"}
    assert set(data.overheads["component"]) == components
    assert data.overheads.filter(pl.col("fraction") == 1.0)["seconds"].max() == pytest.approx(0.3)


def test_big_trace_is_aggregated_within_the_mark_budget(big: Path) -> None:
    tasks = prepare(read_trace(big))
    data = plot_data(tasks)
    assert data.gantt_aggregated
    assert data.gantt_rows == "group of 2 workers"
    assert data.gantt["row"].n_unique() == 50 <= MAX_GANTT_ROWS
    for frame in (data.gantt, data.critical, data.concurrency, data.overheads, data.payload):
        assert 0 < frame.height <= MAX_MARKS
    # Each bin's busy share is a share, and all bins together hold exactly the work.
    assert data.gantt["busy"].max() <= 1.0 + 1e-9
    binned = data.gantt.select(pl.col("busy") * (pl.col("end") - pl.col("start")) * 2).sum()
    assert binned.item() == pytest.approx(total_work(tasks), rel=1e-9)
    # No more tasks run at once than there are workers.
    assert data.concurrency["peak_running"].max() <= 100


def test_report_figures_render_and_open_offline(big: Path, tmp_path: Path) -> None:
    small = write_rows(tmp_path / "ref.arrow", reference_rows()).path
    assert small is not None
    result = analyze([small, big], by=["app", "executor", "workers"], keep=plot_data)
    found = figures(result.summaries, result.plots)
    stems = {f.stem for f in found}
    assert {"breakdown", "overheads", "payload"} <= stems
    # One group per app: nothing to compare by executor or worker count.
    assert not {"makespan", "throughput"} & stems
    # Labels carry the group keys the run's name does not say: "ref (app, executor, ...)".
    for stem in ("gantt-ref-", "concurrency-ref-", "gantt-layered-", "concurrency-layered-"):
        assert any(s.startswith(stem) for s in stems), stem
    for figure in found:  # never hand the browser more than altair's guard allows
        spec = figure.chart.to_dict()
        assert all(len(rows) <= 5000 for rows in spec.get("datasets", {}).values())
        text = str(spec)
        assert "title" in text
    written = write_report(result, tmp_path / "report", ["html", "png", "svg"])
    pngs = [p for p in written if p.suffix == ".png"]
    svgs = [p for p in written if p.suffix == ".svg"]
    assert len(pngs) == len(svgs) == len(found)
    for png in pngs:
        width, height = decode_png(png.read_bytes())
        assert 100 < width <= 2 * 1400 and height > 50  # scale 2: nothing wider than 1400 px
    for svg in svgs:
        root = ElementTree.parse(svg).getroot()
        assert root.tag.endswith("svg") and len(list(root.iter())) > 20
    page = (tmp_path / "report" / "report.html").read_text()
    external = re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*['\"]?https?:", page)
    assert external == []
    assert "vegaEmbed" in page and page.count("class='vl-spec'") == len(found)
    assert "Trace: ref" in page and "Trace: layered" in page and "Across traces" in page
    # Failures: the reference trace's failed attempt, its type and message.
    assert "<h3>Failures</h3>" in page and "ValueError" in page and "boom" in page
    for heading in ("By function", "By worker", "Critical path", "Run configuration"):
        assert heading in page
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", page, flags=re.S))
    assert re.findall(r"\d[eE][-+]?\d", text) == []  # human units, never 7.15e-05


def test_gantt_shows_status_and_errors_and_colours_traces_apart(tmp_path: Path) -> None:
    ref = write_rows(tmp_path / "ref.arrow", reference_rows())
    data = plot_data(prepare(ref))
    failed = data.gantt.filter(pl.col("status") != "ok")
    assert failed.rows(named=True)[0]["error"] == "ValueError: boom"
    spec = charts.gantt(data).to_dict()
    text = str(spec)
    assert "'stroke': {'field': 'status'" in text and "error" in text
    other = write_rows(tmp_path / "other.arrow", reference_rows(), workers=4)
    cdfs = charts.overhead_cdfs([ref, other]).to_dict()
    assert cdfs["spec"]["encoding"]["color"]["field"] == "trace"
    assert cdfs["columns"] == charts.FACET_COLUMNS  # panels wrap
    # Two groups of one app (thread on 2 and 4 workers): makespan bars, throughput line.
    assert charts.makespan([ref, other]) is not None
    assert charts.throughput([ref, other]) is not None
    assert charts.makespan([ref]) is None and charts.throughput([ref]) is None
    payload = charts.payload([ref, other]).to_dict()
    line = payload["layer"][1]["encoding"]
    assert line["detail"]["field"] == "trace" and line["color"]["field"] == "trace"


def test_client_lane_on_the_gantt(tmp_path: Path) -> None:
    data = plot_data(prepare(write_rows(tmp_path / "c.arrow", client_rows(), client=True)))
    assert set(data.client["lane"]) == {"client", "phases"}
    spec = charts.gantt(data).to_dict()
    rows = spec["layer"][0]["encoding"]["y"]["sort"]
    assert rows[:2] == ["client phases", "client"]
    assert "blocked" in str(spec) and "train" in str(spec)
    older = plot_data(prepare(write_rows(tmp_path / "r.arrow", reference_rows())))
    assert older.client.height == 0
    assert "client not recorded" in str(charts.gantt(older).to_dict())


def test_charts_take_a_trace_or_a_path(tmp_path: Path) -> None:
    trace = write_rows(tmp_path / "ref.arrow", reference_rows())
    for source in (trace, tmp_path / "ref.arrow", str(tmp_path / "ref.arrow"), prepare(trace)):
        assert charts.gantt(source) is not None
        assert charts.concurrency(source) is not None
        assert charts.breakdown(source) is not None


def test_many_traces_stay_within_the_mark_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 30 traces in 3 groups, with a budget of 100 rows per chart (as 1,000 traces would
    # meet 4000): colour and lines by group, bars per group, nothing over the budget.
    monkeypatch.setattr(charts, "MAX_MARKS", 100)
    monkeypatch.setattr(charts, "MAX_TRACE_COLOURS", 5)
    paths = []
    for i in range(30):
        path = tmp_path / f"t{i}.arrow"
        write_rows(path, reference_rows(), workers=2 + i % 3)
        paths.append(path)
    result = analyze(paths, by=["app", "executor", "workers"], keep=plot_data)
    for chart in (
        charts.breakdown(result.summaries),
        charts.overhead_cdfs(result.plots),
        charts.payload(result.plots),
    ):
        spec = chart.to_dict()
        assert all(len(rows) <= 100 for rows in spec["datasets"].values())
        assert "group" in str(spec)
