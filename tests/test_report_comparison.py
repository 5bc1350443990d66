"""Comparison report of two runs: populations matched by name or by --map, per-neuron rate differences equal to the
spike counts of both traces, receptive fields of both runs from their last weight snapshots, clear refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

import snntrace
from snntrace import aggregate
from snntrace.cli import cli
from snntrace.model import Population, Projection
from snntrace.reports import render_comparison
from snntrace.reports.differences import FIELDS_KEY, RATES_KEY, match_populations, rate_differences
from snntrace.synthetic import write_synthetic_trace


def tiny_trace(path, *, names=("retina", "cortex"), sizes=(4, 3), seed=0, hostile=""):
    """Write a 2x2-input -> 3-neuron run with known spikes and two weight snapshots; return (path, spikes, weights)."""
    rng = np.random.default_rng(seed)
    with snntrace.TraceWriter(
        path,
        name=f"tiny {seed}{hostile}",
        time_resolution=1e-3,
        populations=[Population(names[0], sizes[0], shape=(2, 2)), Population(names[1], sizes[1])],
        projections=[Projection(f"ff{hostile}", 0, 1, synapses=sizes[0] * sizes[1])],
        duration=1000,
    ) as writer:
        writer.record_spikes([0, 1])
        t = np.sort(rng.integers(0, 1000, 200))
        neuron = rng.integers(0, sizes[1], 200)
        writer.write_spikes(t, 1, neuron)
        writer.record_weights(0)
        pre, post = np.repeat(np.arange(sizes[0]), sizes[1]), np.tile(np.arange(sizes[1]), sizes[0])
        weights = [rng.random(pre.size) for _ in range(2)]
        for tick, w in zip((300, 900), weights, strict=True):
            writer.write_weights(tick, 0, pre, post, w)
    return (
        path,
        np.bincount(neuron, minlength=sizes[1]),
        dict(zip(zip(pre, post, strict=True), weights[1], strict=True)),
    )


def spec_of(html: str, key: str) -> dict:
    match = re.search(rf'<script type="application/json" id="spec-{key}"[^>]*>(.*?)</script>', html, re.DOTALL)
    assert match, key
    return json.loads(match.group(1))


def run(*args):
    result = CliRunner().invoke(cli, ["report", *args])
    # CliRunner turns an escaped exception into exit code 1: only SystemExit may end a run.
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("pair")
    return tiny_trace(root / "base.trace", seed=1), tiny_trace(root / "other.trace", seed=2)


def test_populations_are_matched_by_name(pair):
    (base, _, _), (other, _, _) = pair
    assert match_populations(snntrace.open_trace(base), snntrace.open_trace(other)) == [(0, 0), (1, 1)]


def test_rate_differences_are_the_spike_counts_of_both_runs_over_their_durations(pair):
    (base, base_counts, _), (other, other_counts, _) = pair
    diffs = rate_differences(snntrace.open_trace(base), snntrace.open_trace(other), [(0, 0), (1, 1)])
    cortex = diffs.filter(diffs["pop"] == "cortex")
    assert cortex["neuron"].to_list() == [0, 1, 2]
    # Both runs last 1000 ticks of 1 ms: a rate is the spike count per second.
    np.testing.assert_allclose(cortex["base"].to_numpy(), base_counts / 1.0)
    np.testing.assert_allclose(cortex["diff"].to_numpy(), (other_counts - base_counts) / 1.0)
    assert diffs.filter(diffs["pop"] == "retina")["diff"].to_list() == [0.0] * 4


def test_comparison_page_embeds_rate_differences_and_receptive_fields_of_both_runs(pair):
    (base, base_counts, base_w), (other, other_counts, other_w) = pair
    html, sections = render_comparison(snntrace.open_trace(base), snntrace.open_trace(other), static=False)
    keys = [chart.key for chart in sections[0].charts]
    assert keys == ["chart-comparison", RATES_KEY, FIELDS_KEY]
    rates = {(r["pop"], r["neuron"]): r for r in spec_of(html, RATES_KEY)["datasets"]["rates"]}
    for n in range(3):
        assert rates[("cortex", n)]["diff"] == pytest.approx(float(other_counts[n] - base_counts[n]))
    fields = spec_of(html, FIELDS_KEY)["datasets"]["fields"]
    for run_name, weights in (("base", base_w), ("other", other_w)):
        drawn = {(r["y"] * 2 + r["x"], r["post"]): r["w"] for r in fields if r["run"] == run_name}
        # Final snapshot, every one of the 3 post neurons, pre laid out on the 2x2 input grid.
        # Weights are embedded with 3 significant digits.
        assert drawn == {k: float(f"{v:.3g}") for k, v in weights.items()}
    facts = {fact.label: fact.value for fact in sections[0].facts}
    faster = int(np.count_nonzero(other_counts > base_counts))
    slower = int(np.count_nonzero(other_counts < base_counts))
    assert facts["cortex: neurons faster / slower in other"] == f"{faster} / {slower} of 3"


def test_unmatched_populations_are_refused_with_both_lists_and_the_way_out(pair, tmp_path):
    (base, _, _), _ = pair
    renamed, _, _ = tiny_trace(tmp_path / "renamed.trace", names=("retina", "v1"), seed=3)
    result = run(str(base), str(renamed), "-o", str(tmp_path / "c.html"), "--no-static")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error: RP004 at --map: the runs' populations cannot be matched by name" in result.stderr
    assert "unmatched in BASE: 'cortex', in OTHER: 'v1'" in result.stderr
    assert "--map BASE_NAME=OTHER_NAME" in result.stderr
    assert not (tmp_path / "c.html").exists()


def test_map_pairs_differently_named_populations(pair, tmp_path):
    (base, base_counts, _), _ = pair
    renamed, other_counts, _ = tiny_trace(tmp_path / "renamed.trace", names=("retina", "v1"), seed=3)
    out = tmp_path / "c.html"
    result = run(str(base), str(renamed), "-o", str(out), "--no-static", "--map", "cortex=v1")
    assert result.exit_code == 0, result.stderr
    rates = {
        (r["pop"], r["neuron"]): r["diff"] for r in spec_of(out.read_text("utf-8"), RATES_KEY)["datasets"]["rates"]
    }
    assert rates[("cortex", 1)] == pytest.approx(float(other_counts[1] - base_counts[1]))


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (["cortex"], "--map takes BASE_NAME=OTHER_NAME, got 'cortex'"),
        (["nowhere=cortex"], "RP004 at --map: --map names base population 'nowhere'"),
        (["cortex=nowhere"], "RP004 at --map: --map names other population 'nowhere'"),
    ],
)
def test_bad_maps_are_usage_errors(pair, tmp_path, maps, message):
    (base, _, _), (other, _, _) = pair
    args = [a for m in maps for a in ("--map", m)]
    result = run(str(base), str(other), "-o", str(tmp_path / "c.html"), "--no-static", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_map_with_one_trace_is_a_usage_error(pair, tmp_path):
    (base, _, _), _ = pair
    result = run(str(base), "-o", str(tmp_path / "c.html"), "--map", "a=b")
    assert result.exit_code == 2 and "--map applies to a comparison" in result.stderr


def test_populations_of_different_sizes_are_refused(pair, tmp_path):
    (base, _, _), _ = pair
    bigger, _, _ = tiny_trace(tmp_path / "bigger.trace", sizes=(4, 5), seed=4)
    result = run(str(base), str(bigger), "-o", str(tmp_path / "c.html"), "--no-static")
    assert result.exit_code == 2
    assert "base population 'cortex' has 3 neurons but other population 'cortex' has 5" in result.stderr


def test_hostile_names_in_the_new_charts_stay_escaped(tmp_path):
    payload = "</script><script>window.pwned=1</script>"
    base, _, _ = tiny_trace(tmp_path / "a.trace", seed=5, hostile=payload)
    other, _, _ = tiny_trace(tmp_path / "b.trace", seed=6, hostile=payload)
    html, _ = render_comparison(snntrace.open_trace(base), snntrace.open_trace(other), static=False)
    assert payload not in html
    assert html.count("<script") == html.count("</script>")
    assert any(row["proj"] == f"ff{payload}" for row in spec_of(html, FIELDS_KEY)["datasets"]["fields"])


def test_synthetic_runs_compare_under_the_size_limit(tmp_path):
    base = write_synthetic_trace(tmp_path / "a.trace", spikes=20_000, samples=50, seed=0)
    other = write_synthetic_trace(tmp_path / "b.trace", spikes=5_000, samples=20, seed=5, name="pruned")
    out = tmp_path / "c.html"
    result = run(str(base), str(other), "-o", str(out), "--no-static", "--max-size", "2")
    assert result.exit_code == 0, result.stderr
    html = out.read_text("utf-8")
    assert len(html.encode()) <= 2_000_000
    fields = spec_of(html, FIELDS_KEY)["datasets"]["fields"]
    # The six most active excitatory neurons of the base run, with the synapses left in each run's last snapshot.
    counts = aggregate.neuron_spike_counts(snntrace.open_trace(base), [1])
    posts = counts.sort(["spikes", "neuron"], descending=[True, False])["neuron"].head(6).to_list()
    for run_name, path in (("base", base), ("other", other)):
        final = aggregate.final_weights(snntrace.open_trace(path), 0, posts)
        drawn = sorted((r["post"], r["y"] * 28 + r["x"]) for r in fields if r["run"] == run_name)
        assert drawn == sorted(zip(final["post"].to_list(), final["pre"].to_list(), strict=True))
        assert len(drawn) > 6 * 784 // 4  # pruning removed some synapses, not all


def test_a_still_image_that_fails_leaves_the_comparison_page_with_a_note(pair, monkeypatch):
    from snntrace.reports._still import StillRenderer

    def refuse(self, spec):
        raise ValueError("Vega-Lite to PNG conversion failed:\nError: no canvas")

    monkeypatch.setattr(StillRenderer, "render", refuse)
    (base, _, _), (other, _, _) = pair
    html, _ = render_comparison(snntrace.open_trace(base), snntrace.open_trace(other), static=True)
    assert "The still image of the comparison could not be rendered (Vega-Lite to PNG conversion failed:)." in html
    assert "data:image/png" not in html
