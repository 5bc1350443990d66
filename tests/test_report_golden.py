"""Golden comparison of the Vega-Lite specs the report generates for a small fixed trace.

A mismatch writes the new specs to ``tests/actual/report/`` and prints a unified diff. To accept the new output
as the gold (after reading the diff), run:

    SNNTRACE_UPDATE_GOLD=1 .venv/bin/python -m pytest -q tests/test_report_golden.py
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

import pytest
from snntrace.reports import render_report

import snntrace
from snntrace.synthetic import write_synthetic_trace

GOLD = Path(__file__).parent / "gold" / "report"
ACTUAL = Path(__file__).parent / "actual" / "report"
UPDATE = os.environ.get("SNNTRACE_UPDATE_GOLD") == "1"

# Named scrubs: what may differ between runs or releases without the report having changed.
SCRUBS = {
    "snntrace version": (re.compile(re.escape(snntrace.__version__)), "<VERSION>"),
    "trace format version": (
        re.compile(r'"snntrace":\s*"' + re.escape(snntrace.SPEC_VERSION) + '"'),
        '"snntrace": "<SPEC>"',
    ),
    "creation date": (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"), "<DATE>"),
}


def scrub(text: str) -> str:
    for pattern, replacement in SCRUBS.values():
        text = pattern.sub(replacement, text)
    return text


@pytest.fixture(scope="module")
def specs(tmp_path_factory) -> dict[str, str]:
    path = write_synthetic_trace(
        tmp_path_factory.mktemp("gold") / "gold.trace",
        neurons=6,
        spikes=600,
        samples=8,
        snapshots=3,
        recorded_neurons=2,
        seed=7,
    )
    _, sections = render_report(snntrace.open_trace(path), static=False, title="gold")
    return {
        chart.key: scrub(json.dumps(chart.spec, indent=1, sort_keys=True)) + "\n"
        for section in sections
        for chart in section.charts
    }


def test_the_gold_covers_every_module(specs):
    assert sorted(specs) == ["chart-compression", "chart-neurons-1", "chart-overview", "chart-synapses-0"]


@pytest.mark.parametrize("key", ["chart-overview", "chart-neurons-1", "chart-synapses-0", "chart-compression"])
def test_generated_spec_matches_the_gold(specs, key):
    actual = specs[key]
    gold_file = GOLD / f"{key}.json"
    if UPDATE:
        GOLD.mkdir(parents=True, exist_ok=True)
        gold_file.write_text(actual, encoding="utf-8")
    expected = gold_file.read_text(encoding="utf-8") if gold_file.exists() else ""
    if actual != expected:
        ACTUAL.mkdir(parents=True, exist_ok=True)
        (ACTUAL / f"{key}.json").write_text(actual, encoding="utf-8")
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), str(gold_file), str(ACTUAL / f"{key}.json"), n=2
            )
        )
        print(diff[:20_000])
        pytest.fail(
            f"{key} differs from the gold (diff above; new spec in {ACTUAL}); set SNNTRACE_UPDATE_GOLD=1 to accept it"
        )


def test_scrubs_replace_versions_and_dates():
    assert scrub(f"snntrace {snntrace.__version__} at 2026-01-02T03:04:05Z") == "snntrace <VERSION> at <DATE>"


def test_the_same_trace_gives_the_same_bytes(tmp_path):
    path = write_synthetic_trace(
        tmp_path / "same.trace", neurons=6, spikes=600, samples=8, snapshots=3, recorded_neurons=2, seed=7
    )
    first, _ = render_report(snntrace.open_trace(path), title="same")
    second, _ = render_report(snntrace.open_trace(path), title="same")
    assert first == second
    assert "data:image/png;base64," in first


def test_modules_without_data_are_left_out_with_a_note(tmp_path):
    """A producer that records only spikes (as the simulator adapters may) still gets a report."""
    path = tmp_path / "spikes_only.trace"
    with snntrace.TraceWriter(
        path, name="spikes only", time_resolution=1e-4, populations=[snntrace.Population("cells", 5)], duration=1000
    ) as writer:
        writer.record_spikes(["cells"])
        writer.write_spikes([10, 20, 500, 900], "cells", [0, 1, 1, 4])
    html, sections = render_report(snntrace.open_trace(path), static=False)
    assert [s.key for s in sections] == ["overview", "neurons-0"]
    assert "<strong>Synapses:</strong> weight snapshots were not recorded." in html
    assert "<strong>Compression:</strong> no prune events or compression metrics were recorded." in html
    assert "Input samples were not recorded, so firing rates per class cannot be computed." in html
    assert "Membrane potential (state variable v) was not recorded." in html
    silent = next(f.value for f in sections[1].facts if f.label.startswith("Silent"))
    assert silent == "2 (2, 3)"


def test_dense_metrics_events_and_states_are_thinned_to_fit(tmp_path):
    """Adapters may record every neuron's potential and a metric per step: the page still fits its budget."""
    import numpy as np

    path = tmp_path / "dense.trace"
    rng = np.random.default_rng(1)
    with snntrace.TraceWriter(
        path, name="dense", time_resolution=1e-4, populations=[snntrace.Population("cells", 400)], duration=200_000
    ) as writer:
        writer.record_spikes(["cells"])
        writer.write_spikes(np.sort(rng.integers(0, 200_000, 50_000)), "cells", rng.integers(0, 400, 50_000))
        ticks = np.arange(0, 200_000, 200)
        writer.record_states("cells", "v", unit="V", neurons=range(400), interval=200)
        for neuron in range(400):
            writer.write_states(ticks, "cells", neuron, "v", rng.normal(-0.065, 0.003, len(ticks)))
        writer.write_metric("loss", rng.random(20_000), t=np.arange(20_000) * 10, step=np.arange(20_000))
        for k in range(1_000):
            writer.write_event("epoch_end", k * 200, {"epoch": k})
    html, sections = render_report(snntrace.open_trace(path), static=False, max_size=2.0)
    assert len(html.encode("utf-8")) <= 2_000_000
    assert "Events are drawn once per" in html
    overview_rows = sections[0].charts[0].spec["datasets"]
    assert len(overview_rows["metric0"]) < 20_000 and len(overview_rows["events"]) < 1_000


