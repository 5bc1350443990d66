"""Check results: the rules of ``snntrace check`` evaluated on a run, shown as a table on its report."""

from __future__ import annotations

from collections.abc import Sequence

from snntrace.gates import CheckReport, run_checks
from snntrace.reader import Trace
from snntrace.reports._model import Fact, Section, Table

COLUMNS = ["status", "rule", "subject", "value", "required", "message"]


def _value(value) -> str:
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value).lower()
    return f"{value:.6g}"


def table(report: CheckReport) -> Table:
    """Return one row of text cells per result (from ``CheckReport.to_dict``, so the page says what JSON says)."""
    rows = []
    for result in report.to_dict()["results"]:
        required = "" if result["op"] is None else f"{result['op']} {result['threshold']:g}"
        rows.append(
            [
                result["status"],
                result["rule"],
                result["subject"] or "",
                _value(result["value"]),
                required,
                result["message"],
            ]
        )
    return Table(columns=list(COLUMNS), rows=rows)


def build(trace: Trace, rules: Sequence[str], *, key: str = "checks", run: str | None = None) -> Section:
    """Return a section with the results of ``rules`` on ``trace`` (raises ``RuleError`` for a malformed rule)."""
    report = run_checks(trace, rules)
    counts = report.counts()
    return Section(
        key=key,
        title=f"Checks{f' ({run} run)' if run else ''}",
        question="Does the run meet the rules given with --check (as `snntrace check` evaluates them)?",
        facts=[
            Fact("Result", "all rules passed" if report.ok else "some rules did not pass"),
            Fact("Rules", f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} error(s)"),
        ],
        table=table(report),
    )
