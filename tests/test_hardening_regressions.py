"""Replay the regression corpus: every input that once crashed a surface (tests/regressions/*.json).

A case starts from the small valid trace of ``_hardening.write_small_trace`` and changes it:

* ``manifest_ops``: ``set`` / ``delete`` / ``append`` at a path of keys and indices;
* ``manifest_bytes``: replace ``old`` by ``new`` in the raw manifest (``new`` may be ``{"repeat", "times", "prefix"}``);
* ``part_table``: ``{"table", "part", "mode": "replace"|"add", "columns": {name: {"type", "values"}}}`` writes a part;
* ``invalid_utf8``: ``{"table", "part", "column"}`` replaces a string column's values by invalid UTF-8;
* ``part_bytes``: ``{"table", "part", "truncate"?, "flip"?: [offsets], "tail"?: hex}`` damages a Parquet part.

Then each of its ``surfaces`` must answer without a crash (in a child process when ``isolate`` is set: the case
once aborted the interpreter). A case whose bug is not fixed yet carries ``xfail`` (the
reason); it runs strictly, so the fix makes it fail until the marker is removed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _hardening import assert_no_crash, fresh_copy, outcomes, write_small_trace

CORPUS = Path(__file__).parent / "regressions"
CASES = sorted(CORPUS.glob("*.json"))


def _value(spec):
    if isinstance(spec, dict) and "repeat" in spec:
        return spec.get("prefix", "") + spec["repeat"] * spec["times"]
    return spec


def _apply_manifest_ops(document: dict, ops: list[dict]) -> dict:
    for op in ops:
        *parents, last = op["path"]
        target = document
        for key in parents:
            target = target[key]
        if op["op"] == "set":
            target[last] = op["value"]
        elif op["op"] == "delete":
            del target[last]
        elif op["op"] == "append":
            target[last].append(op["value"])
        else:
            raise ValueError(f"unknown op {op['op']!r}")
    return document


def build_case(case: dict, trace: Path) -> Path:
    """Make the case's trace at ``trace`` from the small valid trace."""
    manifest = trace / "manifest.json"
    if "manifest_ops" in case:
        manifest.write_text(json.dumps(_apply_manifest_ops(json.loads(manifest.read_text()), case["manifest_ops"])))
    for change in case.get("manifest_bytes", []):
        raw = manifest.read_text(encoding="utf-8")
        assert change["old"] in raw, f"{change['old']!r} not in the base manifest"
        manifest.write_text(raw.replace(change["old"], _value(change["new"]), 1), encoding="utf-8")
    for change in case.get("part_table", []):
        folder = trace / change["table"]
        if change.get("mode") == "replace":
            for old in folder.glob("part-*.parquet"):
                old.unlink()
        columns = {
            name: pa.array(spec["values"], type=pa.type_for_alias(spec["type"]))
            for name, spec in change["columns"].items()
        }
        pq.write_table(pa.table(columns), folder / f"part-{change['part']:06d}.parquet")
    for change in case.get("invalid_utf8", []):
        part = trace / change["table"] / f"part-{change['part']:06d}.parquet"
        data = pq.read_table(part)
        index = data.schema.get_field_index(change["column"])
        rows = data.num_rows
        broken = pa.array([b"\xff\xfebad"], pa.binary()).view(pa.string())  # pyarrow does not check UTF-8 here
        if pa.types.is_dictionary(data.schema.field(index).type):
            column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), broken)
        else:
            column = pa.array([b"\xff\xfebad"] * rows, pa.binary()).view(pa.string())
        pq.write_table(data.set_column(index, change["column"], column), part)
    for change in case.get("part_bytes", []):
        part = trace / change["table"] / f"part-{change['part']:06d}.parquet"
        data = bytearray(part.read_bytes())
        if "truncate" in change:
            data = data[: change["truncate"]]
        for offset in change.get("flip", []):
            data[offset] ^= 0xFF
        if "tail" in change:
            data[-len(bytes.fromhex(change["tail"])) :] = bytes.fromhex(change["tail"])
        part.write_bytes(bytes(data))
    return trace


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory) -> Path:
    return write_small_trace(tmp_path_factory.mktemp("regressions") / "small.trace")


def _params():
    for path in CASES:
        case = json.loads(path.read_text())
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
        yield pytest.param(path, id=path.stem, marks=marks)


def test_the_corpus_is_not_empty_and_every_case_says_what_broke():
    assert CASES
    for path in CASES:
        case = json.loads(path.read_text())
        assert case["what"] and case["broke"] and case["surfaces"], path.name


@pytest.mark.parametrize("path", list(_params()))
def test_a_case_that_once_crashed_gets_an_answer_from_every_surface(path, small_trace, tmp_path):
    case = json.loads(path.read_text())
    trace = build_case(case, fresh_copy(small_trace, tmp_path / "case.trace"))
    if case.get("isolate"):
        _assert_no_crash_in_a_child(trace, tmp_path / "case.html", case["surfaces"], f"{path.stem}: {case['what']}")
        return
    assert_no_crash(
        outcomes(trace, report_to=tmp_path / "case.html", surfaces=tuple(case["surfaces"])),
        f"{path.stem}: {case['what']}",
    )


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from _hardening import assert_no_crash, outcomes
assert_no_crash(outcomes(Path(sys.argv[2]), report_to=Path(sys.argv[3]), surfaces=tuple(sys.argv[4:])), sys.argv[2])
"""


def _assert_no_crash_in_a_child(trace: Path, report: Path, surfaces: list[str], what: str) -> None:
    """Run the surfaces in a child process: the case once killed the whole interpreter (a native abort)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(Path(__file__).parent), str(trace), str(report), *surfaces],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{what}: the child exited with {done.returncode}\n{done.stderr[-3000:]}"
