"""``snntrace export FORMAT TRACE -o OUT``: write a trace in another format."""

from __future__ import annotations

import click

from snntrace.cli import LazyGroup

EXPORTERS = {
    "sonata": "snntrace.commands.export_sonata:command",
}


@click.group(cls=LazyGroup, commands=EXPORTERS)
def command() -> None:
    """Export an snntrace trace to another format."""
