"""snntrace.testing.assert_valid_trace: what a simulator author's pytest suite sees."""

from __future__ import annotations

import pytest

from snntrace.testing import assert_valid_trace

from _validation_fixtures import CORPUS


def test_a_valid_trace_passes():
    assert_valid_trace(CORPUS / "valid" / "full" / "trace")
    assert_valid_trace(CORPUS / "valid" / "full" / "trace", allow_warnings=False)


def test_an_invalid_trace_fails_listing_each_error_with_its_location():
    trace = CORPUS / "invalid" / "undeclared_recorded_data" / "trace"
    with pytest.raises(AssertionError) as info:
        assert_valid_trace(trace)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{trace} is not a valid snntrace trace (2 errors):"
    assert lines[1].startswith("  states/part-000000.parquet column variable: RC001 error: state variable 'v' of population 1")
    assert lines[2].startswith("  metrics/part-000000.parquet row 0 column name: RC001 error: metric 'accuracy'")


def test_warnings_pass_unless_disallowed():
    trace = CORPUS / "valid" / "incomplete" / "trace"
    assert_valid_trace(trace)
    with pytest.raises(AssertionError, match=r"\(1 findings\):\n  manifest.json#/complete: TR001 warning"):
        assert_valid_trace(trace, allow_warnings=False)


def test_a_path_that_is_not_a_trace_fails_as_an_assertion(tmp_path):
    with pytest.raises(AssertionError, match="is not a readable trace: IO001"):
        assert_valid_trace(tmp_path)
