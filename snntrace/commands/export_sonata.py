"""``snntrace export sonata TRACE -o OUT.h5``: a trace's spikes as a spec-exact SONATA spike file."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("trace", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="SONATA spike file to write.")
@click.option("--sorting", type=click.Choice(["by_time", "by_id", "none"]), default="by_time", show_default=True)
@click.option(
    "--reports",
    type=click.Path(file_okay=False),
    help="Also write regularly sampled state variables here as SONATA frame reports (<variable>.h5).",
)
@click.option("--force", is_flag=True, help="Replace existing files.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(trace, output, sorting, reports, force, fmt) -> None:
    """Export the spikes (and, with --reports, state samples) of a trace to SONATA; say what SONATA cannot hold."""
    from snntrace.adapters.sonata import export_sonata

    result = export_sonata(trace, output, sorting=sorting, reports=reports, overwrite=force)
    if fmt == "json":
        document = {
            "file": str(result.path),
            "spikes": result.spikes,
            "reports": {variable: str(path) for variable, path in result.reports.items()},
            "not_exported": result.losses,
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"wrote {result.path}")
    for population, count in result.spikes.items():
        click.echo(f"  {population}: {count} spikes")
    for variable, path in result.reports.items():
        click.echo(f"wrote {path} (frame report of {variable})")
    if result.losses:
        click.echo("not exported (SONATA cannot hold it):")
        for loss in result.losses:
            click.echo(f"  - {loss}")
