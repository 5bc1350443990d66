"""The Brian2 adapter on real Brian2 networks (numpy target): live recording, post-hoc conversion, refusals."""

from __future__ import annotations

import brian2 as b2
import numpy as np
import polars as pl
import pytest
from brian2 import Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, StateMonitor, Synapses, ms, mV
from snntrace.adapters.brian2 import Brian2AdapterError, Sample, States, TraceRecorder, Weights, write_trace

import snntrace
from tests import adapter_checks
from tests._brian2_fixtures import cuba, fresh_brian, reference_spikes, stdp

pytestmark = pytest.mark.simulator

DT = 1e-4  # seconds: every network here runs at Brian's default 0.1 ms


@pytest.fixture(autouse=True)
def brian_scope():
    """Give every test a fresh Brian2 scope on the numpy target, and leave the runtime device behind."""
    fresh_brian()
    yield
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"


def _cause(excinfo) -> Brian2AdapterError:
    """Return the adapter error behind a Brian2 error (Brian wraps errors raised while preparing a run)."""
    error = excinfo.value
    while not isinstance(error, Brian2AdapterError) and error.__cause__ is not None:
        error = error.__cause__
    assert isinstance(error, Brian2AdapterError), repr(excinfo.value)
    return error


def _states(trace: snntrace.Trace, variable: str) -> pl.DataFrame:
    return (
        trace.states.filter(pl.col("variable") == variable).select("t", "neuron", "value").collect().sort("t", "neuron")
    )


# -- live recording ----------------------------------------------------------------------------------------------------
def test_cuba_network_trace_holds_exactly_the_spikes_and_states_brian_recorded(tmp_path):
    net = cuba()
    group, ce, ci = net.group, net.ce, net.ci  # noqa: F841 - the magic network collects local variables only
    reference = SpikeMonitor(net.group)
    reference_v = StateMonitor(net.group, "v", record=[0, 1, 2, 350], dt=0.5 * ms)
    # Slices of one group: stored in the full group with their offsets. Small chunks and parts: many drains.
    recorder = TraceRecorder(
        tmp_path / "cuba.trace",
        spikes=[net.exc, net.inh],
        states=[States(net.group, "v", neurons=[0, 1, 2, 350], dt=0.5 * ms)],
        weights=[Weights(net.ce)],
        describe=[net.ci],
        chunk=5 * ms,
        part_rows=100,
    )
    b2.run(60 * ms)  # the magic network, as most Brian2 scripts run

    trace = adapter_checks.assert_valid(tmp_path / "cuba.trace")
    ticks, neurons = reference_spikes(reference, DT)
    assert len(ticks) > 150, "the network should be active"
    adapter_checks.assert_spikes_equal(trace, net.group.name, ticks, neurons)
    assert len(list((tmp_path / "cuba.trace" / "spikes").glob("*.parquet"))) > 1
    v = _states(trace, "v")
    expected_t = np.repeat(np.rint(np.asarray(reference_v.t_) / DT).astype(np.int64), 4)
    assert v["t"].to_numpy().tolist() == expected_t.tolist()
    assert np.array_equal(v["value"].to_numpy(), np.asarray(reference_v.v_).T.ravel())
    manifest = trace.manifest
    assert manifest["time"] == {"resolution": pytest.approx(DT), "duration": 600}
    assert manifest["simulator"] == {"name": "brian2", "version": b2.__version__}
    (population,) = manifest["populations"]
    assert population["size"] == 400 and "dv/dt" in population["model"]["equations"]
    assert population["model"]["parameters"]["Vt"] == {"value": pytest.approx(-0.05), "unit": "V"}
    assert manifest["recorded"]["states"] == [
        {"population": 0, "variable": "v", "unit": "V", "neurons": [0, 1, 2, 350], "interval": 5}
    ]
    assert [(p["name"], p["synapses"]) for p in manifest["projections"]] == [
        ("exc_to_all", len(net.ce)),
        ("inh_to_all", len(net.ci)),
    ]
    assert manifest["recorded"]["weights"] == [{"projection": 0, "snapshot": "full", "unit": "V"}]
    # Memory stays bounded: the recorder's own monitors are empty once drained.
    assert all(len(m.t) == 0 for m in recorder.contained_objects)
    adapter_checks.assert_report_renders(tmp_path / "cuba.trace", tmp_path / "cuba.html")


