"""``snntrace info TRACE``: summarise a trace cheaply (manifest and Parquet footers only, no data pages)."""

from __future__ import annotations

import json
from typing import Any

import click
import pyarrow.parquet as pq

from snntrace.format import TABLES
from snntrace.reader import open_trace


def summarize(path: str) -> dict[str, Any]:
    """Return what ``snntrace info`` shows: populations, projections, rows and parts per table, time, recorded."""
    trace = open_trace(path)
    tables: dict[str, Any] = {}
    for table in TABLES:
        parts = trace.parts(table)
        rows, unreadable = 0, 0
        for part in parts:
            try:
                rows += pq.read_metadata(part).num_rows  # the footer holds the row count: no data is read
            except Exception:  # validation reports it (TB001); info still summarises the rest
                unreadable += 1
        tables[table] = {"parts": len(parts), "rows": rows, "bytes": sum(p.stat().st_size for p in parts)}
        if unreadable:
            tables[table]["unreadable_parts"] = unreadable
    manifest = trace.manifest
    time = manifest.get("time") if isinstance(manifest.get("time"), dict) else {}
    resolution, duration = time.get("resolution"), time.get("duration")
    seconds = resolution * duration if isinstance(resolution, (int, float)) and isinstance(duration, int) else None
    return {
        "trace": str(trace.path),
        "name": manifest.get("name"),
        "spec": manifest.get("snntrace"),
        "complete": manifest.get("complete") is True,
        "simulator": manifest.get("simulator"),
        "producer": manifest.get("producer"),
        "time": {"resolution": resolution, "duration_ticks": duration, "duration_seconds": seconds},
        "populations": manifest.get("populations", []),
        "projections": manifest.get("projections", []),
        "dataset": manifest.get("dataset"),
        "recorded": manifest.get("recorded", {}),
        "tables": tables,
    }


def _text(info: dict[str, Any]) -> str:
    lines = [f"{info['trace']}: {info['name']!r} (snntrace {info['spec']}, {'complete' if info['complete'] else 'INCOMPLETE'})"]
    software = lambda s: f"{s.get('name')} {s.get('version', '')}".strip() if isinstance(s, dict) else "?"  # noqa: E731
    lines.append(f"simulator {software(info['simulator'])}; producer {software(info['producer'])}")
    time = info["time"]
    if time["duration_seconds"] is not None:
        lines.append(f"duration {time['duration_seconds']:g} s ({time['duration_ticks']} ticks of {time['resolution']:g} s)")
    lines.append("populations:")
    for p in info["populations"]:
        if isinstance(p, dict):
            extra = "".join(f", {k} {p[k]}" for k in ("role", "shape") if k in p)
            lines.append(f"  {p.get('id')}: {p.get('name')} ({p.get('size')} neurons{extra})")
    if info["projections"]:
        lines.append("projections:")
        for p in info["projections"]:
            if isinstance(p, dict):
                lines.append(f"  {p.get('id')}: {p.get('name')} ({p.get('pre')} -> {p.get('post')}, {p.get('synapses', '?')} synapses)")
    recorded = info["recorded"] if isinstance(info["recorded"], dict) else {}
    lines.append("tables:")
    for table, counts in info["tables"].items():
        mark = "recorded" if table in recorded else "not recorded"
        broken = f", {counts['unreadable_parts']} unreadable" if counts.get("unreadable_parts") else ""
        lines.append(f"  {table:<8} {counts['rows']:>12,} rows in {counts['parts']} part(s){broken}, {counts['bytes']:,} bytes ({mark})")
    return "\n".join(lines)


@click.command()
@click.argument("trace", type=click.Path(file_okay=False, path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format on stdout.")
def command(trace: str, fmt: str) -> None:
    """Show what TRACE holds: populations, rows per table, duration, what was recorded and whether it completed."""
    info = summarize(trace)
    click.echo(json.dumps(info, indent=2, sort_keys=True) if fmt == "json" else _text(info))
