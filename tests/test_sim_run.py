"""A whole simulated run on the bundled data: the trace validates, holds what it should, and is reproducible."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema
import numpy as np
import polars as pl
import pytest

import snntrace
from snntrace.sim.config import SimConfig
from snntrace.sim.datasets import load_bundled
from snntrace.sim.simulation import Simulation
from snntrace.testing import assert_valid_trace

SPEC = Path(snntrace.__file__).resolve().parent.parent / "spec" / "schemas" / "events"
SMALL = {
    "neurons": (12,), "train_samples": 60, "test_samples": 20, "eval_samples": 10, "batches": 3, "compression": "pp-dswr",
    "alpha": 0.1, "input_every": 10, "v_every": 5, "v_neurons": 4, "activity_every": 20, "seed": 7,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small PP & DSWR run written to a trace; returns (result, trace path)."""
    path = tmp_path_factory.mktemp("sim") / "run.trace"
    result = Simulation(SimConfig(**SMALL)).run(path)
    return result, path


@pytest.fixture(scope="module")
def trace(run):
    return snntrace.open_trace(run[1])


def metric(trace, name):
    return trace.metrics.filter(pl.col("name") == name).sort("t").collect()


def test_the_simulated_trace_is_valid_and_complete(run, trace):
    assert_valid_trace(run[1])
    assert trace.complete


def test_populations_and_projection_describe_the_network(trace):
    pops = {p["name"]: p for p in trace.populations}
    assert pops["input"]["size"] == 784 and pops["input"]["shape"] == [28, 28] and pops["input"]["role"] == "input"
    assert pops["output"]["size"] == 12 and pops["output"]["role"] == "output"
    (projection,) = trace.projections
    assert projection["name"] == "input->output" and projection["synapses"] == 784 * 12 and projection["plastic"]
    assert trace.classes[0] == "T-shirt/top"


def test_samples_hold_every_training_and_test_presentation_with_labels(run, trace):
    samples = trace.samples.sort("t_start").collect()
    train = samples.filter(pl.col("split") == "train")
    test = samples.filter(pl.col("split") == "test")
    assert (train.height, test.height) == (60, 20)
    assert np.all(train["t_end"].to_numpy() > train["t_start"].to_numpy())
    assert test["t_start"].min() > train["t_end"].max(), "the test pass comes after training"
    bundled = load_bundled()
    sim = Simulation(SimConfig(**SMALL))  # same seed: same subset
    np.testing.assert_array_equal(np.sort(test["label"].to_numpy()), np.sort(sim.data.test_labels))
    assert set(train["label"].to_list()) <= set(range(10)) and bundled.train_labels.max() == 9
    correct = (test["prediction"] == test["label"]).fill_null(False).to_numpy()
    assert metric(trace, "test_accuracy")["value"][0] == pytest.approx(correct.mean()) == pytest.approx(run[0].accuracy)


def test_spikes_of_the_output_layer_fall_inside_presentations(trace):
    pid = trace.population("output")["id"]
    spikes = trace.spikes.filter(pl.col("population") == pid).collect()
    samples = trace.samples.sort("t_start").collect()
    assert spikes.height > 80
    inside = np.zeros(spikes.height, dtype=bool)
    t = spikes["t"].to_numpy()
    for start, end in zip(samples["t_start"], samples["t_end"]):
        inside |= (t >= start) & (t <= end)
    assert inside.all()
    assert spikes["neuron"].max() < 12


def test_input_spikes_are_recorded_for_every_tenth_training_sample_only(trace):
    pid = trace.population("input")["id"]
    t = trace.spikes.filter(pl.col("population") == pid).collect()["t"].to_numpy()
    train = trace.samples.filter(pl.col("split") == "train").sort("t_start").collect()
    windows = list(zip(train["t_start"], train["t_end"]))
    hit = [bool(np.any((t >= s) & (t <= e))) for s, e in windows]
    # a sample may take more than one attempt (input boost), all inside its window
    assert [k for k, h in enumerate(hit) if h] == [0, 10, 20, 30, 40, 50]
    assert len(t) > 6 * 1000, "Fashion-MNIST gives thousands of input spikes per presentation"


