"""``snntrace convert neo FILE... -o TRACE``: PyNN ``write_data`` files (Neo pickle or NIX) into a trace."""

from __future__ import annotations

import click

from snntrace.errors import UsageError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Trace directory to write.")
@click.option("--name", help="Run name (default: the files' stems).")
@click.option("--resolution", type=float, help="Seconds per tick (default: the blocks' dt annotation).")
@click.option("--force", is_flag=True, help="Replace an existing trace.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(files, output, name, resolution, force, fmt) -> None:
    """Convert Neo files written by PyNN (.pkl, .nix/.h5; one block per population) into an snntrace trace."""
    from snntrace.adapters.neo import convert_file
    from snntrace.commands._convert_summary import echo_summary

    if resolution is not None and resolution <= 0:
        raise UsageError("--resolution must be positive", location="--resolution")
    options = {"overwrite": force, "time_resolution": resolution}
    if name:
        options["name"] = name
    echo_summary(convert_file(list(files), output, **options), fmt)
