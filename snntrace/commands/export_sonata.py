"""``snntrace export sonata TRACE -o OUT.h5``: a trace's spikes as a spec-exact SONATA spike file."""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("trace", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="SONATA spike file to write.")
@click.option("--sorting", type=click.Choice(["by_time", "by_id", "none"]), default="by_time", show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(trace, output, sorting, force, fmt) -> None:
    """Export the spikes of a trace as a SONATA spike file and say what SONATA cannot hold."""
    from snntrace.adapters.sonata import export_sonata

    result = export_sonata(trace, output, sorting=sorting, overwrite=force)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"file": str(result.path), "spikes": result.spikes, "not_exported": result.losses},
                indent=2,
                sort_keys=True,
            )
        )
        return
    click.echo(f"wrote {result.path}")
    for population, count in result.spikes.items():
        click.echo(f"  {population}: {count} spikes")
    if result.losses:
        click.echo("not exported (SONATA spike files cannot hold it):")
        for loss in result.losses:
            click.echo(f"  - {loss}")