def test_stdp_weight_snapshots_equal_the_synapses_weights_at_each_snapshot_time(tmp_path):
    net = stdp()
    initial = np.array(net.synapses.w_, copy=True)
    # Brian's own record of every weight at the snapshot times (it samples in the 'start' slot of those steps).
    reference_w = StateMonitor(net.synapses, "w", record=True, dt=25 * ms)
    reference = SpikeMonitor(net.neurons)
    network = Network(net.inputs, net.neurons, net.synapses, reference_w, reference)
    after_first = None
    with TraceRecorder(
        tmp_path / "stdp.trace",
        spikes=[net.neurons],
        weights=[Weights(net.synapses, every=25 * ms, learning_rule="stdp")],
    ) as recorder:
        network.add(recorder)
        network.run(50 * ms)
        after_first = np.array(net.synapses.w_, copy=True)
        network.run(50 * ms)  # a second run continues the same trace
    final = np.array(net.synapses.w_, copy=True)

    trace = adapter_checks.assert_valid(tmp_path / "stdp.trace")
    pre, post = np.asarray(net.synapses.i), np.asarray(net.synapses.j)
    snapshots = trace.weights.select("t").unique().collect()["t"].sort().to_list()
    assert snapshots == [0, 250, 500, 750, 1000]
    adapter_checks.assert_weights_equal(trace, "stdp", 0, pre, post, initial)
    adapter_checks.assert_weights_equal(trace, "stdp", 500, pre, post, after_first)
    adapter_checks.assert_weights_equal(trace, "stdp", 1000, pre, post, final)
    for column, tick in enumerate((0, 250, 500, 750)):
        adapter_checks.assert_weights_equal(trace, "stdp", tick, pre, post, reference_w.w_[:, column])
    assert not np.array_equal(initial, final), "STDP should have changed the weights"
    ticks, neurons = reference_spikes(reference, DT)
    adapter_checks.assert_spikes_equal(trace, "neurons", ticks, neurons)
    (projection,) = trace.projections
    assert projection | {"plastic": True, "learning_rule": "stdp"} == projection
    assert trace.manifest["recorded"]["weights"] == [{"projection": 0, "snapshot": "full", "unit": "1"}]
    assert [p.get("role") for p in trace.manifest["populations"]] == [None, "input"]
    adapter_checks.assert_report_renders(tmp_path / "stdp.trace", tmp_path / "stdp.html")


