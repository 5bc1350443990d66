"""``snntrace report --check RULE``: the rules' results as `snntrace check` computes them, in an escaped table."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from click.testing import CliRunner

import snntrace
from snntrace.cli import cli
from snntrace.gates import run_checks
from snntrace.model import Population

PAYLOAD = "</script><script>window.pwned=1</script>"
ROW = re.compile(r'<tr class="([a-z]+)">(.*?)</tr>')
CELL = re.compile(r"<td>(.*?)</td>")


def run(*args):
    result = CliRunner().invoke(cli, ["report", *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


def rows(text: str, section: str) -> list[list[str]]:
    """Return the unescaped cells of the results table of one section."""
    body = re.search(rf'<section id="{section}">(.*?)</section>', text, re.DOTALL)
    assert body, section
    return [[html_lib.unescape(c) for c in CELL.findall(row)] for _, row in ROW.findall(body.group(1))]


RULES = ["final_accuracy >= 0.99", "silent_fraction <= 0.5", "spike_count > 0"]


def expected(trace) -> list[list[str]]:
    out = []
    for r in run_checks(trace, RULES).to_dict()["results"]:
        value = (
            ""
            if r["value"] is None
            else str(r["value"]).lower()
            if isinstance(r["value"], bool)
            else f"{r['value']:.6g}"
        )
        required = "" if r["op"] is None else f"{r['op']} {r['threshold']:g}"
        out.append([r["status"], r["rule"], r["subject"] or "", value, required, r["message"]])
    return out


def test_check_results_end_the_single_run_report_and_match_snntrace_check(synthetic_trace, tmp_path):
    out = tmp_path / "r.html"
    args = [a for rule in RULES for a in ("--check", rule)]
    result = run(str(synthetic_trace), "-o", str(out), "--no-static", *args)
    assert result.exit_code == 0, result.stderr  # the report is written even though a rule fails
    shown = rows(out.read_text("utf-8"), "checks")
    assert shown == expected(synthetic_trace)
    assert [row[0] for row in shown] == ["failed", "passed", "passed"]


def test_a_comparison_shows_the_check_results_of_both_runs(synthetic_trace, tmp_path):
    from snntrace.synthetic import write_synthetic_trace

    other = write_synthetic_trace(tmp_path / "other.trace", spikes=5_000, samples=20, seed=5, name="pruned")
    out = tmp_path / "c.html"
    args = [a for rule in RULES for a in ("--check", rule)]
    result = run(str(synthetic_trace), str(other), "-o", str(out), "--no-static", *args)
    assert result.exit_code == 0, result.stderr
    text = out.read_text("utf-8")
    assert rows(text, "checks-base") == expected(synthetic_trace)
    assert rows(text, "checks-other") == expected(other)


def test_names_from_the_trace_in_check_results_are_escaped(tmp_path):
    path = tmp_path / "hostile.trace"
    with snntrace.TraceWriter(
        path, name="hostile", time_resolution=1e-3, populations=[Population(f"pop{PAYLOAD}", 3)], duration=100
    ) as writer:
        writer.record_spikes([0])
        writer.write_spikes([1, 5, 9], 0, [0, 1, 1])
    out = tmp_path / "r.html"
    result = run(str(path), "-o", str(out), "--no-static", "--check", "silent_fraction <= 0.5")
    assert result.exit_code == 0, result.stderr
    text = out.read_text("utf-8")
    assert PAYLOAD not in text
    assert text.count("<script") == text.count("</script>")
    assert rows(text, "checks")[0][:3] == ["passed", f"silent_fraction(pop{PAYLOAD}) <= 0.5", f"pop{PAYLOAD}"]


def test_a_malformed_rule_stops_the_report_with_the_check_code(synthetic_trace, tmp_path):
    out = tmp_path / "r.html"
    result = run(str(synthetic_trace), "-o", str(out), "--check", "spike_count > 0", "--check", "nonsense >=")
    assert result.exit_code == 2
    assert "Error: GT001 at --check 2: unknown metric 'nonsense'" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("traces", [1, 2])
def test_without_check_there_is_no_results_table(synthetic_trace, tmp_path, traces):
    out = tmp_path / "r.html"
    result = run(*[str(synthetic_trace)] * traces, "-o", str(out), "--no-static")
    assert result.exit_code == 0, result.stderr
    assert '<table class="results">' not in out.read_text("utf-8")
