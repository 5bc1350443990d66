"""What checks see: the trace's manifest facts (read defensively) and record batches of table parts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from snntrace._version import SPEC_VERSION

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)$")


_INT64_MAX = 2**63 - 1


def _int(value: Any) -> int | None:
    """Return ``value`` if it is a JSON integer usable as an id, size or tick (0..2**63-1), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _INT64_MAX:
        return value
    return None


def ints(value: Any) -> set[int]:
    """Return the usable integers of a JSON array (anything else yields an empty set)."""
    return {v for v in value if _int(v) is not None} if isinstance(value, list) else set()


def strings(value: Any) -> set[str]:
    """Return the strings of a JSON array (anything else yields an empty set)."""
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


@dataclass
class Context:
    """The trace under validation. Manifest facts are read defensively: a malformed entry is skipped here (the
    schema check reports it), so every check can rely on the types below."""

    root: Path
    manifest: dict[str, Any] | None

    @property
    def usable(self) -> bool:
        """Return whether the manifest was readable, so table checks can compare rows against it."""
        return isinstance(self.manifest, dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a top-level manifest value."""
        return self.manifest.get(key, default) if isinstance(self.manifest, dict) else default

    @cached_property
    def version(self) -> tuple[int, int] | None:
        """Return the declared spec version (major, minor), or None if missing or malformed."""
        value = self.get("snntrace")
        match = _VERSION_RE.match(value) if isinstance(value, str) else None
        return (int(match.group(1)), int(match.group(2))) if match else None

    @cached_property
    def newer_minor(self) -> bool:
        """Return whether the trace follows a newer 1.x minor version than this reader knows."""
        known = tuple(int(x) for x in SPEC_VERSION.split("."))
        return self.version is not None and self.version[0] == known[0] and self.version[1] > known[1]

    @cached_property
    def complete(self) -> bool:
        """Return whether the producer marked the run complete."""
        return self.get("complete") is True

    @cached_property
    def duration(self) -> int | None:
        """Return the run length in ticks, or None if the manifest does not give a usable one."""
        time = self.get("time")
        return _int(time.get("duration")) if isinstance(time, dict) else None

    @cached_property
    def population_sizes(self) -> dict[int, int | None]:
        """Return population id -> size (None when the size is malformed; first entry wins on duplicate ids).

        An entry with a usable id counts as declared even if another field is malformed, so one schema error
        does not cascade into "unknown population" findings for every row.
        """
        sizes: dict[int, int | None] = {}
        for entry in self._entries("populations"):
            id_ = _int(entry.get("id"))
            if id_ is not None and id_ not in sizes:
                sizes[id_] = _int(entry.get("size"))
        return sizes

    @cached_property
    def projection_ends(self) -> dict[int, tuple[int | None, int | None]]:
        """Return projection id -> (pre, post) population ids."""
        ends: dict[int, tuple[int | None, int | None]] = {}
        for entry in self._entries("projections"):
            id_ = _int(entry.get("id"))
            if id_ is not None and id_ not in ends:
                ends[id_] = (_int(entry.get("pre")), _int(entry.get("post")))
        return ends

    @cached_property
    def classes(self) -> list[str] | None:
        """Return the dataset class names, or None when the manifest declares none."""
        dataset = self.get("dataset")
        classes = dataset.get("classes") if isinstance(dataset, dict) else None
        return list(classes) if isinstance(classes, list) else None

    def recorded_list(self, key: str) -> list[dict[str, Any]]:
        """Return the object entries of ``recorded[key]`` (states, weights)."""
        value = self.recorded.get(key)
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []

    @cached_property
    def recorded(self) -> dict[str, Any]:
        """Return the manifest's ``recorded`` object (empty if missing or malformed)."""
        value = self.get("recorded")
        return value if isinstance(value, dict) else {}

    def _entries(self, key: str) -> list[dict[str, Any]]:
        value = self.get(key)
        return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


@dataclass
class Part:
    """One Parquet part of a table: where it is and its Arrow schema (given to ``part`` checks)."""

    table: str
    path: Path
    schema: pa.Schema
    num_rows: int

    @property
    def name(self) -> str:
        """Return the part's file name."""
        return self.path.name


@dataclass
class Batch:
    """A record batch of a part, given to ``rows`` checks; ``offset`` is the row of its first row in the part.

    Only columns present in the part with the spec's type are included, so a check asking for a column that is
    not there gets None and skips (the schema checks report the column itself).
    """

    part: Part
    offset: int
    data: pa.RecordBatch
    _numpy: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def table(self) -> str:
        """Return the table name."""
        return self.part.table

    @property
    def num_rows(self) -> int:
        """Return the number of rows in the batch."""
        return self.data.num_rows

    def column(self, name: str) -> pa.Array | None:
        """Return a column as an Arrow array, or None if the part lacks it."""
        index = self.data.schema.get_field_index(name)
        return None if index < 0 else self.data.column(index)

    def values(self, name: str) -> np.ndarray | None:
        """Return the non-null values of a numeric column as numpy, or None; nulls are dropped (see ``rows_of``)."""
        if name not in self._numpy:
            array = self.column(name)
            if array is None:
                return None
            self._numpy[name] = array.drop_null().to_numpy(zero_copy_only=False)
        return self._numpy[name]

    def rows_of(self, name: str) -> np.ndarray | None:
        """Return the batch row positions of a column's non-null values (aligned with :meth:`values`)."""
        array = self.column(name)
        if array is None:
            return None
        if array.null_count == 0:
            return np.arange(len(array))
        return np.flatnonzero(array.is_valid().to_numpy(zero_copy_only=False))
