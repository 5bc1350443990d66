"""CI gates: small rules over a trace (``final_accuracy >= 0.7``, ``silent_fraction(excitatory) <= 20%``, ``valid``),
parsed without ``eval``, evaluated with Polars lazy queries, returned as data (text, JSON and JUnit XML views).

Rule language::

    rule     := boolean | metric [ "(" subject ")" ] op number [ "%" ]
    boolean  := "valid" | "complete"
    op       := "<=" | "<" | ">=" | ">" | "==" | "!="
    subject  := a population, projection or metric name, bare (up to ")") or quoted with " or '

A metric written without a subject where it takes one is checked once per population (or projection) it applies
to; ``spike_count``, ``spikes_per_sample`` and ``max_spikes_per_sample`` without a subject count the whole network.
A rule that cannot be evaluated on this trace (a metric it never recorded, an unknown population) is an *error*
result, not an exception: CI shows it like a failure. Malformed rules raise :class:`RuleError`.
"""

from __future__ import annotations

import json
import math
import operator
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from snntrace.errors import SnntraceError
from snntrace.reader import Trace, open_trace

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}
PASSED, FAILED, ERROR = "passed", "failed", "error"


class RuleError(SnntraceError, ValueError):
    """A rule or rules file is malformed (exit code 2)."""

    code = "GT001"


class MetricUnavailable(Exception):
    """The trace does not hold what a metric needs; becomes an ``error`` result with this message."""


@dataclass(frozen=True)
class Metric:
    """A rule metric: what its subject is (``population``, ``projection`` or None), and its description."""

    name: str
    subject: str | None
    description: str
    boolean: bool = False
    expand: bool = True  # without a subject, check each population/projection (else the whole network)
    requires_subject: bool = False


METRICS = {
    m.name: m
    for m in (
        Metric("valid", None, "the trace passes `snntrace validate` (no error finding)", boolean=True),
        Metric("complete", None, "the producer closed the trace after a finished run", boolean=True),
        Metric("silent_fraction", "population", "fraction of the population's neurons that never spiked (0..1)"),
        Metric("firing_rate", "population", "mean firing rate over the run, Hz"),
        Metric("spike_count", "population", "spikes over the run", expand=False),
        Metric("spikes_per_sample", "population", "mean spikes per presented sample", expand=False),
        Metric("max_spikes_per_sample", "population", "most spikes during one presented sample", expand=False),
        Metric("final_accuracy", None, "last `accuracy` metric value (0..1)"),
        Metric("final_loss", None, "last `loss` metric value"),
        Metric("compression", "projection", "last `compression_rate` of the projection (0..1, fraction removed)"),
        Metric(
            "final",
            "metric",
            "last value of any network-wide metric, e.g. final(test_accuracy)",
            expand=False,
            requires_subject=True,
        ),
    )
}


# -- parsing ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A parsed rule: metric, optional subject, comparison and threshold (None for boolean rules)."""

    text: str
    metric: str
    subject: str | None = None
    op: str | None = None
    threshold: float | None = None

    def describe(self, subject: str | None = None) -> str:
        """Return the canonical text of this rule, for ``subject`` when it was expanded."""
        subject = self.subject if subject is None else subject
        text = self.metric
        if subject is not None:
            text += f"({_quote(subject)})"
        if self.op is not None:
            text += f" {self.op} {self.threshold:g}"
        return text


def _quote(name: str) -> str:
    return name if re.fullmatch(r"[^()\"'\s]+", name) else json.dumps(name)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OP = re.compile(r"<=|>=|==|!=|<|>")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?")