def test_membrane_potentials_are_sampled_for_the_configured_neurons(trace):
    states = trace.states.collect()
    assert set(states["neuron"].unique().to_list()) == {0, 1, 2, 3}
    assert set(states["variable"].unique().to_list()) == {"v"}
    values = states["value"].to_numpy()
    assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() > 1.0
    # 60 / v_every samples x 350 / 5 ms samples x 4 neurons
    assert states.height == 12 * 70 * 4


def test_weight_snapshots_shrink_at_each_prune_and_match_remaining_synapses(trace):
    weights = trace.weights.collect()
    counts = weights.group_by("t").agg(pl.len().alias("n"), pl.col("weight").min().alias("lo"), pl.col("weight").max().alias("hi")).sort("t")
    assert counts.height == 1 + 3 * 2, "initial, then before and after each of the 3 prunes"
    assert counts["n"][0] == 784 * 12
    assert counts["lo"].min() >= 0 and counts["hi"].max() <= 1
    remaining = metric(trace, "remaining_synapses")["value"].to_list()
    after_prunes = counts["n"].to_list()[2::2]
    assert after_prunes == remaining
    snapshots = weights.partition_by("t", as_dict=True)
    keys = sorted(snapshots)
    for before, after in zip(keys[1::2], keys[2::2]):
        kept = set(zip(snapshots[after]["pre"], snapshots[after]["post"]))
        assert kept <= set(zip(snapshots[before]["pre"], snapshots[before]["post"]))


def test_batch_metrics_and_fine_grained_update_activity_are_written(trace):
    names = set(trace.metrics.select("name").unique().collect()["name"].to_list())
    assert {"accuracy", "compression_rate", "threshold", "remaining_synapses", "firing_rate", "weight_updates", "mean_abs_dw"} <= names
    for name in ("accuracy", "compression_rate", "threshold", "remaining_synapses", "firing_rate"):
        assert metric(trace, name).height == 3, name
    compression = metric(trace, "compression_rate")["value"].to_numpy()
    assert np.all(np.diff(compression) >= 0) and compression[-1] > 0
    updates = metric(trace, "weight_updates")
    assert updates.height == 60 // 20 and updates["value"].min() > 0
    assert metric(trace, "mean_abs_dw")["value"].min() > 0


def test_prune_and_reinforce_events_follow_their_schemas_and_the_pp_recurrence(trace):
    events = trace.events.sort("t").collect()
    kinds = events["kind"].to_list()
    assert kinds.count("prune") == 3 and kinds.count("reinforce") == 3 and kinds.count("epoch_end") == 1
    for kind in ("prune", "reinforce", "epoch_end"):
        schema = json.loads((SPEC / f"{kind}.schema.json").read_text())
        for payload in events.filter(pl.col("kind") == kind)["payload"]:
            jsonschema.validate(json.loads(payload), schema)
    prunes = [json.loads(p) for p in events.filter(pl.col("kind") == "prune")["payload"]]
    assert prunes[0]["threshold"] == pytest.approx(0.1)
    for previous, current in itertools.pairwise(prunes):
        assert current["threshold"] == pytest.approx(previous["threshold"] + 0.1 * previous["remaining"] / previous["before"])
    assert metric(trace, "threshold")["value"].to_list() == pytest.approx([p["threshold"] for p in prunes])


def test_the_same_seed_gives_the_same_trace_and_another_seed_does_not(run, tmp_path):
    again = tmp_path / "again.trace"
    Simulation(SimConfig(**SMALL)).run(again)
    first, second = snntrace.open_trace(run[1]), snntrace.open_trace(again)
    for table in ("spikes", "weights", "samples", "states"):
        assert first.table(table).collect().equals(second.table(table).collect()), table
    other = Simulation(SimConfig(**{**SMALL, "seed": 8, "test_samples": 5})).run()
    assert other.accuracy != run[0].accuracy or other.batches[-1].remaining_synapses != run[0].batches[-1].remaining_synapses


