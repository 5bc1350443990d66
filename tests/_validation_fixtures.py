"""Helpers for validation tests: copy a conformance case, rewrite a part or the manifest of a copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from snntrace.format import arrow_schema, parquet_options

CORPUS = Path(__file__).resolve().parents[1] / "spec" / "conformance"


def copy_case(name: str, destination: Path, kind: str = "valid") -> Path:
    """Copy the trace of a conformance case to ``destination`` and return it."""
    return Path(shutil.copytree(CORPUS / kind / name / "trace", destination))


def edit_manifest(trace: Path, **changes) -> None:
    """Set top-level manifest keys of a trace copy."""
    path = trace / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


def write_part(trace: Path, table: str, sequence: int, columns: dict) -> Path:
    """Write a part of ``table`` with the spec's column types (as the writer would)."""
    schema = arrow_schema(table, optional=tuple(columns))
    arrays = []
    for field in schema:
        values = columns[field.name]
        arrays.append(pa.array(values, pa.string()).dictionary_encode() if pa.types.is_dictionary(field.type) else pa.array(values, field.type))
    data = pa.Table.from_arrays(arrays, schema=schema)
    (trace / table).mkdir(exist_ok=True)
    path = trace / table / f"part-{sequence:06d}.parquet"
    pq.write_table(data, path, **parquet_options(table, data.column_names))
    return path
