"""``snntrace report TRACE -o report.html``: write the self-contained interactive HTML report of a trace."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from snntrace.errors import UsageError

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(min|ms|us|µs|ns|s)?\s*$")
_STEPS = ("overview", "neurons", "synapses", "compression", "static image", "page")


def parse_duration(text: str) -> float:
    """Return seconds for a duration such as ``50ms``, ``0.2s``, ``2min`` or ``0.05`` (seconds)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(
            f"{text!r} is not a positive duration; write e.g. 50ms, 0.2s or 1min", code="RP004", location="--time-bin"
        )
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@click.command(name="report")
@click.argument("traces", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write."
)
@click.option("--title", help="Page title (default: the run name).")
@click.option(
    "--time-bin", "time_bin", help="Time bin of the timelines, e.g. 50ms (default: about 200 bins over the run)."
)
@click.option("--populations", multiple=True, help="Population to show (repeat or comma-separate; default: all).")
@click.option(
    "--max-size", default=5.0, show_default=True, type=click.FloatRange(min=0.5), help="Largest HTML size in MB."
)
@click.option("--no-static", is_flag=True, help="Leave out the still PNG of the overview shown when scripts are off.")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="BASE_NAME=OTHER_NAME",
    help="Comparison: pair a BASE population with a differently named OTHER one (repeatable).",
)
@click.option(
    "--check",
    "rules",
    multiple=True,
    metavar="RULE",
    help="Rule of `snntrace check` (e.g. 'accuracy >= 0.8') whose result is shown in a table (repeatable).",
)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def command(traces, output, title, time_bin, populations, max_size, no_static, maps, rules, force) -> None:
    """Write the interactive HTML report of TRACE to OUTPUT (one offline file).

    With two traces (BASE OTHER), write a report comparing them: activity, accumulated spikes, metrics and
    compression of both runs on one time axis, per-neuron rate differences and receptive fields of both.
    Populations are matched by name; pair differently named ones with --map BASE_NAME=OTHER_NAME.

    With --check, the page ends with a table of the rules' results (of both runs when comparing); the exit
    code stays 0 when a rule fails: gate a pipeline with `snntrace check`.
    """
    from snntrace.reports import build_report

    if len(traces) > 2:
        raise click.UsageError("give one TRACE, or two (BASE OTHER) to compare them")
    if len(traces) == 2 and populations:
        raise click.UsageError("--populations applies to a single-trace report, not to a comparison")
    if maps and len(traces) != 2:
        raise click.UsageError("--map applies to a comparison of two traces (BASE OTHER)")
    mapping = {}
    for entry in maps:
        source, sep, target = entry.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise click.UsageError(f"--map takes BASE_NAME=OTHER_NAME, got {entry!r}")
        mapping[source.strip()] = target.strip()
    if rules:
        from snntrace.gates import parse_rule

        for index, rule in enumerate(rules, 1):
            parse_rule(rule, where=f"--check {index}")  # a malformed rule stops before any work is done
    names = [name.strip() for entry in populations for name in entry.split(",") if name.strip()] or None
    seconds = parse_duration(time_bin) if time_bin else None
    with click.progressbar(length=len(_STEPS), label="report", file=sys.stderr, show_eta=False) as bar:
        done: set[str] = set()

        def progress(step: str) -> None:
            if step not in done:
                done.add(step)
                bar.update(1)

        path = build_report(
            traces[0],
            output,
            other=traces[1] if len(traces) == 2 else None,
            title=title,
            time_bin=seconds,
            populations=names,
            max_size=max_size,
            static=not no_static,
            force=force,
            progress=progress,
            **({"mapping": mapping} if mapping else {}),
            **({"rules": list(rules)} if rules else {}),
        )
        bar.update(len(_STEPS) - len(done))
    click.echo(str(path))