def parse_rule(text: str, *, where: str | None = None) -> Rule:
    """Parse one rule; raise :class:`RuleError` saying what was expected where."""
    source = str(text)
    location = where or "rule"

    def fail(message: str, position: int) -> RuleError:
        return RuleError(f"{message} in {source!r} at column {position + 1}", location=location)

    pos = len(source) - len(source.lstrip())
    name = _NAME.match(source, pos)
    if not name:
        raise fail("expected a metric name", pos)
    metric = METRICS.get(name.group())
    if metric is None:
        raise fail(f"unknown metric {name.group()!r} (known: {', '.join(sorted(METRICS))})", pos)
    pos = _skip(source, name.end())
    subject = None
    if pos < len(source) and source[pos] == "(":
        if metric.subject is None:
            raise fail(f"{metric.name} takes no subject", pos)
        pos = _skip(source, pos + 1)
        if pos < len(source) and source[pos] in "\"'":
            quote = source[pos]
            end = source.find(quote, pos + 1)
            if end < 0:
                raise fail("unterminated quoted name", pos)
            subject, pos = source[pos + 1 : end], _skip(source, end + 1)
        else:
            end = source.find(")", pos)
            if end < 0:
                raise fail("expected ')'", len(source))
            subject, pos = source[pos:end].strip(), end
        if pos >= len(source) or source[pos] != ")":
            raise fail("expected ')'", pos)
        if not subject:
            raise fail(f"empty {metric.subject} name", pos)
        pos = _skip(source, pos + 1)
    if subject is None and metric.requires_subject:
        raise fail(f"{metric.name} needs a {metric.subject} name, e.g. {metric.name}(test_accuracy)", pos)
    if metric.boolean:
        if pos != len(source):
            raise fail(f"{metric.name} is a yes/no rule and takes no comparison", pos)
        return Rule(source.strip(), metric.name)
    op = _OP.match(source, pos)
    if not op:
        raise fail(f"expected a comparison ({' '.join(OPERATORS)})", pos)
    pos = _skip(source, op.end())
    number = _NUMBER.match(source, pos)
    if not number:
        raise fail("expected a number", pos)
    literal = number.group()
    threshold = float(literal.rstrip("%")) / (100 if literal.endswith("%") else 1)
    pos = _skip(source, number.end())
    if pos != len(source):
        raise fail("unexpected text after the number", pos)
    return Rule(source.strip(), metric.name, subject, op.group(), threshold)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def load_rules(path: str | os.PathLike) -> list[Rule]:
    """Read rules from a TOML or JSON file: ``rules = [...]`` at the top or under ``[tool.snntrace.check]``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleError(f"cannot read rules file: {exc.strerror}", code="GT002", location=str(path)) from exc
    document = _parse_config(raw, path)
    rules = document.get("rules")
    if rules is None:
        rules = document.get("tool", {}).get("snntrace", {}).get("check", {}).get("rules")
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise RuleError(
            "expected `rules`, a list of rule strings (or [tool.snntrace.check] rules)",
            code="GT002",
            location=str(path),
        )
    return [parse_rule(r, where=f"{path.name}: rules[{i}]") for i, r in enumerate(rules)]


def _parse_config(raw: bytes, path: Path) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    if path.suffix.lower() != ".toml":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            if path.suffix.lower() == ".json":
                raise RuleError(
                    f"not valid JSON: {exc.msg} (line {exc.lineno})", code="GT002", location=str(path)
                ) from exc
        else:
            if not isinstance(document, dict):
                raise RuleError("the rules file must hold an object", code="GT002", location=str(path))
            return document
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError as exc:
            raise RuleError(
                "TOML rules files need Python 3.11 or the tomli package", code="GT002", location=str(path)
            ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"not valid TOML: {exc}", code="GT002", location=str(path)) from exc


# -- results ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    """The outcome of one (expanded) rule on one trace."""

    rule: str
    metric: str
    subject: str | None
    op: str | None
    threshold: float | None
    value: float | bool | None
    status: str
    message: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Return whether the rule passed."""
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        value = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        return {
            "rule": self.rule,
            "metric": self.metric,
            "subject": self.subject,
            "op": self.op,
            "threshold": self.threshold,
            "value": value,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class CheckReport:
    """Every rule's result on one trace; ``ok`` when all passed."""

    trace: str
    name: str
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """Return whether every rule passed."""
        return all(r.ok for r in self.results)

    def counts(self) -> dict[str, int]:
        """Return the number of passed, failed and error results."""
        return {s: sum(r.status == s for r in self.results) for s in (PASSED, FAILED, ERROR)}

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict (what ``--format json`` prints)."""
        return {
            "trace": self.trace,
            "name": self.name,
            "ok": self.ok,
            "counts": self.counts(),
            "results": [r.to_dict() for r in self.results],
        }

    def to_text(self) -> str:
        """Return a human-readable summary, one line per rule."""
        lines = [f"{r.status.upper():<6} {r.rule}: {r.message}" for r in self.results]
        c = self.counts()
        lines.append(f"{len(self.results)} rule(s): {c[PASSED]} passed, {c[FAILED]} failed, {c[ERROR]} error(s)")
        return "\n".join(lines)

    def to_junit_xml(self) -> str:
        """Return the report as JUnit XML (one testsuite, one testcase per rule)."""
        c = self.counts()
        total = f"{sum(r.seconds for r in self.results):.3f}"
        suites = ElementTree.Element(
            "testsuites",
            name="snntrace check",
            tests=str(len(self.results)),
            failures=str(c[FAILED]),
            errors=str(c[ERROR]),
            time=total,
        )
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=f"snntrace check {self.name}",
            tests=str(len(self.results)),
            failures=str(c[FAILED]),
            errors=str(c[ERROR]),
            skipped="0",
            time=total,
        )
        properties = ElementTree.SubElement(suite, "properties")
        ElementTree.SubElement(properties, "property", name="trace", value=self.trace)
        for result in self.results:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                name=result.rule,
                classname=f"snntrace.check.{result.metric}",
                time=f"{result.seconds:.3f}",
            )
            if result.status == FAILED:
                ElementTree.SubElement(case, "failure", message=result.message, type="RuleFailed").text = _detail(
                    result
                )
            elif result.status == ERROR:
                ElementTree.SubElement(case, "error", message=result.message, type="RuleNotEvaluated").text = _detail(
                    result
                )
        ElementTree.indent(suites)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"


def _detail(result: CheckResult) -> str:
    if result.op is None or result.status == ERROR:
        return result.message
    return f"{result.metric}{'(' + result.subject + ')' if result.subject else ''} = {_format(result.value)}, required {result.op} {result.threshold:g}"


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    return f"{value:.6g}"


# -- evaluation ------------------------------------------------------------------------------------------------------
def run_checks(trace: str | os.PathLike | Trace, rules: Iterable[Rule | str]) -> CheckReport:
    """Evaluate rules on a trace and return every result as data (never raises for a rule the trace cannot meet).

    Raises
    ------
    RuleError
        A rule given as text is malformed.
    TraceNotFoundError, ManifestError
        The trace cannot be opened.
    """
    from snntrace import _gate_metrics as metrics

    parsed = [r if isinstance(r, Rule) else parse_rule(r, where=f"rule {i + 1}") for i, r in enumerate(rules)]
    opened = trace if isinstance(trace, Trace) else open_trace(trace)
    results: list[CheckResult] = []
    for rule in parsed:
        for subject in _subjects(opened, rule):
            started = time.perf_counter()
            result = _evaluate(opened, rule, subject, metrics)
            results.append(_timed(result, time.perf_counter() - started))
    return CheckReport(str(opened.path), opened.name, tuple(results))


def _timed(result: CheckResult, seconds: float) -> CheckResult:
    return CheckResult(**{**result.__dict__, "seconds": seconds})


def _subjects(trace: Trace, rule: Rule) -> Sequence[str | None]:
    metric = METRICS[rule.metric]
    if rule.subject is not None or metric.subject is None or not metric.expand:
        return [rule.subject]
    if metric.subject == "population":
        recorded = set(trace.recorded.get("spikes", []))
        names = [p["name"] for p in trace.populations if p["id"] in recorded]
        return names or [None]
    names = [p["name"] for p in trace.projections]
    return names or [None]


def _evaluate(trace: Trace, rule: Rule, subject: str | None, metrics) -> CheckResult:
    text = rule.describe(subject)
    base = {"rule": text, "metric": rule.metric, "subject": subject, "op": rule.op, "threshold": rule.threshold}
    try:
        value, detail = metrics.compute(trace, rule.metric, subject)
    except MetricUnavailable as exc:
        return CheckResult(**base, value=None, status=ERROR, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - a crashing metric is a result, not a traceback (nwbinspector's habit)
        return CheckResult(
            **base, value=None, status=ERROR, message=f"could not compute {rule.metric}: {type(exc).__name__}: {exc}"
        )
    if rule.op is None:
        return CheckResult(**base, value=bool(value), status=PASSED if value else FAILED, message=detail)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return CheckResult(**base, value=None, status=ERROR, message=detail or f"{rule.metric} has no value")
    passed = OPERATORS[rule.op](float(value), float(rule.threshold))
    message = f"{_format(value)} ({'meets' if passed else 'does not meet'} {rule.op} {rule.threshold:g})"
    if detail:
        message += f"; {detail}"
    return CheckResult(**base, value=float(value), status=PASSED if passed else FAILED, message=message)
