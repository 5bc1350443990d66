"""``snntrace convert sonata SOURCE... -o TRACE``: SONATA spike files and frame reports into a trace."""

from __future__ import annotations

import json

import click

from snntrace.errors import UsageError


def _sizes(values: tuple[str, ...]) -> dict[str, int]:
    sizes = {}
    for item in values:
        name, sep, number = item.rpartition("=")
        if not sep or not name or not number.isdigit():
            raise click.BadParameter(f"{item!r} is not POPULATION=SIZE", param_hint="--size")
        sizes[name] = int(number)
    return sizes


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Trace directory to write.")
@click.option("--size", "sizes", multiple=True, metavar="POP=N", help="Population size (default: largest node id + 1).")
@click.option(
    "--resolution",
    type=float,
    help="Seconds per tick (default: the coarsest power of ten that holds every time exactly).",
)
@click.option(
    "--population",
    "legacy_population",
    help="Population name for a legacy /spikes/{gids,timestamps} file (default: file stem).",
)
@click.option("--name", help="Run name (default: the first file's stem).")
@click.option("--force", is_flag=True, help="Replace an existing trace.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(sources, output, sizes, resolution, legacy_population, name, force, fmt) -> None:
    """Convert SONATA spike files (and frame reports) into an snntrace trace, listing what had to be interpreted."""
    from snntrace.adapters.sonata import convert_sonata

    if resolution is not None and resolution <= 0:
        raise UsageError("--resolution must be positive", location="--resolution")
    result = convert_sonata(
        sources,
        output,
        sizes=_sizes(sizes),
        resolution=resolution,
        legacy_population=legacy_population,
        name=name,
        overwrite=force,
    )
    if fmt == "json":
        document = {
            "trace": str(result.path),
            "spikes": result.spikes,
            "sizes": result.sizes,
            "states": result.states,
            "resolution": result.resolution,
            "exact": result.exact,
            "interpretations": result.interpretations,
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"wrote {result.path} (tick {result.resolution:g} s, {'exact' if result.exact else 'rounded'})")
    for population, size in result.sizes.items():
        spikes = result.spikes.get(population)
        parts = [f"size {size}"]
        if spikes is not None:
            parts.append(f"{spikes} spikes")
        if population in result.states:
            parts.append(f"{result.states[population]} state samples")
        click.echo(f"  {population}: " + ", ".join(parts))
    if result.interpretations:
        click.echo("interpreted:")
        for note in result.interpretations:
            click.echo(f"  - {note}")
