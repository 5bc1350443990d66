"""Exact aggregates on small hand-made traces written through the public writer."""

from __future__ import annotations

import json

import polars as pl
import pytest

import snntrace
from snntrace import aggregate
from snntrace._windows import class_lookup
from snntrace.model import Dataset, Population, Projection


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Two populations, two samples, two weight snapshots: every aggregate can be worked out by hand."""
    path = tmp_path_factory.mktemp("agg") / "small.trace"
    with snntrace.TraceWriter(
        path,
        name="small",
        time_resolution=1e-3,
        populations=[Population("in", 4, shape=(2, 2), role="input"), Population("out", 2, role="output")],
        projections=[Projection("in->out", "in", "out", synapses=8)],
        dataset=Dataset("toy", classes=("zero", "one")),
        duration=100,
    ) as writer:
        writer.record_spikes(["in", "out"])
        # count given for both writes: the writer cannot mix parts with and without `count` (reported)
        writer.write_spikes([0, 5, 12, 12, 30, 55, 61, 99], "out", [0, 1, 0, 1, 0, 0, 1, 1], count=1)
        writer.write_spikes([1, 2, 3], "in", [3, 3, 2], count=[2, 1, 1])
        writer.record_states("out", "v", unit="V", neurons=[0], interval=10)
        writer.write_states([0, 10, 20, 30], "out", 0, "v", [-0.07, -0.05, -0.06, -0.04])
        writer.record_weights("in->out", snapshot="full")
        writer.write_weights(40, "in->out", [0, 1, 2, 3], [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
        writer.write_weights(80, "in->out", [0, 1, 3], [0, 0, 1], [0.1, 0.5, 0.2])
        writer.write_samples([0, 1], [0, 50], [40, 100], [0, 1], "train")
        writer.write_metric("accuracy", [0.5, 0.75], t=[40, 80], step=[0, 1])
        writer.write_event("prune", 80, {"threshold": 0.25, "before": 4, "remaining": 3}, projection="in->out")
    return snntrace.open_trace(path)


def rows(frame: pl.DataFrame) -> list[tuple]:
    return [tuple(r) for r in frame.iter_rows()]


def test_spikes_per_bin_sums_counts_per_population_and_bin(small):
    assert rows(aggregate.spikes_per_bin(small, 50)) == [(0, 0, 4), (0, 1, 5), (50, 1, 3)]


def test_spike_density_counts_each_neuron_in_each_bin(small):
    out = aggregate.spike_density(small, 50, [1])
    assert rows(out) == [(0, 1, 0, 3), (0, 1, 1, 2), (50, 1, 0, 1), (50, 1, 1, 2)]


def test_neuron_spike_counts_list_silent_neurons_with_zero(small):
    out = aggregate.neuron_spike_counts(small, [0])
    assert rows(out) == [(0, 0, 0), (0, 1, 0), (0, 2, 1), (0, 3, 3)]


def test_firing_rates_divide_by_the_run_length(small):
    out = aggregate.firing_rates(small, [1])
    assert out["rate"].to_list() == pytest.approx([4 / 0.1, 4 / 0.1])


def test_labelled_spikes_keep_only_spikes_inside_a_presentation(small):
    got = aggregate.collect(aggregate.labelled_spikes(small, [1]).sort("t", "neuron"))
    # t=0,5,12,12,30 fall in [0,40) (label 0); 55,61,99 in [50,100) (label 1)
    assert got.select("t", "neuron", "label").rows() == [
        (0, 0, 0),
        (5, 1, 0),
        (12, 0, 0),
        (12, 1, 0),
        (30, 0, 0),
        (55, 0, 1),
        (61, 1, 1),
        (99, 1, 1),
    ]


def test_class_exposure_splits_presentations_at_bin_edges(small):
    assert rows(aggregate.class_exposure(small)) == [(0, 40), (1, 50)]
    assert rows(aggregate.class_exposure(small, 30)) == [(0, 0, 30), (30, 0, 10), (30, 1, 10), (60, 1, 30), (90, 1, 10)]


def test_class_firing_rates_divide_spikes_by_presentation_seconds(small):
    out = aggregate.class_firing_rates(small, [1])
    assert out.select("neuron", "label", "spikes").rows() == [(0, 0, 3), (0, 1, 1), (1, 0, 2), (1, 1, 2)]
    assert out["rate"].to_list() == pytest.approx([3 / 0.04, 1 / 0.05, 2 / 0.04, 2 / 0.05])
    mean = aggregate.class_mean_rates(small, [1])
    assert mean["rate"].to_list() == pytest.approx([(3 / 0.04 + 2 / 0.04) / 2, (1 / 0.05 + 2 / 0.05) / 2])


def test_class_spikes_per_bin_group_by_bin_neuron_and_label(small):
    out = aggregate.class_spikes_per_bin(small, 50, [1])
    assert out.select("t", "neuron", "label", "spikes").rows() == [
        (0, 0, 0, 3),
        (0, 1, 0, 2),
        (50, 0, 1, 1),
        (50, 1, 1, 2),
    ]


def test_samples_per_bin_count_presentation_starts(small):
    assert rows(aggregate.samples_per_bin(small, 50)) == [(0, 0, "train", 1), (50, 1, "train", 1)]


def test_potential_per_bin_gives_mean_min_max(small):
    out = aggregate.potential_per_bin(small, 20)
    assert out.select("t", "population").rows() == [(0, 1), (20, 1)]
    assert out["mean"].to_list() == pytest.approx([-0.06, -0.05])
    assert out["min"].to_list() == pytest.approx([-0.07, -0.06])
    assert out["max"].to_list() == pytest.approx([-0.05, -0.04])


def test_weight_stats_per_snapshot(small):
    out = aggregate.weight_stats(small)
    assert out.select("t", "synapses").rows() == [(40, 4), (80, 3)]
    assert out["mean"].to_list() == pytest.approx([0.25, 0.8 / 3])
    assert out["q50"].to_list() == pytest.approx([0.25, 0.2])


def test_weight_histogram_covers_the_projection_range(small):
    out = aggregate.weight_histogram(small, bins=3)  # range 0.1..0.5 in bins of 0.1333; the maximum joins the last bin
    assert out.filter(pl.col("t") == 40).select("bin", "synapses").rows() == [(0, 2), (1, 1), (2, 1)]
    assert out.filter(pl.col("t") == 80).select("bin", "synapses").rows() == [(0, 2), (2, 1)]
    assert out["low"][0] == pytest.approx(0.1) and out["high"][-1] == pytest.approx(0.5)


def test_weight_updates_compare_successive_snapshots(small):
    out = aggregate.weight_updates(small)
    assert out.select("projection", "t", "changed", "pruned", "added").rows() == [(0, 80, 2, 1, 0)]
    assert out["mean_abs_dw"][0] == pytest.approx((0 + 0.3 + 0.2) / 3)


def test_final_weights_are_the_last_snapshot(small):
    assert rows(aggregate.final_weights(small, 0)) == [(0, 0, 0.1), (1, 0, 0.5), (3, 1, 0.2)]
    assert rows(aggregate.final_weights(small, 0, [1])) == [(3, 1, 0.2)]


def test_metrics_and_events_come_back_as_recorded(small):
    assert aggregate.metrics(small).select("t", "name", "value").rows() == [
        (40, "accuracy", 0.5),
        (80, "accuracy", 0.75),
    ]
    events = aggregate.events(small)
    assert events.select("t", "kind", "projection").rows() == [(80, "prune", 0)]
    assert aggregate.event_payloads(events) == [{"before": 4, "remaining": 3, "threshold": 0.25}]


def test_auto_bin_picks_a_nice_width_giving_at_most_the_target_bins(small):
    assert aggregate.auto_bin(small, target_bins=10) == 10  # 0.1 s / 10 = 10 ms
    assert aggregate.auto_bin(small, target_bins=3) == 50  # 33 ms -> 50 ms
    assert aggregate.bin_ticks_for(small, 0.02) == 20


def test_aggregates_of_an_empty_table_are_empty(tmp_path):
    with snntrace.TraceWriter(
        tmp_path / "e.trace", name="e", time_resolution=1e-3, populations=[Population("p", 3)], duration=10
    ):
        pass
    trace = snntrace.open_trace(tmp_path / "e.trace")
    assert aggregate.spikes_per_bin(trace, 5).height == 0
    assert aggregate.weight_updates(trace).height == 0
    assert aggregate.class_exposure(trace).height == 0
    assert aggregate.neuron_spike_counts(trace)["spikes"].to_list() == [0, 0, 0]


def _toy_writer(path):
    """A 120-tick trace of populations a (3 neurons) and b (2) recording spikes, over three classes."""
    writer = snntrace.TraceWriter(
        path,
        name=path.stem,
        time_resolution=1e-3,
        populations=[Population("a", 3), Population("b", 2)],
        dataset=Dataset("toy", classes=("zero", "one", "two")),
        duration=120,
    )
    writer.record_spikes(["a", "b"])
    return writer


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory):
    """Overlapping presentations, spikes outside every presentation, several rows per neuron and bin."""
    path = tmp_path_factory.mktemp("agg") / "overlapping.trace"
    with _toy_writer(path) as writer:
        writer.write_spikes(
            [0, 10, 10, 25, 35, 45, 60, 70, 95, 110, 119], "a", [0, 1, 1, 2, 0, 0, 1, 2, 0, 1, 2], count=1
        )
        writer.write_spikes([5, 15, 40, 41, 100], "b", [0, 1, 1, 1, 0], count=[3, 1, 2, 1, 4])
        # [0,30) zero, [20,50) one (overlaps the first), [60,61) two (one tick), nothing shown in [50,60) and [61,120)
        writer.write_samples([0, 1, 2], [0, 20, 60], [30, 50, 61], [0, 1, 2], "train")
    return snntrace.open_trace(path)


@pytest.fixture(scope="module")
def disjoint(tmp_path_factory):
    """Disjoint presentations on a 20-tick grid, one unlabelled, gaps, spikes on every boundary and after the last."""
    return _disjoint(tmp_path_factory.mktemp("agg") / "disjoint.trace", counts=[3, 1, 2, 1, 4])


@pytest.fixture(scope="module")
def disjoint_single(tmp_path_factory):
    """The same with one row per spike: no part stores the ``count`` column."""
    return _disjoint(tmp_path_factory.mktemp("agg") / "single.trace", counts=None)


def _disjoint(path, counts):
    with _toy_writer(path) as writer:
        writer.write_spikes(
            [0, 19, 20, 39, 40, 59, 60, 79, 80, 99, 100, 110, 119], "a", [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
        )
        writer.write_spikes([5, 45, 45, 85, 119], "b", [0, 1, 1, 0, 1], count=counts)
        # [0,20) two, [40,60) one, [80,100) unlabelled; nothing shown in [20,40), [60,80) and [100,120)
        writer.write_samples([0, 1, 2], [40, 0, 80], [60, 20, 100], [1, 2, None], "train")
    return snntrace.open_trace(path)


@pytest.fixture(scope="module")
def clipped(tmp_path_factory):
    """Disjoint presentations, the last one running past the run's end (130 ticks, as in a killed run's manifest)."""
    path = tmp_path_factory.mktemp("agg") / "clipped.trace"
    with snntrace.TraceWriter(path, name="clipped", time_resolution=1e-3, populations=[Population("a", 2)]) as writer:
        writer.record_spikes(["a"])
        writer.write_spikes([0, 49, 50, 99, 100, 129], "a", [0, 1, 0, 1, 0, 1])
        writer.write_samples([0, 1, 2], [0, 50, 100], [50, 100, 400], [0, 1, 2], "train")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["time"]["duration"] = 130
    (path / "manifest.json").write_text(json.dumps(manifest))
    return snntrace.open_trace(path)


def test_disjoint_presentations_take_their_classes_from_a_bucket_lookup(disjoint, disjoint_single, clipped, overlapping):
    assert disjoint.stores("spikes", "count") and not disjoint_single.stores("spikes", "count")
    lookup = class_lookup(disjoint)
    assert lookup.width == 20  # the unlabelled presentation [80, 100) shows no class and sets no edge
    assert lookup.labels.to_list() == [2, None, 1, None, None, None, None]  # the last bucket is past the run
    lookup = class_lookup(clipped)
    assert lookup.width == 50, "the edge where the last presentation is clipped (the run's end) needs no bucket edge"
    assert lookup.labels.to_list() == [0, 1, 2, None]
    assert class_lookup(overlapping) is None


@pytest.mark.parametrize("traces", ["overlapping", "disjoint", "disjoint_single", "clipped"])
@pytest.mark.parametrize("bin_ticks", [1, 10, 25, 200])
@pytest.mark.parametrize("populations", [None, [0], [1]])
def test_one_pass_spike_aggregate_gives_the_density_and_class_counts_of_their_own_queries(
    request, traces, bin_ticks, populations
):
    trace = request.getfixturevalue(traces)
    fine = aggregate.spike_label_counts(trace, bin_ticks, populations)
    assert aggregate.density_from(fine).equals(aggregate.spike_density(trace, bin_ticks, populations))
    assert aggregate.class_spikes_from(fine).equals(aggregate.class_spikes_per_bin(trace, bin_ticks, populations))
    coarse = bin_ticks * 3
    assert aggregate.density_from(fine, coarse).equals(aggregate.spike_density(trace, coarse, populations))
    assert aggregate.class_spikes_from(fine, coarse).equals(aggregate.class_spikes_per_bin(trace, coarse, populations))


def test_one_pass_spike_aggregate_counts_a_spike_in_two_presentations_for_both_classes_once_in_total(overlapping):
    fine = aggregate.spike_label_counts(overlapping, 200, [0])
    # population a: t=25 lies in [0,30) and [20,50), t=60 in [60,61); t=70, 95, 110, 119 are outside every window
    by_label = {label: shown for label, shown in fine.group_by("label").agg(pl.col("shown").sum()).rows()}
    assert by_label == {0: 4, 1: 3, 2: 1, None: 0}
    assert int(fine["spikes"].sum()) == 11


def test_weight_updates_from_the_snapshots_of_weight_stats_are_the_same(small):
    from_stats = aggregate.weight_updates(small, snapshots=aggregate.weight_stats(small))
    assert from_stats.equals(aggregate.weight_updates(small))
    assert aggregate.weight_stats(small).select("projection", "t", "synapses").equals(aggregate.weight_snapshots(small))