def test_a_stack_of_two_layers_compresses_the_deeper_layer_with_double_alpha(tmp_path):
    config = SimConfig(**{**SMALL, "neurons": (16, 8), "compression": "pp", "test_samples": 10})
    result = Simulation(config).run(tmp_path / "stack.trace")
    assert_valid_trace(tmp_path / "stack.trace")
    trace = snntrace.open_trace(tmp_path / "stack.trace")
    assert [p["name"] for p in trace.populations] == ["input", "layer1", "output"]
    thresholds = metric(trace, "threshold")
    first = {row["projection"]: row["value"] for row in thresholds.filter(pl.col("step") == 0).iter_rows(named=True)}
    assert first == {0: pytest.approx(0.1), 1: pytest.approx(0.2)}
    assert len(result.compression_rate) == 2


def test_a_baseline_run_without_a_trace_prunes_nothing():
    result = Simulation(SimConfig(**{**SMALL, "compression": "none", "test_samples": 5})).run()
    assert result.compression_rate == [0.0]
    assert all(b.threshold == [0.0] for b in result.batches)
    assert result.trace is None and 0 <= result.accuracy <= 1


def test_the_epoch_schedule_prunes_once_per_epoch_with_the_threshold_capped(tmp_path):
    config = SimConfig(**{**SMALL, "train_samples": 30, "test_samples": 5, "epochs": 3, "batches": 2, "schedule": "epoch", "alpha": 0.2, "theta_max": 0.3})
    Simulation(config).run(tmp_path / "epochs.trace")
    trace = snntrace.open_trace(tmp_path / "epochs.trace")
    events = trace.events.sort("t").collect()
    prunes = [json.loads(p) for p in events.filter(pl.col("kind") == "prune")["payload"]]
    assert [p["step"] for p in prunes] == [1, 2, 3]
    assert [p["threshold"] for p in prunes] == pytest.approx([0.2, 0.3, 0.3])
    ends = [json.loads(p)["epoch"] for p in events.filter(pl.col("kind") == "epoch_end")["payload"]]
    assert ends == [0, 1, 2]
    assert metric(trace, "accuracy").height == 6, "metrics are still measured after every batch"


def test_a_silent_output_makes_the_network_repeat_the_image_at_a_higher_rate():
    from snntrace.sim.network import Network

    image = load_bundled().train_images[1]
    silent = Network(SimConfig(v_thresh=1e6, max_boosts=3, boost_rate=64.0).validate(), 784, np.random.default_rng(0))
    shown = silent.present(image, 0.0, np.random.default_rng(1), learn=True, keep_inputs=True)
    assert shown.attempts == 4 and len(shown.inputs) == 4
    counts = [len(t) for t, _ in shown.inputs]
    assert counts[3] > 3 * counts[0], "the rate grows from 63.75 Hz by 64 Hz per attempt (x4 at the last)"
    assert shown.next_t == pytest.approx(4 * 500.0) and shown.t_end == pytest.approx(3 * 500.0 + 350.0)
    lively = Network(SimConfig(v_thresh=5.0).validate(), 784, np.random.default_rng(0))
    shown = lively.present(image, 0.0, np.random.default_rng(1), learn=True)
    assert shown.attempts == 1 and shown.counts.sum() >= 5


@pytest.mark.parametrize(("v_thresh", "attempts"), [(1e6, 3), (5.0, 1)])
def test_a_test_pass_times_every_presentation_and_counts_first_presentations_apart(v_thresh, attempts):
    sim = Simulation(SimConfig(**{**SMALL, "compression": "none", "v_thresh": v_thresh, "max_boosts": 2}))
    images, labels = sim.data.test_images[:4], sim.data.test_labels[:4]
    done = sim.evaluate(images, labels)
    assert done.presented_ms == pytest.approx(4 * attempts * sim.config.presentation)
    if attempts == 1:  # lively: one presentation each, so the first ones are all of them
        assert done.first_spikes.tolist() == done.spikes.tolist() and done.spikes[0] >= 4 * 5
    else:  # silent: three presentations each, nothing fired in any
        assert done.first_spikes.tolist() == done.spikes.tolist() == [0.0]


def test_training_and_test_presentations_share_one_grid_so_the_report_classes_spikes_by_lookup(trace):
    from snntrace._windows import class_lookup

    lookup = class_lookup(trace)
    assert lookup is not None
    assert lookup.width * trace.resolution == pytest.approx(0.05)  # gcd of 350 ms shown and 500 ms per slot
