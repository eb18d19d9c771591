"""``tapstrace convert IN OUT``: a trace from one format to another."""

from __future__ import annotations

from pathlib import Path

import click

from tapstrace.errors import UserError


@click.command("convert", short_help="Convert a trace between formats (Perfetto, WfFormat, ...).")
@click.argument("source", metavar="IN")
@click.argument("target", metavar="OUT")
@click.option(
    "--from",
    "from_",
    type=click.Choice(["arrow", "wfformat", "taps"]),
    help="Format of IN [default: detected from its content].",
)
@click.option(
    "--to",
    type=click.Choice(["arrow", "chrome", "wfformat"]),
    help="Format of OUT [default: from its name: *.arrow, *.perfetto.json, *.wf.json].",
)
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@click.option(
    "--repair",
    is_flag=True,
    help="Convert a partial trace (a crashed run): write the records it holds as a "
    "complete trace that says it was repaired.",
)
def convert(
    source: str, target: str, from_: str | None, to: str | None, force: bool, repair: bool
) -> None:
    """Convert the trace IN to OUT.

    \b
    IN:  tapstrace .arrow, WfFormat JSON (1.4, 1.5+), TaPS tasks.jsonl or run directory
    OUT: arrow (tapstrace trace), chrome (Trace Event JSON: open in ui.perfetto.dev),
         wfformat (WfFormat 1.5 JSON, for WfCommons and WRENCH)

    A partial trace (the run did not finish it) is refused unless --repair: OUT would
    otherwise look complete. With --repair, OUT holds the records IN holds, and an
    .arrow OUT records in its summary that it was repaired from a partial trace.
    """
    from tapstrace.formats.save import output_format, save
    from tapstrace.trace.reader import read_trace

    kind = output_format(Path(target), to)  # a bad OUT fails before IN is read
    trace = read_trace(source, format=from_, warn=False)
    if trace.partial:
        if not repair:
            raise UserError(
                f"{source}: partial trace (the run did not finish it); OUT would look "
                "complete: add --repair to convert the records it holds"
            )
        trace.summary = {
            **trace.summary,
            "repaired_from_partial": str(source),
            "records_at_repair": trace.tasks.height,
        }
    out = save(trace, target, kind, overwrite=force)
    origin = trace.metadata.get("source_format") or "arrow"
    note = " (partial trace)" if trace.partial else ""
    click.echo(f"{source} ({origin}, {trace.tasks.height} records{note}) -> {out} ({kind})")
