"""Table structure checks: columns and their Arrow types, nulls, and the sort order within and across parts."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from snntrace.format import arrow_schema, table_spec
from snntrace.validation._context import Batch, Context, Part
from snntrace.validation._model import Problem, Severity
from snntrace.validation._registry import check

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@check("TB002", ERROR, "a part lacks a required column", scope="part")
def required_columns_present(ctx: Context, part: Part) -> Iterator[Problem]:
    """Require every required column of the table in every part."""
    for column in table_spec(part.table)["columns"]:
        if column["required"] and part.schema.get_field_index(column["name"]) < 0:
            yield Problem(f"required column {column['name']!r} ({column['type']}) is missing", column=column["name"])


@check("TB003", ERROR, "a spec column has another Arrow type than the spec's", scope="part")
def column_types_match(ctx: Context, part: Part) -> Iterator[Problem]:
    """Require spec columns (required or optional) to have exactly the spec's Arrow type."""
    for field in arrow_schema(part.table):
        index = part.schema.get_field_index(field.name)
        if index >= 0 and part.schema.field(index).type != field.type:
            yield Problem(f"column {field.name!r} is {part.schema.field(index).type}, the spec requires {field.type}", column=field.name)


@check("TB005", WARNING, "a part has a column the spec does not define (readers ignore it)", scope="part")
def no_unknown_columns(ctx: Context, part: Part) -> Iterator[Problem]:
    """Warn about columns a 1.x reader ignores (a newer minor version's optional column, or a producer's own)."""
    known = set(arrow_schema(part.table).names)
    for name in part.schema.names:
        if name not in known:
            yield Problem(f"unknown column {name!r} is ignored by readers", column=name)


@check("TB004", ERROR, "a non-nullable column holds a null", scope="rows")
def no_nulls_in_required_values(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require values in every non-nullable column."""
    for field in arrow_schema(batch.table):
        array = batch.column(field.name)
        if field.nullable or array is None or array.null_count == 0:
            continue
        row = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        yield Problem(f"{array.null_count} null(s) in non-nullable column {field.name!r}", row=row, column=field.name)


def _sort_column(table: str) -> str | None:
    keys = table_spec(table)["sort"]
    return keys[0] if keys else None


@check("TB006", ERROR, "rows within a part are not in non-decreasing time order", scope="rows")
def rows_sorted_within_part(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require the sort column (t, or t_start for samples) not to decrease within a part."""
    column = _sort_column(batch.table)
    values = batch.values(column) if column else None
    if values is None or not len(values):
        return
    previous = state.get(batch.part.name)  # last value of the previous batch of this part
    if previous is not None and values[0] < previous:
        yield Problem(f"{column} {values[0]} follows {previous} of the previous row", row=0, column=column)
    drops = np.flatnonzero(np.diff(values) < 0)
    if len(drops):
        row = int(batch.rows_of(column)[drops[0] + 1])
        yield Problem(f"{column} decreases at {len(drops)} row(s); first {values[drops[0] + 1]} after {values[drops[0]]}", row=row, column=column)
    state.clear()
    state[batch.part.name] = values[-1]


@check("TB007", ERROR, "a part starts before the previous part of its table ends", scope="rows")
def parts_sorted_across_parts(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require each part's first time to be >= the previous part's last time, so parts concatenate in order."""
    column = _sort_column(batch.table)
    values = batch.values(column) if column else None
    if values is None or not len(values):
        return
    if batch.offset == 0 and state.get("part") not in (None, batch.part.name):
        if values[0] < state["last"]:
            yield Problem(f"{column} {values[0]} is before {state['last']}, the last value of {state['part']}", row=int(batch.rows_of(column)[0]), column=column)
    state["part"], state["last"] = batch.part.name, values[-1]
