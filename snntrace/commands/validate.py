"""``snntrace validate TRACE``: check a trace against the spec; exit 0 valid, 1 invalid, 2 unreadable."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

import click

from snntrace.validation import ValidationResult, rules, validate


def _text(result: ValidationResult) -> str:
    lines = [str(finding) for finding in result.findings]
    lines += [f"... and {n} more {code} finding(s) not shown" for code, n in result.suppressed.items()]
    verdict = "valid" if result.ok else "INVALID"
    state = {True: "complete", False: "incomplete", None: "completeness unknown"}[result.complete]
    lines.append(f"{result.path}: {verdict} ({state}; {len(result.errors)} error(s), {len(result.warnings)} warning(s){', strict' if result.strict else ''})")
    return "\n".join(lines)


def _junit(result: ValidationResult) -> str:
    """Return JUnit XML: one test case per finding code, failing when it has failing findings."""
    by_code: dict[str, list] = {}
    for finding in result.findings:
        by_code.setdefault(finding.code, []).append(finding)
    failing = lambda f: f.severity.value == "error" or result.strict  # noqa: E731
    suite = ET.Element("testsuite", name="snntrace.validate", tests=str(len(rules())))
    failures = 0
    for code, rule in rules().items():
        case = ET.SubElement(suite, "testcase", classname=f"snntrace.{code[:2]}", name=f"{code} {rule.summary}")
        findings = by_code.get(code, [])
        bad = [f for f in findings if failing(f)]
        if bad:
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{len(bad)} finding(s): {bad[0].message}", type=code)
            failure.text = "\n".join(str(f) for f in bad)
        elif findings:
            ET.SubElement(case, "system-out").text = "\n".join(str(f) for f in findings)
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


@click.command()
@click.argument("trace", type=click.Path(file_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True, help="Output format on stdout.")
@click.option("--strict", is_flag=True, help="Fail on warnings too (an incomplete trace, unknown files or columns).")
def command(trace: str, fmt: str, strict: bool) -> None:
    """Check TRACE against the snntrace spec and list findings with code, severity and location.

    Exit status: 0 valid, 1 invalid (errors, or warnings with --strict), 2 not a trace or bad usage.
    """
    result = validate(trace, strict=strict)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    elif fmt == "junit":
        click.echo(_junit(result))
    else:
        click.echo(_text(result))
    sys.exit(0 if result.ok else 1)