def test_labelled_inputs_become_samples_the_report_can_group_by_class(tmp_path):
    patterns = np.zeros((3, 30))
    for label in range(3):
        patterns[label, label * 10 : label * 10 + 10] = 200.0
    inputs = PoissonGroup(30, rates=0 * Hz, name="pixels")
    tau = 10 * ms  # noqa: F841 - used by the equations through the run namespace
    output = NeuronGroup(3, "dv/dt = -v / tau : 1", threshold="v > 1", reset="v = 0", method="exact", name="classes")
    feed = Synapses(inputs, output, "w : 1", on_pre="v += w", name="feed")
    feed.connect()
    feed.w = "0.3 * rand()"
    labels = [0, 1, 2, 1, 0, 2]
    dataset = snntrace.Dataset("three bars", classes=("left", "middle", "right"))
    with TraceRecorder(
        tmp_path / "bars.trace", spikes=[inputs, output], dataset=dataset, roles={"classes": "output"}
    ) as recorder:
        for index, label in enumerate(labels):
            inputs.rates = patterns[label] * Hz
            with recorder.presenting(index, label, split="train" if index < 4 else "test"):
                b2.run(20 * ms)
            inputs.rates = 0 * Hz
            b2.run(5 * ms)  # rest between samples
            recorder.write_metric("accuracy", (index + 1) / 10, step=index)
        recorder.write_event("epoch_end", {"epoch": 0, "samples": len(labels)})
        recorder.mark_sample(99, None, start=0 * ms, duration=5 * ms, split="probe")

    trace = adapter_checks.assert_valid(tmp_path / "bars.trace")
    samples = trace.samples.collect().sort("t_start")
    assert samples["t_start"].to_list() == [0, 0, 250, 500, 750, 1000, 1250]
    assert samples.filter(pl.col("index") < 99)["t_end"].to_list() == [200, 450, 700, 950, 1200, 1450]
    assert samples.filter(pl.col("index") < 99)["label"].to_list() == labels
    assert samples.filter(pl.col("index") < 99)["split"].to_list() == ["train"] * 4 + ["test"] * 2
    assert samples.filter(pl.col("index") == 99)["label"].to_list() == [None]
    assert trace.manifest["dataset"]["classes"] == ["left", "middle", "right"]
    metrics = trace.metrics.collect()
    assert metrics["step"].to_list() == list(range(6)) and metrics["t"].to_list() == [250 * (i + 1) for i in range(6)]
    events = trace.events.collect()
    assert events["kind"].to_list() == ["epoch_end"] and events["t"].to_list() == [1500]
    assert [p["role"] for p in trace.manifest["populations"]] == ["input", "output"]
    # Input neurons of the presented class fire during its window, the others stay silent.
    spikes = trace.spikes.filter(pl.col("population") == 0).collect()
    first = spikes.filter(pl.col("t") < 200)["neuron"].to_numpy()
    assert len(first) > 0 and np.all(first < 10)
    adapter_checks.assert_report_renders(tmp_path / "bars.trace", tmp_path / "bars.html")


def test_trace_is_complete_when_a_single_run_ends_and_a_further_run_is_refused(tmp_path):
    net = stdp(n_inputs=20, n_neurons=2)
    recorder = TraceRecorder(tmp_path / "once.trace", spikes=[net.inputs], background=False)
    network = Network(net.inputs, net.neurons, net.synapses, recorder)
    network.run(10 * ms)
    assert snntrace.open_trace(tmp_path / "once.trace").complete
    with pytest.raises(b2.BrianObjectException) as excinfo:
        network.run(10 * ms)
    assert _cause(excinfo).code == "BR006"


def test_a_failing_run_leaves_an_incomplete_trace_with_what_was_recorded(tmp_path):
    net = stdp(n_inputs=50, n_neurons=2)
    reference = SpikeMonitor(net.inputs)

    @b2.network_operation(dt=10 * ms)
    def crash(t):
        if t >= 20 * ms:
            raise RuntimeError("simulated crash")

    network = Network(net.inputs, net.neurons, net.synapses, reference, crash)
    with (
        pytest.raises(RuntimeError, match="simulated crash"),
        TraceRecorder(tmp_path / "crash.trace", spikes=[net.inputs], chunk=1 * ms) as recorder,
    ):
        network.add(recorder)
        network.run(50 * ms)
    trace = adapter_checks.assert_valid(tmp_path / "crash.trace", complete=False)
    ticks, neurons = reference_spikes(reference, DT)
    adapter_checks.assert_spikes_equal(trace, "inputs", ticks, neurons)


