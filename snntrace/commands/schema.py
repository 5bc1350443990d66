"""``snntrace schema [NAME]``: print the JSON Schemas and table column specs the format publishes."""

from __future__ import annotations

import json

import click

from snntrace.errors import UsageError
from snntrace.format import TABLES, schema_document, schema_names, table_spec


@click.command()
@click.argument("name", required=False)
def command(name: str | None) -> None:
    """Print the JSON document of schema NAME, or list the names without NAME.

    Names: manifest (manifest JSON Schema), a table (spikes, states, ...: its columns, Arrow types, encodings and
    sort order) or event:KIND (payload JSON Schema of an event kind).
    """
    if name is None:
        for known in schema_names():
            if known in TABLES:
                summary = table_spec(known)["description"]
            else:
                summary = schema_document(known).get("description") or schema_document(known).get("title", "")
            click.echo(f"{known:<20} {summary}")
        return
    try:
        document = schema_document(name)
    except KeyError:
        raise UsageError(f"unknown schema {name!r}; choose one of {', '.join(schema_names())}", code="US002", location="NAME") from None
    click.echo(json.dumps(document, indent=2, sort_keys=False))
