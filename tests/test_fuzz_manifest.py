"""Generated and mutated manifests: validate, info and open_trace (+ collecting every table) never crash or hang.

Mutations start from a valid trace's manifest and change one to three places: a value of the wrong type, NaN or
infinity, a negative or huge number, a deleted key, an extra key, a replaced container. Whole manifests are also
generated from scratch, and raw manifest bytes are broken (invalid UTF-8, lone surrogates, deep nesting, giant
annotations). Each case must come back as ok, findings, or a coded error.
"""

from __future__ import annotations

import copy
import json
import math
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

pytestmark = pytest.mark.slow  # a fuzz test runs for 10-30 s

SURFACES = ("validate", "info", "open")

HUGE = [2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -1, -(2**63), -(2**64)]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(HUGE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-320, 1e308]),
    st.text(max_size=20),
    st.sampled_from(
        ["", "..", "../../etc/passwd", "/etc/passwd", "C:\\x", "\x00", "spikes/../..", "1.0", "2.0", "x" * 5000]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _pointers(value, prefix=()) -> list[tuple]:
    """Return the path of every value inside a JSON document (the document itself included)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _pointers(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _pointers(item, (*prefix, index))
    return found


def _apply(document, path: tuple, action: str, value):
    """Replace, delete or add next to the value at ``path``; returns the changed document."""
    if not path:
        return value if action == "replace" else document
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "replace":
        parent[key] = value
    elif action == "delete":
        del parent[key]
    elif action == "extra" and isinstance(parent, dict):
        parent[f"x_{key}_extra"] = value
    elif action == "extra" and isinstance(parent, list):
        parent.append(value)
    return document


@st.composite
def mutated_manifests(draw, base: dict):
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _pointers(document)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "extra"] if path else ["replace"]))
        document = _apply(document, path, action, draw(json_values))
    return document


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory) -> Path:
    return write_small_trace(tmp_path_factory.mktemp("manifest-fuzz") / "valid.trace")


def _write_manifest(trace: Path, document) -> None:
    # Python's json writes NaN and Infinity, which Python's json also reads back: hostile but plausible input.
    (trace / "manifest.json").write_text(json.dumps(document, allow_nan=True), encoding="utf-8", errors="surrogatepass")


def test_mutated_manifests_get_an_answer_from_every_surface(valid_trace, tmp_path_factory):
    base = json.loads((valid_trace / "manifest.json").read_text())
    work = tmp_path_factory.mktemp("mutated") / "m.trace"
    before = peak_rss()

    @fuzz_settings(120)
    @given(mutated_manifests(base))
    def check(document):
        fresh_copy(valid_trace, work)
        _write_manifest(work, document)
        assert_no_crash(outcomes(work, surfaces=SURFACES), f"manifest {json.dumps(document, allow_nan=True)[:2000]}")

    check()
    assert peak_rss() - before < MEMORY_GROWTH_BYTES


def test_generated_manifests_get_an_answer_from_every_surface(valid_trace, tmp_path_factory):
    work = tmp_path_factory.mktemp("generated") / "g.trace"
    keys = [
        "snntrace",
        "name",
        "created",
        "time",
        "complete",
        "populations",
        "projections",
        "dataset",
        "recorded",
        "annotations",
        "simulator",
        "producer",
    ]
    documents = st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), json_values, max_size=12)

    @fuzz_settings(40)
    @given(documents)
    def check(document):
        fresh_copy(valid_trace, work)
        _write_manifest(work, document)
        assert_no_crash(outcomes(work, surfaces=SURFACES), f"manifest {json.dumps(document, allow_nan=True)[:2000]}")

    check()


RAW_MANIFESTS = {
    "invalid UTF-8 in the name": lambda m: m.replace(b'"name": "small"', b'"name": "sm\xff\xfeall"'),
    "invalid UTF-8 in a population name": lambda m: m.replace(b'"name": "exc"', b'"name": "\xc3\x28"'),
    "lone surrogate in a population name": lambda m: m.replace(b'"name": "exc"', b'"name": "\\ud800exc"'),
    "lone surrogate in a class name": lambda m: m.replace(b'"zero"', b'"\\udfffzero"'),
    "UTF-16 with BOM": lambda m: m.decode().encode("utf-16"),
    "UTF-8 BOM": lambda m: b"\xef\xbb\xbf" + m,
    "empty file": lambda m: b"",
    "NUL bytes": lambda m: b"\x00" * 1000,
    "truncated": lambda m: m[: len(m) // 2],
    "JSON array": lambda m: b"[" + m + b"]",
    "JSON string": lambda m: b'"manifest"',
    "deeply nested annotations (100k levels)": lambda m: m.replace(
        b'"note": "hardening"', b'"note": ' + b"[" * 100_000 + b"]" * 100_000
    ),
    "deeply nested annotations (900 levels)": lambda m: m.replace(
        b'"note": "hardening"', b'"note": ' + b'{"a":' * 900 + b"1" + b"}" * 900
    ),
    "giant annotation (20 MB string)": lambda m: m.replace(
        b'"note": "hardening"', b'"note": "' + b"x" * 20_000_000 + b'"'
    ),
    "manifest over the 64 MB limit": lambda m: m.replace(
        b'"note": "hardening"', b'"note": "' + b"y" * 70_000_000 + b'"'
    ),
    "duplicate keys": lambda m: m.replace(b'"complete": true', b'"complete": true, "complete": "yes"'),
    "huge integer literal": lambda m: m.replace(b'"size": 8', b'"size": ' + b"9" * 5000),
    "huge float literal": lambda m: m.replace(b'"resolution": 0.0001', b'"resolution": 1e999'),
    "NaN resolution": lambda m: m.replace(b'"resolution": 0.0001', b'"resolution": NaN'),
    "declared size 2**62": lambda m: m.replace(b'"size": 8', b'"size": 4611686018427387904'),
    "duration 2**63-1": lambda m: m.replace(b'"duration": 3000', b'"duration": 9223372036854775807'),
}


@pytest.mark.parametrize("case", list(RAW_MANIFESTS))
def test_broken_manifest_bytes_get_an_answer_from_every_surface(case, valid_trace, tmp_path):
    work = fresh_copy(valid_trace, tmp_path / "raw.trace")
    original = (valid_trace / "manifest.json").read_bytes()
    broken = RAW_MANIFESTS[case](original)
    assert broken != original, f"the mutation {case!r} did not apply"
    (work / "manifest.json").write_bytes(broken)
    before = peak_rss()
    assert_no_crash(outcomes(work, surfaces=SURFACES), case)
    assert peak_rss() - before < MEMORY_GROWTH_BYTES