def test_recorded_but_silent_spikes_are_told_apart_from_unrecorded_ones(tmp_path):
    path = tmp_path / "silent.trace"
    with snntrace.TraceWriter(
        path, name="silent", time_resolution=1e-3, populations=[snntrace.Population("p", 3)], duration=100
    ) as writer:
        writer.record_spikes(["p"])
    html, _ = render_report(snntrace.open_trace(path), static=False)
    assert "<strong>Neurons:</strong> spikes were recorded, but no neuron fired." in html


def test_line_separators_and_nan_weights_do_not_break_the_report(tmp_path):
    """Vega's expression parser rejects U+2028 in strings; NaN weights cannot be binned: both are drawn around."""
    path = tmp_path / "odd.trace"
    with snntrace.TraceWriter(
        path,
        name="odd",
        time_resolution=1e-3,
        populations=[snntrace.Population("in", 2), snntrace.Population("out", 2)],
        projections=[snntrace.Projection("p", "in", "out")],
        dataset=snntrace.Dataset("d", classes=("zero\u2028", "one\u2029")),
        duration=100,
    ) as writer:
        writer.record_spikes(["out"])
        writer.write_spikes([1, 60], "out", [0, 1])
        writer.record_weights("p")
        writer.write_weights(50, "p", [0, 1], [0, 1], [0.5, float("nan")])
        writer.write_weights(99, "p", [0, 1], [0, 1], [0.6, 0.1])
        writer.write_samples([0, 1], [0, 50], [50, 100], [0, 1])
    html, _ = render_report(snntrace.open_trace(path))
    assert "data:image/png;base64," in html
    assert "zero\u2028" not in html and "zero " in html


@pytest.mark.parametrize("key", ["chart-overview", "chart-neurons-1", "chart-synapses-0", "chart-compression"])
def test_generated_spec_follows_the_vega_lite_schema(specs, key):
    # The report skips Altair's validation for speed (seconds on large reports), so the schema is checked here.
    import jsonschema
    from altair.vegalite.v6.schema import load_schema

    validator = jsonschema.Draft7Validator(load_schema())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(json.loads(specs[key]))
    ]
    assert errors == []
