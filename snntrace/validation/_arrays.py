"""Small Arrow helpers shared by the row checks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def first_true(mask: pa.Array) -> tuple[int, int]:
    """Return (count, first row) of true values in a boolean array whose nulls count as false (-1 if none)."""
    values = mask.fill_null(False).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(values)
    return len(rows), int(rows[0]) if len(rows) else -1


def as_strings(array: pa.Array) -> pa.Array:
    """Return a string or dictionary-of-strings array as plain strings."""
    return array.cast(pa.string()) if pa.types.is_dictionary(array.type) else array


def distinct_strings(array: pa.Array) -> set[str]:
    """Return the distinct non-null strings of a string or dictionary array."""
    return {v for v in pc.unique(as_strings(array)).to_pylist() if v is not None}
