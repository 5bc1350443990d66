"""The Nengo adapter on real Nengo models: traces validate and hold exactly what Nengo's probes recorded."""

from __future__ import annotations

import json

import nengo
import numpy as np
import polars as pl
import pytest
from _nengo_fixtures import LABELS, N_INPUTS, PRESENTATION_TIME, build_model, probe_data
from adapter_checks import assert_report_renders, assert_spikes_equal, assert_valid, assert_weights_equal
from snntrace.adapters.nengo import NengoAdapterError, NengoRecorder, convert_simulator, record_model

import snntrace

pytestmark = pytest.mark.simulator

STEPS = 200
CHUNK = 70  # not a divisor of STEPS, nor of the 10-step weight sampling: chunks end mid-interval
DT = 0.001
SIM_SEED = 1


class _CapturingRecorder(NengoRecorder):
    """A recorder that keeps a copy of what the probes held at each conversion: the data the trace must equal."""

    def __init__(self, sim, path, probes, **options):
        self.captured: dict[str, list[np.ndarray]] = {key: [] for key in probes}
        self._probes = probes
        super().__init__(sim, path, **options)

    def record(self, *, clear: bool = True) -> None:
        for key, probe in self._probes.items():
            if len(self.sim.data[probe]):
                self.captured[key].append(np.array(self.sim.data[probe]))
        super().record(clear=clear)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same model run twice: unchunked then converted post hoc, and chunked by the recorder (probe data kept).

    Two identical Nengo simulators can differ in the last float bits (multithreaded BLAS), so each trace is checked
    exactly against the probe data of its own run, and the two runs against each other with a float tolerance.
    """
    root = tmp_path_factory.mktemp("nengo")
    net, probes = build_model()
    with nengo.Simulator(net, dt=DT, seed=SIM_SEED, progress_bar=False) as sim:
        sim.run_steps(STEPS)
        reference = probe_data(sim, probes)
        convert_simulator(sim, root / "posthoc.trace", labels=LABELS)
        held_after = len(sim.data[probes["a_spikes"]])
    with nengo.Simulator(net, dt=DT, seed=SIM_SEED, progress_bar=False) as sim:
        # Small parts: several parts per table, each written after a chunk that mixes several probes' rows.
        parts = {"spikes": 1000, "states": 500, "weights": 5000, "metrics": 300}
        with _CapturingRecorder(
            sim, root / "chunked.trace", probes, labels=LABELS, chunk_steps=CHUNK, part_rows=parts
        ) as recorder:
            recorder.run_steps(STEPS)
        chunked = {key: np.concatenate(arrays) for key, arrays in recorder.captured.items()}
        held_chunked = len(sim.data[probes["a_spikes"]])
    return {
        "root": root,
        "posthoc_data": reference,
        "chunked_data": chunked,
        "chunked": root / "chunked.trace",
        "posthoc": root / "posthoc.trace",
        "held_after_posthoc": held_after,
        "held_after_chunked": held_chunked,
    }


def _snapshots(data: np.ndarray, every: int) -> list[tuple[int, np.ndarray]]:
    return [((k + 1) * every, matrix) for k, matrix in enumerate(data)]


def test_chunked_and_post_hoc_traces_validate_and_are_complete(runs):
    for key in ("chunked", "posthoc"):
        trace = assert_valid(runs[key])
        assert trace.manifest["time"]["resolution"] == DT
        assert trace.manifest["simulator"] == {"name": "nengo", "version": nengo.__version__}


def test_the_recorder_clears_the_probes_after_each_chunk_and_post_hoc_conversion_leaves_them(runs):
    assert runs["held_after_chunked"] == 0
    assert runs["held_after_posthoc"] == STEPS


def test_the_recorder_writes_parts_as_it_goes_when_tables_reach_their_part_size(runs):
    for table in ("spikes", "states", "weights", "metrics"):
        assert len(list((runs["chunked"] / table).glob("part-*.parquet"))) > 1, table


BOTH = pytest.mark.parametrize("run", ["chunked", "posthoc"])


@BOTH
@pytest.mark.parametrize("population, probe", [("a", "a_spikes"), ("ensemble1", "burst_spikes"), ("c", "c_spikes")])
def test_spike_counts_equal_the_probe_data_exactly(runs, run, population, probe):
    data = runs[f"{run}_data"][probe]
    counts = np.rint(data * DT)
    np.testing.assert_array_equal(counts / DT, data)  # the probe held whole spike counts, nothing else
    steps, neurons = np.nonzero(counts)
    trace = snntrace.open_trace(runs[run])
    assert_spikes_equal(trace, population, steps + 1, neurons, counts[steps, neurons])


def test_poisson_neurons_emit_several_spikes_in_one_step_and_keep_the_count(runs):
    trace = snntrace.open_trace(runs["chunked"])
    burst = trace.population("ensemble1")["id"]
    counts = trace.spikes.filter(pl.col("population") == burst).select("count").collect()["count"]
    assert counts.max() > 1
    assert counts.sum() == np.rint(runs["chunked_data"]["burst_spikes"] * DT).sum()


@BOTH
def test_voltages_of_a_neuron_slice_equal_the_probe_data(runs, run):
    data = runs[f"{run}_data"]["a_voltage"]  # Probe(a.neurons[:8], "voltage")
    trace = snntrace.open_trace(runs[run])
    got = trace.states.filter(pl.col("variable") == "v").select("t", "neuron", "value").collect().sort("t", "neuron")
    assert got["t"].to_numpy().tolist() == np.repeat(np.arange(1, STEPS + 1), 8).tolist()
    assert got["neuron"].to_numpy().tolist() == np.tile(np.arange(8), STEPS).tolist()
    np.testing.assert_array_equal(got["value"].to_numpy(), data.reshape(-1))
    (declared,) = trace.manifest["recorded"]["states"]
    assert declared == {
        "population": trace.population("a")["id"],
        "variable": "v",
        "neurons": list(range(8)),
        "interval": 1,
    }


@BOTH
def test_pes_decoders_equal_the_probe_at_each_snapshot_on_a_dimension_population(runs, run):
    data = runs[f"{run}_data"]["pes_weights"]  # (snapshots, size_out=2, n_pre=40)
    assert data.shape == (STEPS // 10, 2, 40)
    assert not np.array_equal(data[0], data[-1]), "PES did not learn: the test would not see stale snapshots"
    trace = snntrace.open_trace(runs[run])
    projection = next(p for p in trace.projections if p["name"] == "a->ensemble2.decoders")
    assert projection["pre"] == trace.population("a")["id"]
    value = trace.population("a->ensemble2.value")
    assert (projection["post"], value["size"]) == (value["id"], 2)
    for tick, decoders in _snapshots(data, 10):
        post, pre = np.nonzero(np.ones_like(decoders))
        assert_weights_equal(trace, "a->ensemble2.decoders", tick, pre, post, decoders[post, pre])


@BOTH
def test_bcm_neuron_to_neuron_weights_equal_the_probe_at_each_snapshot(runs, run):
    data = runs[f"{run}_data"]["bcm_weights"]  # (snapshots, n_post=25, n_pre=40)
    assert not np.array_equal(data[0], data[-1]), "BCM did not change the weights"
    trace = snntrace.open_trace(runs[run])
    projection = next(p for p in trace.projections if p["name"] == "a->c bcm")
    assert (projection["pre"], projection["post"]) == (trace.population("a")["id"], trace.population("c")["id"])
    assert (projection["plastic"], projection["learning_rule"], projection["synapses"]) == (True, "BCM", 1000)
    for tick, weights in _snapshots(data, 10):
        post, pre = np.nonzero(np.ones_like(weights))
        assert_weights_equal(trace, "a->c bcm", tick, pre, post, weights[post, pre])


@BOTH
def test_samples_name_the_input_present_input_showed_with_the_callers_labels(runs, run):
    trace = snntrace.open_trace(runs[run])
    samples = trace.samples.collect().sort("t_start")
    per_sample = round(PRESENTATION_TIME / DT)
    expected_starts = list(range(1, STEPS + 1, per_sample))
    assert samples["t_start"].to_list() == expected_starts
    assert samples["t_end"].to_list() == [min(s + per_sample, STEPS + 1) for s in expected_starts]
    assert samples["index"].to_list() == [k % N_INPUTS for k in range(len(expected_starts))]
    assert samples["label"].to_list() == [int(LABELS[k % N_INPUTS]) for k in range(len(expected_starts))]
    # What the node really output during each window (tick t is step t, row t - 1 of the probe) is that input.
    shown = runs[f"{run}_data"]["stim"]
    for row in samples.iter_rows(named=True):
        window = shown[row["t_start"] - 1 : row["t_end"] - 1]
        assert np.all(window == window[0])
        assert not np.array_equal(window[0], shown[row["t_start"] - 2]) or row["t_start"] == 1


@BOTH
def test_vector_probes_become_one_metric_per_dimension(runs, run):
    trace = snntrace.open_trace(runs[run])
    error = runs[f"{run}_data"]["error"]
    metrics = trace.metrics.collect()
    for dim in range(2):
        got = metrics.filter(pl.col("name") == f"a->ensemble2.PES.error[{dim}]").sort("t")
        assert got["t"].to_list() == list(range(1, STEPS + 1))
        np.testing.assert_array_equal(got["value"].to_numpy(), error[:, dim])
        assert got["projection"].unique().to_list() == [
            next(p["id"] for p in trace.projections if p["name"] == "a->ensemble2")
        ]


def test_a_chunked_run_equals_the_unchunked_reference_table_by_table(runs):
    chunked, posthoc = snntrace.open_trace(runs["chunked"]), snntrace.open_trace(runs["posthoc"])
    for table in ("spikes", "states", "weights", "metrics", "samples"):
        a, b = getattr(chunked, table).collect(), getattr(posthoc, table).collect()
        keys = [c for c in a.columns if a[c].dtype != pl.Float64]
        floats = [c for c in a.columns if c not in keys]
        assert a.height > 0, table
        a, b = a.sort(keys), b.sort(keys)
        # Integer columns (times, indices, spike counts, labels) are identical; floats agree to Nengo's own
        # run-to-run reproducibility (multithreaded BLAS sums differ in the last bits).
        assert a.select(keys).equals(b.select(keys)), table
        for column in floats:
            np.testing.assert_allclose(a[column].to_numpy(), b[column].to_numpy(), rtol=1e-9, atol=1e-12, err_msg=table)
    manifest = {k: v for k, v in chunked.manifest.items() if k != "created"}
    assert manifest == {k: v for k, v in posthoc.manifest.items() if k != "created"}


def test_unlabelled_objects_get_the_same_generated_names_in_every_build(runs, tmp_path):
    net, _ = build_model()
    record_model(net, tmp_path / "again.trace", 0.005, seed=SIM_SEED)
    first = json.loads((runs["chunked"] / "manifest.json").read_text())
    again = json.loads((tmp_path / "again.trace" / "manifest.json").read_text())
    assert [p["name"] for p in first["populations"]] == [p["name"] for p in again["populations"]]
    assert [p["name"] for p in first["projections"]] == [p["name"] for p in again["projections"]]
    assert {"ensemble1", "ensemble2", "a->ensemble1", "ensemble2->error"} <= {
        p["name"] for p in first["populations"] + first["projections"]
    }


def test_the_report_renders(runs, tmp_path):
    assert_report_renders(runs["chunked"], tmp_path / "report.html")


# -- probes the adapter cannot convert ----------------------------------------------------------------------------------


def _small_network(**probe_options):
    with nengo.Network(seed=3) as net:
        stim = nengo.Node([0.5])
        ens = nengo.Ensemble(10, 1)
        post = nengo.Ensemble(10, 1)
        nengo.Connection(stim, ens)
        conn = nengo.Connection(
            ens.neurons, post.neurons, transform=np.full((10, 10), 1e-3), learning_rule_type=nengo.Oja()
        )
        probe = nengo.Probe(ens.neurons, **probe_options) if probe_options else nengo.Probe(conn.learning_rule, "delta")
    return net, probe


@pytest.mark.parametrize(
    "options, code, name",
    [
        ({"synapse": 0.005}, "NG002", "ensemble0.neurons.output"),
        ({"sample_every": 0.002}, "NG002", "ensemble0.neurons.output"),
        ({}, "NG001", "ensemble0.neurons->ensemble1.neurons.Oja.delta"),
    ],
    ids=["filtered spikes", "subsampled spikes", "matrix learning-rule probe"],
)
def test_probes_that_cannot_be_converted_raise_a_coded_error_naming_the_probe(tmp_path, options, code, name):
    net, _ = _small_network(**options)
    with nengo.Simulator(net, progress_bar=False) as sim, pytest.raises(NengoAdapterError) as raised:
        NengoRecorder(sim, tmp_path / "t.trace")
    assert raised.value.code == code
    assert raised.value.message.startswith(f"probe {name!r}: ")
    assert not (tmp_path / "t.trace").exists()


def test_an_ignored_probe_is_left_out_and_listed_in_the_manifest(tmp_path):
    net, probe = _small_network()
    record_model(net, tmp_path / "t.trace", 0.01, ignore=[probe])
    trace = assert_valid(tmp_path / "t.trace")
    assert trace.manifest["annotations"]["nengo"]["ignored_probes"] == [
        "ensemble0.neurons->ensemble1.neurons.Oja.delta"
    ]


def test_post_hoc_conversion_refuses_probe_data_that_was_cleared(tmp_path):
    net, _ = _small_network(sample_every=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(20)
        sim.clear_probes()
        sim.run_steps(5)
        with pytest.raises(NengoAdapterError) as raised:
            convert_simulator(sim, tmp_path / "t.trace")
    assert raised.value.code == "NG005"


def test_labels_must_give_one_integer_per_presented_input(tmp_path):
    net, _ = build_model()
    with nengo.Simulator(net, progress_bar=False) as sim, pytest.raises(NengoAdapterError) as raised:
        NengoRecorder(sim, tmp_path / "t.trace", labels=LABELS[:-1])
    assert raised.value.code == "NG004"


def test_spike_counts_undo_the_neuron_types_amplitude(tmp_path):
    with nengo.Network(seed=5) as net:
        ens = nengo.Ensemble(12, 1, neuron_type=nengo.SpikingRectifiedLinear(amplitude=0.25))
        nengo.Connection(nengo.Node(0.8), ens)
        probe = nengo.Probe(ens.neurons)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(100)
        data = np.array(sim.data[probe])
        convert_simulator(sim, tmp_path / "t.trace")
    counts = np.rint(data * DT / 0.25)
    np.testing.assert_array_equal(counts * 0.25 / DT, data)
    steps, neurons = np.nonzero(counts)
    assert len(steps) > 0
    assert_spikes_equal(assert_valid(tmp_path / "t.trace"), "ensemble0", steps + 1, neurons, counts[steps, neurons])


def test_a_simulator_reset_between_chunks_is_refused_not_written_twice(tmp_path):
    net, _ = _small_network(sample_every=None)
    with (
        nengo.Simulator(net, progress_bar=False) as sim,
        pytest.raises(NengoAdapterError) as raised,
        NengoRecorder(sim, tmp_path / "t.trace", chunk_steps=10) as recorder,
    ):
        recorder.run_steps(20)
        sim.reset()
        recorder.run_steps(5)
    assert raised.value.code == "NG005"
    trace = snntrace.open_trace(tmp_path / "t.trace")
    assert trace.complete is False  # what was recorded before the reset stays, marked as an interrupted run
    assert trace.spikes.select(pl.col("t").max()).collect().item() <= 20


def _weights_probe_network(kind: str):
    with nengo.Network(seed=4) as net:
        node = nengo.Node([0.2, 0.4])
        ens = nengo.Ensemble(10, 2)
        if kind == "filtered":  # as in Nengo's learning examples: smoothed weights, not the weights
            conn = nengo.Connection(node, ens)
            nengo.Probe(
                nengo.Connection(ens, nengo.Ensemble(10, 2), learning_rule_type=nengo.PES()), "weights", synapse=0.01
            )
        elif kind == "function of a node":
            conn = nengo.Connection(node, ens, function=lambda x: x**2, transform=np.eye(2))
            nengo.Probe(conn, "weights")
        else:  # a node transform the adapter can lay out: columns are node outputs, rows are dimensions
            conn = nengo.Connection(node, ens, transform=[[1.0, 0.5], [0.0, 2.0]])
            nengo.Probe(conn, "weights")
    return net


@pytest.mark.parametrize("kind", ["filtered", "function of a node"])
def test_weights_without_a_synapse_layout_are_refused_with_ng003(tmp_path, kind):
    with (
        nengo.Simulator(_weights_probe_network(kind), progress_bar=False) as sim,
        pytest.raises(NengoAdapterError) as raised,
    ):
        NengoRecorder(sim, tmp_path / "t.trace")
    assert raised.value.code == "NG003"


def test_a_node_transform_is_recorded_from_the_node_population_to_a_dimension_population(tmp_path):
    record_model(_weights_probe_network("transform"), tmp_path / "t.trace", 0.003)
    trace = assert_valid(tmp_path / "t.trace")
    projection = next(p for p in trace.projections if p["name"] == "node0->ensemble0.transform")
    assert (projection["pre"], projection["post"]) == (
        trace.population("node0")["id"],
        trace.population("node0->ensemble0.value")["id"],
    )
    for tick in (1, 2, 3):
        assert_weights_equal(
            trace, "node0->ensemble0.transform", tick, [0, 1, 0, 1], [0, 0, 1, 1], [1.0, 0.5, 0.0, 2.0]
        )


@pytest.mark.parametrize(
    "options, code",
    [({"labels": [0, 1]}, "NG004"), ({"chunk_steps": 0}, "NG006")],
    ids=["labels without PresentInput", "empty chunks"],
)
def test_bad_recorder_arguments_raise_coded_errors(tmp_path, options, code):
    net, _ = _small_network(sample_every=None)
    with nengo.Simulator(net, progress_bar=False) as sim, pytest.raises(NengoAdapterError) as raised:
        NengoRecorder(sim, tmp_path / "t.trace", **options)
    assert raised.value.code == code


def test_a_closed_simulator_converts_post_hoc_but_cannot_run(tmp_path):
    net, probe = _small_network(sample_every=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(30)
    data = np.array(sim.data[probe])  # Nengo keeps probe data after close, the usual place users read it
    convert_simulator(sim, tmp_path / "t.trace")
    steps, neurons = np.nonzero(np.rint(data * DT))
    assert len(steps) > 0
    assert_spikes_equal(assert_valid(tmp_path / "t.trace"), "ensemble0", steps + 1, neurons)
    with pytest.raises(NengoAdapterError) as raised, NengoRecorder(sim, tmp_path / "more.trace") as recorder:
        recorder.run_steps(10)
    assert raised.value.code == "NG006"
