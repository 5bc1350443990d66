"""Checks every producer's tests share: the trace validates, and what it holds equals the simulator's own record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

import snntrace


def assert_valid(path: Path, *, complete: bool = True) -> snntrace.Trace:
    """Assert the trace validates with no error and has the expected completeness; return it opened."""
    from snntrace.testing import assert_valid_trace

    assert_valid_trace(path)
    trace = snntrace.open_trace(path)
    assert trace.complete is complete
    return trace


def assert_spikes_equal(trace: snntrace.Trace, population: str, ticks, neurons, counts=None) -> None:
    """Assert the trace's spikes of ``population`` equal (ticks, neurons[, counts]) as a multiset, exactly."""
    pid = trace.population(population)["id"]
    got = trace.spikes.filter(pl.col("population") == pid).select("t", "neuron", "count").collect()
    expected = pl.DataFrame(
        {
            "t": np.asarray(ticks, dtype=np.int64),
            "neuron": np.asarray(neurons, dtype=np.uint32),
            "count": np.ones(len(ticks), dtype=np.uint16) if counts is None else np.asarray(counts, dtype=np.uint16),
        }
    )
    assert got.height == expected.height, f"{population}: {got.height} spikes in the trace, {expected.height} expected"
    order = ["t", "neuron"]
    assert got.sort(order).equals(expected.sort(order)), f"{population}: spikes differ"


def assert_weights_equal(trace: snntrace.Trace, projection: str, tick: int, pre, post, weight) -> None:
    """Assert the snapshot of ``projection`` at ``tick`` holds exactly these synapses and weights."""
    pid = next(p["id"] for p in trace.projections if p["name"] == projection)
    got = (
        trace.weights.filter((pl.col("projection") == pid) & (pl.col("t") == tick))
        .select("pre", "post", "weight")
        .collect()
        .sort("pre", "post")
    )
    expected = pl.DataFrame(
        {"pre": np.asarray(pre, dtype=np.uint32), "post": np.asarray(post, dtype=np.uint32), "weight": np.asarray(weight, dtype=np.float64)}
    ).sort("pre", "post")
    assert got.height == expected.height, f"{projection} at {tick}: {got.height} synapses, {expected.height} expected"
    assert got.equals(expected), f"{projection} at {tick}: weights differ"


def assert_report_renders(path: Path, output: Path) -> str:
    """Build the HTML report of a trace and return its text (the browser tests check it in Chromium)."""
    snntrace.report(path, output)
    html = output.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "vega" in html.lower()
    return html
