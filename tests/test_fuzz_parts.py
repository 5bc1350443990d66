"""Byte-level damage to real Parquet parts: truncation, flipped bytes, a wrong footer. Every surface answers.

The parts come from the writer (every table of a small trace). ``validate`` reports TB001 with the part, ``info``
counts the part as unreadable, ``open_trace`` raises RD001 when a table's footer is unreadable; the report writes
or refuses with a code.
"""

from __future__ import annotations

import struct
from pathlib import Path

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

from snntrace.format import TABLES

pytestmark = pytest.mark.slow  # a fuzz test runs for 10-30 s


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory) -> Path:
    return write_small_trace(tmp_path_factory.mktemp("part-fuzz") / "valid.trace")


def _footer_length(data: bytes) -> int:
    return struct.unpack("<I", data[-8:-4])[0]


@st.composite
def damage(draw, original: bytes) -> bytes:
    """Damage a Parquet file: truncate, flip bytes (anywhere or in the footer), or rewrite the footer's frame."""
    data = bytearray(original)
    kind = draw(st.sampled_from(["truncate", "flip", "flip-footer", "footer-length", "magic", "zero-run", "append"]))
    footer_start = len(data) - 8 - _footer_length(original)
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind in ("flip", "flip-footer"):
        low = footer_start if kind == "flip-footer" else 0
        for offset in draw(st.lists(st.integers(low, len(data) - 1), min_size=1, max_size=8)):
            data[offset] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "footer-length":
        value = draw(
            st.sampled_from([0, 1, 7, len(data), len(data) - 8, 2**31 - 1, 2**32 - 1]) | st.integers(0, 2**32 - 1)
        )
        data[-8:-4] = struct.pack("<I", value)
        return bytes(data)
    if kind == "magic":
        spot = draw(st.sampled_from([slice(0, 4), slice(-4, None)]))
        data[spot] = draw(st.sampled_from([b"PAR0", b"PARE", b"\x00\x00\x00\x00", b"ORC\x00"]))
        return bytes(data)
    if kind == "zero-run":
        start = draw(st.integers(0, len(data) - 1))
        length = draw(st.integers(1, 64))
        data[start : start + length] = bytes(min(length, len(data) - start))
        return bytes(data)
    return bytes(data) + draw(st.binary(min_size=1, max_size=64))


def test_damaged_parts_get_an_answer_from_every_surface(valid_trace, tmp_path_factory):
    work = tmp_path_factory.mktemp("damaged") / "d.trace"
    before = peak_rss()

    @fuzz_settings(120)
    @given(st.data())
    def check(data):
        table = data.draw(st.sampled_from(TABLES), label="table")
        part = valid_trace / table / "part-000000.parquet"
        broken = data.draw(damage(part.read_bytes()), label="damage")
        fresh_copy(valid_trace, work)
        (work / table / part.name).write_bytes(broken)
        assert_no_crash(outcomes(work), f"{table}/{part.name} damaged ({len(broken)} bytes)")

    check()
    assert peak_rss() - before < MEMORY_GROWTH_BYTES


WHOLE_FILE = {
    "empty": b"",
    "only the magic": b"PAR1",
    "two magics": b"PAR1PAR1",
    "footer length larger than the file": b"PAR1" + b"\x00" * 16 + struct.pack("<I", 2**32 - 1) + b"PAR1",
    "JSON instead of Parquet": b'{"t": [1, 2, 3]}',
    "a megabyte of zeros": bytes(1 << 20),
}


@pytest.mark.parametrize("case", list(WHOLE_FILE))
def test_a_part_that_is_not_parquet_gets_an_answer_from_every_surface(case, valid_trace, tmp_path):
    work = fresh_copy(valid_trace, tmp_path / "w.trace")
    (work / "spikes" / "part-000000.parquet").write_bytes(WHOLE_FILE[case])
    assert_no_crash(
        outcomes(work, report_to=tmp_path / "w.html", surfaces=("validate", "info", "open", "report")), case
    )
