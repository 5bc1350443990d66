"""``snntrace convert FORMAT SOURCE -o TRACE``: turn other simulators' and formats' recordings into traces."""

from __future__ import annotations

import click

from snntrace.cli import LazyGroup

CONVERTERS = {
    "neo": "snntrace.commands.convert_neo:command",
    "spinnaker": "snntrace.commands.convert_spinnaker:command",
    "sonata": "snntrace.commands.convert_sonata:command",
}


@click.group(cls=LazyGroup, commands=CONVERTERS)
def command() -> None:
    """Convert recordings from another format into an snntrace trace."""