@pytest.mark.parametrize("background", [True, False], ids=["background", "synchronous"])
def test_a_writer_failure_reaches_the_caller_and_leaves_the_trace_incomplete(tmp_path, background):
    net = stdp(n_inputs=20, n_neurons=2)
    network = Network(net.inputs, net.neurons, net.synapses)
    recorder = TraceRecorder(tmp_path / "late.trace", spikes=[net.inputs], close_after_run=False, background=background)
    network.add(recorder)
    network.run(10 * ms)
    recorder.mark_sample(0, 1, start=5 * ms, end=10 * ms)
    recorder.flush()
    recorder.mark_sample(1, 0, start=0 * ms, end=5 * ms)  # earlier than a sample already on disk
    with pytest.raises(snntrace.TraceWriteError) as excinfo:
        recorder.flush()
    assert excinfo.value.code == "WR004"
    recorder.close()
    trace = adapter_checks.assert_valid(tmp_path / "late.trace", complete=False)
    assert trace.samples.collect()["index"].to_list() == [0]


def test_rewinding_time_with_restore_is_refused(tmp_path):
    net = stdp(n_inputs=20, n_neurons=2)
    network = Network(net.inputs, net.neurons, net.synapses)
    with TraceRecorder(tmp_path / "rewind.trace", spikes=[net.inputs]) as recorder:
        network.add(recorder)
        network.store()
        network.run(10 * ms)
        network.restore()
        with pytest.raises(b2.BrianObjectException) as excinfo:
            network.run(10 * ms)
    assert _cause(excinfo).code == "BR006"


# -- post-hoc ------------------------------------------------------------------------------------------------------------
def test_finished_run_converts_from_its_monitors_and_synapses(tmp_path):
    net = stdp()
    spikes_in = SpikeMonitor(net.inputs[50:150])  # a slice: indices come back relative to it
    spikes_out = SpikeMonitor(net.neurons)
    v = StateMonitor(net.neurons, ["v", "ge"], record=[1, 3], dt=1 * ms)
    w = StateMonitor(net.synapses, "w", record=[0, 7, 400], dt=10 * ms)
    network = Network(net.inputs, net.neurons, net.synapses, spikes_in, spikes_out, v, w)
    network.run(60 * ms)

    path = write_trace(
        tmp_path / "posthoc.trace",
        network,
        samples=[Sample(0, 0 * ms, 30 * ms, label=1), (1, 30 * ms, 60 * ms, 0)],
        dataset=snntrace.Dataset("two", classes=("a", "b")),
        part_rows=200,
    )
    trace = adapter_checks.assert_valid(path)
    ticks, neurons = reference_spikes(spikes_in, DT, offset=50)
    adapter_checks.assert_spikes_equal(trace, "inputs", ticks, neurons)
    ticks, neurons = reference_spikes(spikes_out, DT)
    adapter_checks.assert_spikes_equal(trace, "neurons", ticks, neurons)
    assert len(list((path / "spikes").glob("*.parquet"))) > 1
    ge = _states(trace, "ge")
    assert np.array_equal(ge["value"].to_numpy(), np.asarray(v.ge_).T.ravel())
    assert ge["neuron"].to_list()[:4] == [1, 3, 1, 3]
    pre, post = np.asarray(net.synapses.i), np.asarray(net.synapses.j)
    for column, tick in enumerate(range(0, 600, 100)):
        adapter_checks.assert_weights_equal(trace, "stdp", tick, pre[[0, 7, 400]], post[[0, 7, 400]], w.w_[:, column])
    adapter_checks.assert_weights_equal(trace, "stdp", 600, pre, post, net.synapses.w_)
    assert trace.manifest["recorded"]["weights"] == [{"projection": 0, "snapshot": "partial", "unit": "1"}]
    assert trace.samples.collect()["label"].to_list() == [1, 0]
    assert trace.manifest["time"]["duration"] == 600


