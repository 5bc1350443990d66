"""Generated table contents in real Parquet parts: every surface answers, whatever the columns hold.

Each example writes one table part from generated columns: the spec's columns or some of them (a required one
missing), extra columns, a wrong Arrow type, NaN and infinities, negative and huge ids and ticks, unsorted times,
empty tables, hostile strings. ``validate``, ``info`` and ``open_trace`` (+ collecting every table) must give a
result or a coded error; the report runs on a sample of them.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _hardening import (
    MEMORY_GROWTH_BYTES,
    assert_no_crash,
    fresh_copy,
    fuzz_settings,
    outcomes,
    peak_rss,
    write_small_trace,
)
from hypothesis import given
from hypothesis import strategies as st

from snntrace.format import TABLES, arrow_schema, table_spec

pytestmark = pytest.mark.slow  # a fuzz test runs for 10-30 s

WRONG_TYPES = [
    pa.string(),
    pa.float64(),
    pa.float32(),
    pa.int8(),
    pa.int64(),
    pa.uint64(),
    pa.bool_(),
    pa.null(),
    pa.list_(pa.int32()),
    pa.timestamp("ns"),
    pa.binary(),
]
HOSTILE_TEXT = [
    "",
    "</script><script>alert(1)</script>",
    "\u202eevil",
    "\x00",
    "{{7*7}}",
    "${x}",
    "x" * 10_000,
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]


def _values(arrow_type: pa.DataType, *, nulls: bool = True, plausible: bool = False):
    """Return a strategy of Python values storable in a column of ``arrow_type`` (with nulls if ``nulls``);
    ``plausible`` keeps numbers mostly in the ranges of a small valid trace, so the report gets past validation."""
    values = _non_null(arrow_type)
    if plausible and pa.types.is_integer(arrow_type):
        values = st.sampled_from([0, 1]) | st.integers(0, 7) | st.integers(0, 2999)
    elif plausible and pa.types.is_floating(arrow_type):
        values = st.floats(0, 1) | st.floats(-1e6, 1e6)
    return st.none() | values if nulls else values


def _non_null(arrow_type: pa.DataType):
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type):
        info_bits = arrow_type.bit_width
        low, high = (
            (0, 2**info_bits - 1)
            if pa.types.is_unsigned_integer(arrow_type)
            else (-(2 ** (info_bits - 1)), 2 ** (info_bits - 1) - 1)
        )
        return st.sampled_from([low, high, 0, 1]) | st.integers(low, high) | st.integers(max(low, -5), min(high, 50))
    if pa.types.is_floating(arrow_type):
        return st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308]) | st.floats(
            allow_nan=True, allow_infinity=True, width=arrow_type.bit_width
        )
    if pa.types.is_boolean(arrow_type):
        return st.booleans()
    if pa.types.is_string(arrow_type):
        return st.sampled_from(
            HOSTILE_TEXT
            + [
                "{}",
                "[]",
                '{"threshold": NaN}',
                '{"threshold": 0.1, "before": 5, "remaining": 9}',
                "train",
                "test",
                "accuracy",
            ]
        ) | st.text(max_size=12)
    if pa.types.is_binary(arrow_type):
        return st.binary(max_size=8)
    if pa.types.is_list(arrow_type):
        return st.lists(st.integers(-5, 5), max_size=3)
    if pa.types.is_timestamp(arrow_type):
        return st.integers(-(2**40), 2**40)
    return st.none()


@st.composite
def table_parts(draw, table: str, *, mistype: bool = True, invalid_utf8: bool = True) -> pa.Table:
    spec = arrow_schema(table)
    rows = draw(st.sampled_from([0, 1, 2, 5, 17]))
    columns, fields = [], []
    for field in spec:
        if mistype and draw(st.integers(0, 9)) == 0:
            continue  # drop the column (required or optional)
        arrow_type = draw(st.sampled_from(WRONG_TYPES)) if mistype and draw(st.integers(0, 5)) == 0 else field.type
        values = draw(
            st.lists(
                _values(arrow_type, nulls=mistype or field.nullable, plausible=not mistype),
                min_size=rows,
                max_size=rows,
            )
        )
        if pa.types.is_dictionary(arrow_type):
            column = pa.array(values, type=pa.string()).dictionary_encode().cast(arrow_type)
        else:
            column = pa.array(values, type=arrow_type)
        if mistype and invalid_utf8 and pa.types.is_string(column.type) and draw(st.integers(0, 4)) == 0:
            # Invalid UTF-8: pyarrow stores any bytes in a string column when viewed from binary.
            column = pa.array([None if v is None else v.encode() + b"\xff\xfe" for v in values], pa.binary()).view(
                pa.string()
            )
        columns.append(column)
        fields.append(field.name)
    for extra in range(draw(st.integers(0, 2 if mistype else 0))):
        arrow_type = draw(st.sampled_from(WRONG_TYPES))
        columns.append(pa.array(draw(st.lists(_values(arrow_type), min_size=rows, max_size=rows)), type=arrow_type))
        fields.append(draw(st.sampled_from(["extra", "t ", "T", "__index_level_0__", "é", f"c{extra}"])))
    if not columns:
        return pa.table({"nothing": pa.array([None] * rows, type=pa.null())})
    part = (
        pa.table(columns, names=fields) if len(set(fields)) == len(fields) else pa.table(columns[:1], names=fields[:1])
    )
    keys = [k for k in table_spec(table)["sort"] if k in part.column_names]
    if not mistype and keys and draw(st.booleans()):
        part = part.sort_by([(k, "ascending") for k in keys])  # half of the plausible parts are in spec order
    return part


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory) -> Path:
    return write_small_trace(tmp_path_factory.mktemp("table-fuzz") / "valid.trace")


def _place(trace: Path, table: str, data: pa.Table, mode: str) -> None:
    folder = trace / table
    folder.mkdir(exist_ok=True)
    name = "part-000000.parquet" if mode == "replace" else "part-000001.parquet"
    if mode == "replace":
        for old in folder.glob("part-*.parquet"):
            old.unlink()
    pq.write_table(data, folder / name)


def test_generated_table_parts_get_an_answer_from_every_surface(valid_trace, tmp_path_factory):
    work = tmp_path_factory.mktemp("parts") / "t.trace"
    before = peak_rss()

    @fuzz_settings(120)
    @given(st.data())
    def check(data):
        table = data.draw(st.sampled_from(TABLES), label="table")
        part = data.draw(table_parts(table), label="part")
        mode = data.draw(st.sampled_from(["replace", "append"]), label="mode")
        fresh_copy(valid_trace, work)
        _place(work, table, part, mode)
        assert_no_crash(outcomes(work), f"{mode} {table} part with schema {part.schema} rows {part.slice(0, 5)}")

    check()
    assert peak_rss() - before < MEMORY_GROWTH_BYTES


def test_reports_of_generated_table_parts_are_written_or_refused_with_a_code(valid_trace, tmp_path_factory):
    """The report is slower (about a second a trace): fewer examples. Half of them have spec-typed columns with
    plausible values, so the report gets past its manifest and part checks and draws the rows. No invalid UTF-8:
    the report lets Polars' error escape on it (open finding, tests/regressions/report_invalid_utf8_*.json)."""
    work = tmp_path_factory.mktemp("report-parts") / "t.trace"

    @fuzz_settings(24)
    @given(st.data())
    def check(data):
        table = data.draw(st.sampled_from(TABLES), label="table")
        part = data.draw(table_parts(table, mistype=data.draw(st.booleans()), invalid_utf8=False), label="part")
        fresh_copy(valid_trace, work)
        _place(work, table, part, data.draw(st.sampled_from(["replace", "append"]), label="mode"))
        assert_no_crash(
            outcomes(work, surfaces=("report",), report_to=work.parent / "t.html"),
            f"{table} part {part.schema}: {part.slice(0, 5)}",
        )

    check()
