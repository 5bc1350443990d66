"""Summarise a freshly converted trace on stdout (shared by the Neo and SpiNNaker converters)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl


def echo_summary(path: Path, fmt: str) -> None:
    """Print the trace path, its tick and per-population spike and state-sample counts (text or JSON)."""
    import snntrace

    trace = snntrace.open_trace(path)
    spikes = dict(trace.spikes.group_by("population").agg(pl.len()).collect().iter_rows())
    states = dict(trace.states.group_by("population").agg(pl.len()).collect().iter_rows())
    populations = {
        p["name"]: {"size": p["size"], "spikes": int(spikes.get(p["id"], 0)), "state_samples": int(states.get(p["id"], 0))}
        for p in trace.populations
    }
    if fmt == "json":
        document = {"trace": str(path), "resolution": trace.resolution, "duration": trace.duration_ticks, "populations": populations}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"wrote {path} (tick {trace.resolution:g} s, {trace.duration:g} s)")
    for name, counts in populations.items():
        click.echo(f"  {name}: size {counts['size']}, {counts['spikes']} spikes, {counts['state_samples']} state samples")
