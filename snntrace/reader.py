"""Open a trace directory lazily: the manifest is read at once, tables only when a query is collected."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from snntrace._files import list_parts
from snntrace.errors import ManifestError, TraceNotFoundError, TraceReadError
from snntrace.format import MANIFEST_FILE, TABLES, arrow_schema

_MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """Read ``manifest.json`` of a trace directory without checking it against the schema."""
    root = Path(path)
    manifest_path = root / MANIFEST_FILE
    if not root.is_dir():
        raise TraceNotFoundError(f"{root} is not a directory; a trace is a directory holding {MANIFEST_FILE}", location=str(root))
    if not manifest_path.is_file():
        raise TraceNotFoundError(f"{root} holds no {MANIFEST_FILE}; is it an snntrace trace?", location=str(manifest_path))
    if manifest_path.is_symlink():
        raise ManifestError(f"{MANIFEST_FILE} is a symlink; a trace's files must be inside its directory", code="MF002", location=str(manifest_path))
    if manifest_path.stat().st_size > _MAX_MANIFEST_BYTES:
        raise ManifestError(f"{MANIFEST_FILE} is larger than {_MAX_MANIFEST_BYTES} bytes", code="MF002", location=str(manifest_path))
    try:
        document = json.loads(manifest_path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{MANIFEST_FILE} is not UTF-8: {exc.reason} at byte {exc.start}", code="MF002", location=str(manifest_path)) from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{MANIFEST_FILE} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            code="MF002",
            location=f"{manifest_path}:{exc.lineno}:{exc.colno}",
        ) from exc
    except RecursionError as exc:
        raise ManifestError(f"{MANIFEST_FILE} is nested too deeply", code="MF002", location=str(manifest_path)) from exc
    except ValueError as exc:  # e.g. an integer literal longer than Python's 4300-digit conversion limit
        raise ManifestError(f"{MANIFEST_FILE} holds a value Python cannot read: {exc}", code="MF002", location=str(manifest_path)) from exc
    if not isinstance(document, dict):
        raise ManifestError(f"{MANIFEST_FILE} must hold a JSON object", code="MF002", location=str(manifest_path))
    return document


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """Return the Polars schema of every spec column of ``table`` (optional ones included)."""
    return dict(_polars_schema(table))


@functools.cache
def _polars_schema(table: str) -> dict[str, pl.DataType]:
    return dict(pl.from_arrow(arrow_schema(table).empty_table()).schema)


@functools.lru_cache(maxsize=4096)
def _part_schema(path: str, mtime_ns: int, size: int) -> dict[str, pl.DataType] | str:
    """Return a part's column types as Polars reads them, or why its footer is unreadable (parts never change once
    published, so the answer is cached by path, modification time and size)."""
    try:
        return dict(pl.read_parquet_schema(path))
    except Exception as exc:  # truncated, garbled or not Parquet: Polars and pyarrow raise various errors
        return f"cannot read the Parquet footer ({type(exc).__name__}: {exc})"


def _check_part(table: str, part: Path, schema: dict[str, pl.DataType]) -> None:
    """Raise TraceReadError when a part cannot be scanned as ``table`` (instead of a Polars error at collect)."""
    stat = part.stat()
    found = _part_schema(str(part), stat.st_mtime_ns, stat.st_size)
    location = f"{table}/{part.name}"
    if isinstance(found, str):
        raise TraceReadError(f"{location}: {found}; `snntrace validate` lists every damaged part", location=location)
    for column, dtype in found.items():
        if column in schema and dtype != schema[column]:
            raise TraceReadError(
                f"{location}: column {column!r} is {dtype}, the spec says {schema[column]}; `snntrace validate` lists every such column",
                location=location,
            )


@dataclass(frozen=True)
class Trace:
    """An opened trace: the manifest, and each table as a Polars LazyFrame over its Parquet parts.

    Nothing but the manifest is read until a query is collected. Incomplete traces (a run that was killed) open
    too: their tables hold every part that was completed.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        """Return the run name."""
        return str(self.manifest.get("name", self.path.name))

    @property
    def complete(self) -> bool:
        """Return whether the producer closed the trace after a finished run."""
        return bool(self.manifest.get("complete", False))

    @property
    def resolution(self) -> float:
        """Return seconds per tick."""
        return float(self.manifest["time"]["resolution"])

    @property
    def duration_ticks(self) -> int:
        """Return the run length in ticks."""
        return int(self.manifest["time"]["duration"])

    @property
    def duration(self) -> float:
        """Return the run length in seconds."""
        return self.duration_ticks * self.resolution

    @property
    def populations(self) -> list[dict[str, Any]]:
        """Return the manifest's populations."""
        return list(self.manifest.get("populations", []))

    @property
    def projections(self) -> list[dict[str, Any]]:
        """Return the manifest's projections."""
        return list(self.manifest.get("projections", []))

    @property
    def classes(self) -> list[str]:
        """Return the dataset's class names (empty when the trace has no dataset)."""
        return list(self.manifest.get("dataset", {}).get("classes", []))

    @property
    def recorded(self) -> dict[str, Any]:
        """Return what the producer declared as recorded."""
        return dict(self.manifest.get("recorded", {}))

    @cached_property
    def population_names(self) -> dict[int, str]:
        """Return population id -> name."""
        return {int(p["id"]): str(p["name"]) for p in self.populations}

    @cached_property
    def projection_names(self) -> dict[int, str]:
        """Return projection id -> name."""
        return {int(p["id"]): str(p["name"]) for p in self.projections}

    def population(self, key: str | int) -> dict[str, Any]:
        """Return the manifest entry of a population given by name or id."""
        for entry in self.populations:
            if entry["name"] == key or (isinstance(key, int) and entry["id"] == key):
                return entry
        raise KeyError(f"no population {key!r}; populations: {', '.join(self.population_names.values())}")

    def parts(self, table: str) -> list[Path]:
        """Return the complete Parquet parts of ``table`` in order."""
        if table not in TABLES:
            raise KeyError(f"unknown table {table!r}; tables are {', '.join(TABLES)}")
        return list_parts(self.path / table)

    def has_rows(self, table: str) -> bool:
        """Return whether ``table`` has at least one part."""
        return bool(self.parts(table))

    def stores(self, table: str, column: str) -> bool:
        """Return whether any part of ``table`` stores ``column`` (a column no part stores reads as its default)."""
        for part in self.parts(table):
            stat = part.stat()
            found = _part_schema(str(part), stat.st_mtime_ns, stat.st_size)
            if isinstance(found, str) or column in found:
                return True  # an unreadable footer: assume the column is there; reading reports the damage
        return False

    def table(self, table: str) -> pl.LazyFrame:
        """Return ``table`` as a LazyFrame with every spec column (optional ones filled with nulls or defaults).

        Raises ``TraceReadError`` (RD001) when a part's footer is unreadable or a column has another type than the
        spec's; damage inside data pages surfaces when the frame is collected.
        """
        schema = polars_schema(table)
        parts = self.parts(table)
        if not parts:
            frame = pl.LazyFrame(schema=schema)
        else:
            for part in parts:
                _check_part(table, part, schema)
            frame = pl.scan_parquet(
                [str(p) for p in parts], schema=schema, missing_columns="insert", extra_columns="ignore", glob=False
            )
        if table == "spikes":
            frame = frame.with_columns(pl.col("count").fill_null(1))
        return frame

    @property
    def spikes(self) -> pl.LazyFrame:
        """Return the spikes table (t, population, neuron, count)."""
        return self.table("spikes")

    @property
    def states(self) -> pl.LazyFrame:
        """Return the state samples table."""
        return self.table("states")

    @property
    def weights(self) -> pl.LazyFrame:
        """Return the weight snapshots table."""
        return self.table("weights")

    @property
    def samples(self) -> pl.LazyFrame:
        """Return the input samples table."""
        return self.table("samples")

    @property
    def metrics(self) -> pl.LazyFrame:
        """Return the metrics table."""
        return self.table("metrics")

    @property
    def events(self) -> pl.LazyFrame:
        """Return the events table."""
        return self.table("events")


def open_trace(path: str | os.PathLike) -> Trace:
    """Open a trace directory; tables are read lazily.

    Raises
    ------
    TraceNotFoundError
        ``path`` is not a directory holding ``manifest.json``.
    ManifestError
        The manifest is not readable JSON. Use :func:`snntrace.validate` to check it against the spec.
    """
    root = Path(path)
    return Trace(path=root, manifest=read_manifest(root))