def test_post_hoc_conversion_resolves_model_constants_from_the_callers_namespace(tmp_path):
    tau = 7 * ms  # noqa: F841 - used by the model through the run namespace
    threshold = 0.8  # noqa: F841
    group = NeuronGroup(
        5, "dv/dt = (1.2 - v) / tau + 0 * mV / ms / volt : 1", threshold="v > threshold", reset="v = 0", method="exact"
    )
    monitor = SpikeMonitor(group)
    b2.run(20 * ms)
    trace = snntrace.open_trace(write_trace(tmp_path / "ns.trace", monitor))
    parameters = trace.manifest["populations"][0]["model"]["parameters"]
    # Units in the equations (mV, ms) are not parameters.
    assert parameters == {"tau": {"value": pytest.approx(0.007), "unit": "s"}, "threshold": {"value": 0.8, "unit": "1"}}
    assert trace.spikes.collect().height == len(monitor.t) > 0


@pytest.fixture
def unoptimised_cpp():
    """Compile standalone projects without optimisation (several times faster; the runs are tiny)."""
    flags = list(b2.prefs.codegen.cpp.extra_compile_args_gcc)
    b2.prefs.codegen.cpp.extra_compile_args_gcc = ["-w", "-O0", "-std=c++11"]
    yield
    b2.prefs.codegen.cpp.extra_compile_args_gcc = flags


@pytest.mark.slow
def test_standalone_run_converts_after_the_build(tmp_path, unoptimised_cpp):
    b2.set_device("cpp_standalone", directory=str(tmp_path / "project"))
    group = NeuronGroup(30, "dv/dt = (1.1 - v) / (10*ms) : 1", threshold="v > 1", reset="v = 0", method="exact")
    group.v = "rand()"
    synapses = Synapses(group, group, "w : 1", on_pre="v += w\nw = clip(w + 0.01, 0, 1)", name="recurrent")
    synapses.connect(p=0.2)
    synapses.w = 0.05
    spikes = SpikeMonitor(group[5:])
    weights = StateMonitor(synapses, "w", record=[0, 3], dt=5 * ms)
    b2.run(30 * ms)  # builds, compiles and runs the C++ project

    trace = adapter_checks.assert_valid(write_trace(tmp_path / "standalone.trace", spikes, weights, synapses))
    ticks, neurons = reference_spikes(spikes, DT, offset=5)
    adapter_checks.assert_spikes_equal(trace, group.name, ticks, neurons)
    pre, post = np.asarray(synapses.i), np.asarray(synapses.j)
    adapter_checks.assert_weights_equal(trace, "recurrent", 300, pre, post, np.asarray(synapses.w_))
    adapter_checks.assert_weights_equal(trace, "recurrent", 50, pre[[0, 3]], post[[0, 3]], weights.w_[:, 1])
    assert trace.manifest["annotations"]["brian2"]["device"] == "CPPStandaloneDevice"


