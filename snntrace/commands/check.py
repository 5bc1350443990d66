"""``snntrace check TRACE --rule EXPR ...``: pass/fail gates for CI (exit 1 when a rule fails)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from snntrace.errors import UsageError


@click.command()
@click.argument("trace", type=click.Path(file_okay=False))
@click.option(
    "-r", "--rule", "rules", multiple=True, metavar="EXPR", help="A rule, e.g. 'final_accuracy >= 0.7' (repeatable)."
)
@click.option(
    "-c",
    "--config",
    type=click.Path(dir_okay=False),
    help="TOML or JSON file with `rules = [...]` (or [tool.snntrace.check]).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="What stdout shows.",
)
@click.option(
    "--junit-xml",
    "junit_path",
    type=click.Path(dir_okay=False),
    help="Also write JUnit XML to this file (for CI test reports).",
)
def command(trace, rules, config, fmt, junit_path) -> None:
    """Check a trace against rules; exit 1 when a rule fails or cannot be evaluated, 2 for bad rules or traces.

    Rules: valid, complete, silent_fraction(POP), firing_rate(POP), spike_count[(POP)], spikes_per_sample[(POP)],
    max_spikes_per_sample[(POP)], final_accuracy, final_loss, final(METRIC), compression(PROJ), compared with <= < >= > == !=
    to a number (a trailing % divides by 100). Without (POP) or (PROJ), silent_fraction, firing_rate and
    compression are checked for every recorded population or projection.
    """
    from snntrace.gates import load_rules, parse_rule, run_checks

    parsed = load_rules(config) if config else []
    parsed += [parse_rule(text, where=f"--rule {i + 1}") for i, text in enumerate(rules)]
    if not parsed:
        raise UsageError("no rules: give --rule EXPR or --config FILE", location="snntrace check")
    report = run_checks(trace, parsed)
    if junit_path:
        _write_atomically(Path(junit_path), report.to_junit_xml())
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    elif fmt == "junit":
        click.echo(report.to_junit_xml(), nl=False)
    else:
        click.echo(report.to_text())
    if not report.ok:
        raise click.exceptions.Exit(1)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror}", location=str(path)) from exc
