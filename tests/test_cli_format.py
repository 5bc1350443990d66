"""`snntrace validate`, `info` and `schema` through Click's CliRunner: exit code, stdout and stderr separately."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import polars as pl
import pytest
from click.testing import CliRunner

from snntrace import open_trace
from snntrace.cli import cli
from snntrace.format import manifest_schema, schema_names, table_spec

from _validation_fixtures import CORPUS, copy_case

FULL = CORPUS / "valid" / "full" / "trace"
INCOMPLETE = CORPUS / "valid" / "incomplete" / "trace"
NEURON = CORPUS / "invalid" / "neuron_beyond_size" / "trace"


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    # CliRunner turns an escaped exception into exit code 1, the same as "invalid": make sure none escaped.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_validate_a_valid_trace_exits_0_with_a_verdict_on_stdout():
    result = run("validate", str(FULL))
    assert result.exit_code == 0
    assert result.stdout == f"{FULL}: valid (complete; 0 error(s), 0 warning(s))\n"
    assert result.stderr == ""


def test_validate_an_invalid_trace_exits_1_and_names_the_location():
    result = run("validate", str(NEURON))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "spikes/part-000000.parquet row 3 column neuron: ID002 error: "
        "1 row(s) have a neuron beyond its population; first: neuron 3 of population 1 (size 3)"
    )
    assert "INVALID" in result.stdout.splitlines()[-1]
    assert result.stderr == ""


def test_validate_json_output_is_pure_json_on_stdout():
    result = run("validate", str(NEURON), "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["counts"] == {"error": 1, "warning": 0}
    assert document["findings"][0]["location"] == {
        "file": "spikes/part-000000.parquet",
        "table": "spikes",
        "part": "part-000000.parquet",
        "row": 3,
        "column": "neuron",
    }
    assert result.stderr == ""


def test_validate_junit_output_parses_and_fails_the_test_case_of_each_failing_code():
    result = run("validate", str(NEURON), "--format", "junit")
    assert result.exit_code == 1
    suite = ET.fromstring(result.stdout)
    assert suite.tag == "testsuite" and suite.get("failures") == "1"
    failed = [case.get("name").split()[0] for case in suite.iter("testcase") if case.find("failure") is not None]
    assert failed == ["ID002"]
    assert int(suite.get("tests")) == len(list(suite.iter("testcase"))) > 30


def test_strict_turns_warnings_into_a_failing_exit_status():
    assert run("validate", str(INCOMPLETE)).exit_code == 0
    strict = run("validate", str(INCOMPLETE), "--strict", "--format", "junit")
    assert strict.exit_code == 1
    failing = [c for c in ET.fromstring(strict.stdout).iter("testcase") if c.find("failure") is not None]
    assert [c.get("name").split()[0] for c in failing] == ["TR001"]


def test_validate_a_path_that_is_not_a_trace_exits_2_with_the_error_on_stderr(tmp_path):
    result = run("validate", str(tmp_path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: IO001 at {tmp_path / 'manifest.json'}: ")


def test_bad_usage_exits_2():
    result = run("validate", str(FULL), "--format", "xml")
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


def test_info_counts_rows_per_table_from_parquet_footers():
    result = run("info", str(FULL), "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    info = json.loads(result.stdout)
    trace = open_trace(FULL)
    for table in ("spikes", "states", "weights", "samples", "metrics", "events"):
        assert info["tables"][table]["rows"] == trace.table(table).select(pl.len()).collect().item()
    assert info["complete"] is True
    assert info["time"] == {"resolution": 0.001, "duration_ticks": 100, "duration_seconds": 0.1}
    assert [p["name"] for p in info["populations"]] == ["input", "out"]


def test_info_text_says_what_was_recorded_and_whether_the_run_completed(tmp_path):
    result = run("info", str(INCOMPLETE))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"{INCOMPLETE}: 'conformance case' (snntrace 1.0, INCOMPLETE)"
    assert "  1: out (3 neurons, role output)" in lines
    assert any(line.startswith("  spikes") and line.endswith("(recorded)") and " 6 rows in 1 part(s)" in line for line in lines)
    silent = run("info", str(CORPUS / "valid" / "minimal" / "trace")).stdout
    assert "spikes              0 rows in 0 part(s), 0 bytes (not recorded)" in silent


def test_info_counts_an_unreadable_part_without_failing(tmp_path):
    trace = copy_case("part_truncated", tmp_path / "t", kind="invalid")
    info = json.loads(run("info", str(trace), "--format", "json").stdout)
    assert info["tables"]["spikes"] == {"parts": 1, "rows": 0, "bytes": (trace / "spikes" / "part-000000.parquet").stat().st_size, "unreadable_parts": 1}


def test_schema_lists_every_name():
    result = run("schema")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(schema_names())


@pytest.mark.parametrize("name", ["manifest", "spikes", "event:prune"])
def test_schema_prints_the_published_document(name):
    result = run("schema", name)
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    if name == "manifest":
        assert document == manifest_schema()
    elif name == "spikes":
        assert document == table_spec("spikes")
    else:
        assert document["required"] == ["threshold", "before", "remaining"]


def test_schema_with_an_unknown_name_exits_2_listing_the_names():
    result = run("schema", "spike")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: US002 at NAME: unknown schema 'spike'; choose one of manifest, spikes,")


def test_version_names_the_trace_format():
    result = run("--version")
    assert result.exit_code == 0
    assert "(trace format 1.0)" in result.stdout