# -- refusals -------------------------------------------------------------------------------------------------------------
def test_live_recording_is_refused_on_a_standalone_device(tmp_path):
    group = NeuronGroup(2, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0")
    b2.set_device("cpp_standalone", build_on_run=False, directory=str(tmp_path / "standalone"))
    with pytest.raises(Brian2AdapterError) as excinfo:
        TraceRecorder(tmp_path / "x.trace", spikes=[group])
    assert excinfo.value.code == "BR001" and "write_trace" in str(excinfo.value)


def test_live_recording_is_refused_on_an_unverified_code_generation_target(tmp_path):
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

    class TracingCodeObject(NumpyCodeObject):
        class_name = "tracing_numpy"

    group = NeuronGroup(2, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0")
    b2.prefs.codegen.target = TracingCodeObject
    with pytest.raises(Brian2AdapterError) as excinfo:
        TraceRecorder(tmp_path / "x.trace", spikes=[group])
    assert excinfo.value.code == "BR002" and "tracing_numpy" in str(excinfo.value)


def test_a_recorded_group_missing_from_the_network_is_refused(tmp_path):
    inside = NeuronGroup(2, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0", name="inside")
    # "outside" is not a local variable, so the magic network leaves it out (an explicit Network refuses this
    # itself); the recorder is one, so the magic network runs it.
    outside = [NeuronGroup(2, "v : 1", threshold="v > 1", name="outside")]
    recorder = TraceRecorder(tmp_path / "x.trace", spikes=[inside, *outside])  # noqa: F841
    with pytest.raises(b2.BrianObjectException) as excinfo:
        b2.run(1 * ms)
    assert _cause(excinfo).code == "BR008" and "outside" in str(_cause(excinfo))
    assert not (tmp_path / "x.trace").exists()


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda g, s: TraceRecorder("x.trace"), "BR003"),
        (lambda g, s: TraceRecorder("x.trace", spikes=[s]), "BR003"),
        (lambda g, s: TraceRecorder("x.trace", spikes=[NeuronGroup(2, "v : 1")]), "BR004"),
        (lambda g, s: States(g, "u"), "BR004"),
        (lambda g, s: States(s, "w"), "BR003"),
        (lambda g, s: Weights(s, "weight"), "BR004"),
        (lambda g, s: Weights(s, every=3 * mV), "BR005"),
    ],
    ids=[
        "nothing",
        "synapses-as-spikes",
        "no-threshold",
        "unknown-state",
        "synaptic-state",
        "unknown-weight",
        "not-a-time",
    ],
)
def test_impossible_requests_are_refused_with_a_code(make, code):
    group = NeuronGroup(3, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0")
    synapses = Synapses(group, group, "w : 1")
    with pytest.raises(Brian2AdapterError) as excinfo:
        make(group, synapses)
    assert excinfo.value.code == code


def test_snapshot_interval_between_time_steps_is_refused(tmp_path):
    group = NeuronGroup(3, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0")
    synapses = Synapses(group, group, "w : 1")
    synapses.connect()
    recorder = TraceRecorder(tmp_path / "x.trace", weights=[Weights(synapses, every=0.25 * ms)])
    with pytest.raises(b2.BrianObjectException) as excinfo:
        Network(group, synapses, recorder).run(1 * ms)
    assert _cause(excinfo).code == "BR005"


def test_samples_need_a_known_time_and_an_end():
    group = NeuronGroup(3, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0")
    recorder = TraceRecorder("never-written.trace", spikes=[group])
    for kwargs in ({}, {"duration": 5 * ms}, {"start": 0 * ms}, {"start": 5 * ms, "end": 1 * ms}):
        with pytest.raises(Brian2AdapterError) as excinfo:
            recorder.mark_sample(0, 1, **kwargs)
        assert excinfo.value.code == "BR009"
    with pytest.warns(UserWarning, match="closed before any run"):
        recorder.close()


def test_post_hoc_conversion_refuses_monitors_without_data(tmp_path):
    group = NeuronGroup(3, "dv/dt = -v / (10*ms) : 1", threshold="v > 1", reset="v = 0")
    synapses = Synapses(group, group, "w : 1\ndapre/dt = -apre / (10*ms) : 1 (event-driven)", on_pre="apre += 1")
    synapses.connect()
    counts_only = SpikeMonitor(group, record=False)
    never_run = SpikeMonitor(group)
    traces = StateMonitor(synapses, ["w", "apre"], record=[0])
    Network(group, synapses, counts_only, traces).run(1 * ms)
    for obj, code in ((counts_only, "BR007"), (never_run, "BR007"), (traces, "BR004"), (object(), "BR003")):
        with pytest.raises(Brian2AdapterError) as excinfo:
            write_trace(tmp_path / "x.trace", obj)
        assert excinfo.value.code == code
    assert not (tmp_path / "x.trace").exists()


def test_adapter_error_message_names_the_code_and_the_object():
    group = NeuronGroup(3, "v : 1", name="silent")
    with pytest.raises(Brian2AdapterError) as excinfo:
        TraceRecorder("x.trace", spikes=[group])
    assert str(excinfo.value).startswith("BR004 at brian2:silent: ")
    assert isinstance(excinfo.value, snntrace.SnntraceError) and isinstance(excinfo.value, ValueError)
