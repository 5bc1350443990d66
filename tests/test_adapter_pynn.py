"""The live PyNN recorder on a real pyNN.brian2 E/I network with STDP: the chunked trace equals a plain run's Neo
data and weight snapshots exactly, with no stale spikes and no fake chunk-start samples."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from _pynn_fixtures import DT, N_EXC, N_INH, N_INPUT, brian2_numpy, build_network
from adapter_checks import assert_report_renders, assert_spikes_equal, assert_valid, assert_weights_equal
from snntrace.adapters.pynn import PynnRecorder, PynnRecorderError

import snntrace

pytestmark = pytest.mark.simulator

RUN = 150.0  # ms
INTERVAL = 40.0  # ms: not a divisor of RUN, so the last chunk is partial (and the final snapshot comes from close())
RESOLUTION = DT * 1e-3
LABELS = ("input", "exc", "inh")


def _snapshot_times() -> list[float]:
    return [0.0, 40.0, 80.0, 120.0, RUN]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The STDP network run plainly (the reference: Neo data at the end, weights at the flush times), then live."""
    import pyNN.brian2 as sim

    root = tmp_path_factory.mktemp("pynn")
    with brian2_numpy(root / "work"):
        net = build_network(sim, stdp=True)
        reference_weights = {}

        def capture(t):
            reference_weights[round(t / DT)] = net["projections"]["input_exc"].get("weight", format="array")
            return t + INTERVAL

        sim.run(RUN, callbacks=[capture])
        reference = {label: net[label].get_data().segments[0] for label in LABELS}
        sim.end()

        net = build_network(sim, stdp=True)
        trace_path = root / "live.trace"
        with PynnRecorder(
            sim, trace_path, populations=net["populations"], projections=list(net["projections"].values()),
            interval=INTERVAL, roles={"input": "input"},
        ) as recorder:
            sim.run(RUN, callbacks=[recorder])
        leftover = sum(len(t) for t in net["exc"].get_data().segments[0].spiketrains)
        # A reset while a recorder follows the run must be refused, not silently merged.
        second = PynnRecorder(sim, root / "reset.trace", populations=[net["exc"]], interval=INTERVAL)
        second.flush()
        sim.reset()
        with pytest.raises(PynnRecorderError) as reset_error:
            second.flush()
        second.close(complete=False)
        sim.end()
    return {
        "root": root,
        "trace": trace_path,
        "reference": reference,
        "weights": reference_weights,
        "leftover": leftover,
        "reset_error": reset_error.value,
    }


def test_the_live_trace_validates_and_describes_the_network(runs):
    trace = assert_valid(runs["trace"])
    assert trace.resolution == RESOLUTION
    assert trace.duration_ticks == round(RUN / DT)
    assert trace.manifest["simulator"]["name"] == "pyNN.brian2"
    assert [(p["name"], p["size"]) for p in trace.populations] == [("input", N_INPUT), ("exc", N_EXC), ("inh", N_INH)]
    assert trace.population("input")["role"] == "input"
    stdp = next(p for p in trace.projections if p["name"] == "input_exc")
    assert stdp["plastic"] is True and stdp["learning_rule"] == "SpikePairRule/AdditiveWeightDependence"
    assert stdp["synapses"] == int(np.count_nonzero(~np.isnan(runs["weights"][0])))
    assert {w["unit"] for w in trace.recorded["weights"]} == {"uS"}


def test_spikes_recorded_chunk_by_chunk_equal_the_plain_run(runs):
    trace = snntrace.open_trace(runs["trace"])
    for label in LABELS:
        trains = runs["reference"][label].spiketrains
        ticks = np.concatenate([np.rint(t.rescale("s").magnitude / RESOLUTION) for t in trains]).astype(np.int64)
        neurons = np.concatenate([np.full(len(t), int(t.annotations["source_index"])) for t in trains])
        assert len(ticks) > 0, f"{label} never fired"
        # No stale zero-time spikes: pyNN.brian2's broken clear would repeat old spikes at t = 0.
        assert_spikes_equal(trace, label, ticks, neurons)


def test_states_hold_every_sample_once_without_the_fake_chunk_start_samples(runs):
    trace = snntrace.open_trace(runs["trace"])
    for label, variable in (("exc", "v"), ("inh", "v"), ("inh", "gsyn_exc")):
        signal = next(s for s in runs["reference"][label].analogsignals if s.name == variable)
        unit = "V" if variable == "v" else "S"
        ticks = np.rint(signal.times.rescale("s").magnitude / RESOLUTION).astype(np.int64)
        channels = np.asarray(signal.array_annotations["channel_index"])
        expected = pl.DataFrame(
            {
                "t": np.repeat(ticks, len(channels)),
                "neuron": np.tile(channels, len(ticks)).astype(np.uint32),
                "value": signal.rescale(unit).magnitude.reshape(-1),
            }
        )
        pid = trace.population(label)["id"]
        got = (
            trace.states.filter((pl.col("population") == pid) & (pl.col("variable") == variable))
            .select("t", "neuron", "value")
            .collect()
            .sort("t", "neuron")
        )
        assert got.height == expected.height, f"{label}.{variable}: {got.height} rows, {expected.height} expected"
        assert got.equals(expected.sort("t", "neuron")), f"{label}.{variable} differs from the plain run"


def test_weight_snapshots_equal_projection_get_at_each_flush(runs):
    trace = snntrace.open_trace(runs["trace"])
    ticks = sorted(trace.weights.select("t").unique().collect()["t"].to_list())
    assert ticks == [round(t / DT) for t in _snapshot_times()]
    changed = False
    for tick in ticks:
        matrix = runs["weights"][tick]
        pre, post = np.nonzero(~np.isnan(matrix))
        assert_weights_equal(trace, "input_exc", tick, pre, post, matrix[pre, post])
        changed |= not np.array_equal(matrix, runs["weights"][0], equal_nan=True)
    assert changed, "STDP never changed a weight: the test network does not exercise plasticity"


def test_mean_absolute_weight_change_is_reported_per_snapshot(runs):
    trace = snntrace.open_trace(runs["trace"])
    pid = next(p["id"] for p in trace.projections if p["name"] == "input_exc")
    metric = (
        trace.metrics.filter((pl.col("name") == "mean_abs_dw") & (pl.col("projection") == pid)).collect().sort("t")
    )
    ticks = [round(t / DT) for t in _snapshot_times()]
    assert metric["t"].to_list() == ticks[1:]
    for tick, previous, value in zip(ticks[1:], ticks[:-1], metric["value"].to_list()):
        before, after = runs["weights"][previous], runs["weights"][tick]
        mask = ~np.isnan(after)
        assert value == pytest.approx(np.abs(after[mask] - before[mask]).mean(), rel=1e-12)


def test_the_recorder_leaves_nothing_in_the_simulator_after_the_last_flush(runs):
    assert runs["leftover"] == 0


def test_a_reset_while_recording_is_a_coded_error(runs):
    assert runs["reset_error"].code == "PN004"
    assert "reset" in runs["reset_error"].message


def test_the_report_renders_for_a_live_recorded_run(runs, tmp_path):
    assert_report_renders(runs["trace"], tmp_path / "report.html")
