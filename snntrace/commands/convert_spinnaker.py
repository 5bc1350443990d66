"""``snntrace convert spinnaker DATABASE -o TRACE``: an sPyNNaker recording database into a trace."""

from __future__ import annotations

import warnings

import click


@click.command()
@click.argument("database", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Trace directory to write.")
@click.option("--name", help="Run name (default: the database's stem).")
@click.option("--force", is_flag=True, help="Replace an existing trace.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(database, output, name, force, fmt) -> None:
    """Convert sPyNNaker's data*.sqlite3 (kept with [Reports] keep_data_database = True) into an snntrace trace."""
    from snntrace.adapters.spinnaker import convert_database
    from snntrace.commands._convert_summary import echo_summary

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = convert_database(database, output, name=name, overwrite=force)
    for warning in caught:  # diagnostics go to stderr, results to stdout
        click.echo(f"warning: {warning.message}", err=True)
    echo_summary(path, fmt)
