"""Read the spec shipped in ``spec/``: spec version, JSON Schemas and Arrow table schemas.

Everything else in snntrace learns the format from here, so ``spec/`` stays the single source of truth.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import pyarrow as pa

from snntrace._version import SPEC_VERSION

TABLES: tuple[str, ...] = ("spikes", "states", "weights", "samples", "metrics", "events")
MANIFEST_FILE = "manifest.json"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"
TMP_SUFFIX = ".tmp"

_ARROW_TYPES = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "string": pa.string(),
    "dictionary<int32,string>": pa.dictionary(pa.int32(), pa.string()),
}


def _spec_root():
    return resources.files("snntrace.spec")


@functools.cache
def _read_json(relative: str) -> dict[str, Any]:
    return json.loads(_spec_root().joinpath(relative).read_text(encoding="utf-8"))


def manifest_schema() -> dict[str, Any]:
    """Return the manifest JSON Schema (draft 2020-12)."""
    return _read_json("schemas/manifest.schema.json")


def table_spec(table: str) -> dict[str, Any]:
    """Return the published column description of ``table``."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; tables are {', '.join(TABLES)}")
    return _read_json(f"schemas/tables/{table}.json")


def event_kinds() -> tuple[str, ...]:
    """Return the event kinds whose payload the spec defines."""
    folder = _spec_root().joinpath("schemas/events")
    return tuple(sorted(p.name.removesuffix(".schema.json") for p in folder.iterdir() if p.name.endswith(".schema.json")))


def event_payload_schema(kind: str) -> dict[str, Any] | None:
    """Return the payload JSON Schema of a known event kind, or None for a producer-specific kind."""
    if kind not in event_kinds():
        return None
    return _read_json(f"schemas/events/{kind}.schema.json")


def schema_names() -> tuple[str, ...]:
    """Return the names ``snntrace schema NAME`` accepts."""
    return ("manifest", *TABLES, *(f"event:{k}" for k in event_kinds()))


def schema_document(name: str) -> dict[str, Any]:
    """Return the JSON document published for a schema name (see :func:`schema_names`)."""
    if name == "manifest":
        return manifest_schema()
    if name in TABLES:
        return table_spec(name)
    if name.startswith("event:") and event_payload_schema(name[6:]) is not None:
        return event_payload_schema(name[6:])
    raise KeyError(f"unknown schema {name!r}; choose one of {', '.join(schema_names())}")


@functools.cache
def arrow_schema(table: str, *, optional: tuple[str, ...] | None = None) -> pa.Schema:
    """Return the Arrow schema of ``table``: required columns plus the named optional ones (all if None)."""
    fields = []
    for column in table_spec(table)["columns"]:
        if not column["required"] and optional is not None and column["name"] not in optional:
            continue
        fields.append(pa.field(column["name"], _ARROW_TYPES[column["type"]], nullable=column["nullable"]))
    return pa.schema(fields)


def required_columns(table: str) -> tuple[str, ...]:
    """Return the names of the columns every part of ``table`` must have."""
    return tuple(c["name"] for c in table_spec(table)["columns"] if c["required"])


def parquet_options(table: str, columns: list[str]) -> dict[str, Any]:
    """Return ``pyarrow.parquet.ParquetWriter`` keyword arguments giving the encodings the spec recommends."""
    spec_columns = {c["name"]: c for c in table_spec(table)["columns"]}
    dictionary = [c for c in columns if spec_columns.get(c, {}).get("encoding") == "RLE_DICTIONARY"]
    delta = {c: "DELTA_BINARY_PACKED" for c in columns if spec_columns.get(c, {}).get("encoding") == "DELTA_BINARY_PACKED"}
    return {
        "compression": "zstd",
        "use_dictionary": dictionary,
        "column_encoding": delta or None,
        "write_statistics": True,
    }


__all__ = [
    "MANIFEST_FILE",
    "SPEC_VERSION",
    "TABLES",
    "arrow_schema",
    "event_kinds",
    "event_payload_schema",
    "manifest_schema",
    "parquet_options",
    "required_columns",
    "schema_document",
    "schema_names",
    "table_spec",
]
