"""SONATA spike files and frame reports in every layout convert to valid traces; traces export to spec-exact files."""

from __future__ import annotations

import h5py
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import snntrace
from _sonata_fixtures import bmtk_like_files, current_file, frame_report, legacy_file, random_spikes
from adapter_checks import assert_spikes_equal
from snntrace.adapters._sonata_time import to_ticks
from snntrace.adapters.sonata import SonataError, choose_resolution, convert_sonata, export_sonata
from snntrace.cli import cli


def assert_valid(path):
    """Assert the trace validates without errors (``snntrace.validate``)."""
    result = snntrace.validate(path)
    assert result.ok, "\n".join(str(f) for f in result.findings)


def spike_counts(path) -> dict[str, int]:
    trace = snntrace.open_trace(path)
    counts = trace.spikes.group_by("population").agg(pl.col("count").sum()).collect()
    return {trace.population_names[p]: n for p, n in counts.iter_rows()}


def test_current_layout_with_one_population_converts_exactly_at_the_simulator_step(tmp_path):
    times, ids = random_spikes(0, 5000, 80)
    source = current_file(tmp_path / "spikes.h5", {"cortex": (times, ids)})
    result = convert_sonata(source, tmp_path / "run.trace")
    assert result.resolution == 1e-4 and result.exact
    assert result.spikes == {"cortex": 5000}
    assert result.sizes == {"cortex": int(ids.max()) + 1}
    trace = snntrace.open_trace(tmp_path / "run.trace")
    assert_spikes_equal(trace, "cortex", np.rint(times * 10).astype(np.int64), ids)
    assert result.interpretations == [
        f"population sizes inferred as the largest node id + 1: cortex={int(ids.max()) + 1}"
    ]
    assert trace.manifest["annotations"]["sonata"]["interpretations"] == result.interpretations


def test_two_populations_with_string_sorting_and_spelled_out_units_keep_every_spike(tmp_path):
    exc = random_spikes(1, 3000, 100)
    inh = random_spikes(2, 700, 25, dt_ms=0.025)
    source = current_file(tmp_path / "two.h5", {"exc": exc, "inh": inh}, as_string=True, units="milliseconds")
    result = convert_sonata(source, tmp_path / "two.trace")
    assert spike_counts(tmp_path / "two.trace") == {"exc": 3000, "inh": 700} == result.spikes
    # 0.1 ms steps need 0.1 ms ticks and 0.025 ms steps 1 us ticks; i * 0.025 is off k / 1000 by float noise only.
    assert result.resolution == 1e-6 and not result.exact
    assert any("by float noise only" in note for note in result.interpretations)
    trace = snntrace.open_trace(tmp_path / "two.trace")
    assert_spikes_equal(trace, "inh", np.rint(inh[0] * 1000).astype(np.int64), inh[1])
    assert_spikes_equal(trace, "exc", np.rint(exc[0] * 1000).astype(np.int64), exc[1])
    joined = "\n".join(result.interpretations)
    assert "two.h5:/spikes/exc: sorting written as the string 'by_time' instead of the spec's enum" in joined
    assert "two.h5:/spikes/inh: time units 'milliseconds' read as ms" in joined


@pytest.mark.parametrize("units, scale", [("s", 1e-3), ("ms", 1.0), (None, 1.0)])
def test_time_units_in_seconds_milliseconds_or_missing_give_the_same_spike_ticks(tmp_path, units, scale):
    steps = np.array([0, 3, 7, 7, 120, 99_999])
    ids = np.array([4, 0, 1, 2, 4, 3])
    times = steps / 10 * scale  # 0.1 ms steps, written in the file's unit
    source = current_file(tmp_path / "u.h5", {"p": (times, ids)}, units=units)
    result = convert_sonata(source, tmp_path / "u.trace")
    assert result.resolution == pytest.approx(1e-4)
    trace = snntrace.open_trace(tmp_path / "u.trace")
    assert_spikes_equal(trace, "p", steps, ids)
    if units is None:
        assert any("no time units attribute; assumed ms" in note for note in result.interpretations)


def test_legacy_gids_layout_becomes_one_population_named_after_the_file(tmp_path):
    times, ids = random_spikes(3, 400, 9)
    source = legacy_file(tmp_path / "exc_spike_trains.h5", times, ids)
    result = convert_sonata(source, tmp_path / "legacy.trace")
    assert result.spikes == {"exc_spike_trains": 400}
    assert (
        "exc_spike_trains.h5: legacy layout /spikes/{gids, timestamps}; population named 'exc_spike_trains'"
        in result.interpretations
    )
    named = convert_sonata(source, tmp_path / "named.trace", legacy_population="lgn")
    assert named.spikes == {"lgn": 400}
    assert_spikes_equal(snntrace.open_trace(tmp_path / "named.trace"), "lgn", np.rint(times * 10).astype(np.int64), ids)


def test_legacy_and_current_files_convert_together_into_one_trace(tmp_path):
    a = current_file(tmp_path / "a.h5", {"v1": random_spikes(4, 100, 10)}, sorting="by_id")
    b = legacy_file(tmp_path / "b.h5", *random_spikes(5, 50, 5))
    result = convert_sonata([a, b], tmp_path / "ab.trace", legacy_population="lgn")
    assert spike_counts(tmp_path / "ab.trace") == {"v1": 100, "lgn": 50}
    assert any("sorting says by_id but the spikes are not in node id order" in n for n in result.interpretations)


def test_converted_traces_are_valid(tmp_path):
    source = current_file(tmp_path / "s.h5", {"exc": random_spikes(6, 2000, 50), "inh": random_spikes(7, 300, 10)})
    report = frame_report(tmp_path / "v.h5", "exc", [0, 3, 7], np.random.default_rng(0).normal(-65, 2, (40, 3)))
    convert_sonata([source, report], tmp_path / "valid.trace")
    assert_valid(tmp_path / "valid.trace")


def test_sizes_can_be_given_and_must_hold_every_node_id(tmp_path):
    source = current_file(tmp_path / "s.h5", {"p": (np.array([1.0, 2.0]), np.array([0, 4]))})
    assert convert_sonata(source, tmp_path / "a.trace", sizes={"p": 10}).sizes == {"p": 10}
    with pytest.raises(SonataError, match="size 3 but node id 4 occurs"):
        convert_sonata(source, tmp_path / "b.trace", sizes={"p": 3})


def test_times_off_every_decimal_tick_are_rounded_and_the_rounding_is_reported(tmp_path):
    times = np.sort(np.random.default_rng(8).uniform(0, 100, 50))
    source = current_file(tmp_path / "r.h5", {"p": (times, np.zeros(50))})
    result = convert_sonata(source, tmp_path / "r.trace")
    assert not result.exact and result.resolution == 1e-9
    assert any("rounded to ticks of 1e-9 s" in n for n in result.interpretations)
    ticks = snntrace.open_trace(tmp_path / "r.trace").spikes.select("t").collect()["t"].to_numpy()
    assert np.max(np.abs(ticks * 1e-9 - times * 1e-3)) <= 0.5e-9


def test_the_resolution_rule_takes_the_coarsest_exact_tick_per_series_and_the_finest_of_those():
    assert choose_resolution([(np.array([0.0, 1.0, 250.0]), 3)]).seconds == 1e-3
    assert choose_resolution([(np.array([0.5, 1.25]), 3), (np.array([2.0]), 0)]).seconds == 1e-5
    three_tenths = np.arange(10) * 0.1  # 0.30000000000000004 is how a simulator writes step 3
    assert choose_resolution([(three_tenths, 3)]).exponent == 4


def test_negative_times_are_shifted_to_start_at_zero_and_the_shift_is_reported(tmp_path):
    source = current_file(tmp_path / "n.h5", {"p": (np.array([-2.0, 0.0, 5.0]), np.array([0, 1, 0]))})
    result = convert_sonata(source, tmp_path / "n.trace")
    assert "times start before 0; every time shifted by +0.002 s" in result.interpretations
    assert_spikes_equal(snntrace.open_trace(tmp_path / "n.trace"), "p", [0, 2, 7], [0, 1, 0])


def test_a_membrane_potential_frame_report_becomes_state_samples_in_volts(tmp_path):
    rng = np.random.default_rng(9)
    data = rng.normal(-65, 3, (30, 4)).astype(np.float32)
    source = frame_report(tmp_path / "membrane_potential.h5", "cortex", [2, 5, 6, 9], data, start=10.0, dt=0.5)
    result = convert_sonata(source, tmp_path / "v.trace")
    assert result.states == {"cortex": 120} and result.resolution == 1e-4
    trace = snntrace.open_trace(tmp_path / "v.trace")
    states = trace.states.collect().sort("t", "neuron")
    assert states["t"].to_list()[:4] == [100] * 4 and states["t"].max() == 100 + 29 * 5
    assert states["neuron"].to_list()[:4] == [2, 5, 6, 9]
    np.testing.assert_array_equal(states["value"].to_numpy(), data.astype(np.float64).reshape(-1) * 1e-3)
    declared = trace.recorded["states"][0]
    assert declared == {"population": 0, "variable": "v", "unit": "V", "neurons": [2, 5, 6, 9], "interval": 5}
    assert trace.population("cortex")["size"] == 10


def test_multi_compartment_reports_keep_each_nodes_first_element_and_say_so(tmp_path):
    data = np.arange(12 * 5, dtype=np.float32).reshape(12, 5)
    source = frame_report(
        tmp_path / "cell_vars.h5",
        "bio",
        [0, 1],
        data,
        elements=[3, 2],
        pointer_name="index_pointer",
        units="mM",
        variable="cai",
    )
    result = convert_sonata(source, tmp_path / "c.trace")
    notes = "\n".join(result.interpretations)
    assert "index pointers read from 'index_pointer'" in notes
    assert "kept each node's first element, dropped 3 values per frame" in notes
    states = snntrace.open_trace(tmp_path / "c.trace").states.filter(pl.col("neuron") == 1).collect().sort("t")
    np.testing.assert_array_equal(states["value"].to_numpy(), data[:, 3])
    assert states["variable"].cast(pl.String).unique().to_list() == ["cai"]


def test_exported_spike_files_read_back_with_h5py_identically_and_follow_the_spec(tmp_path):
    steps_a, steps_b = np.array([0, 5, 5, 17, 30]), np.array([2, 2, 9])
    with snntrace.TraceWriter(
        tmp_path / "t.trace",
        name="t",
        time_resolution=1e-4,
        populations=[snntrace.Population("a", 6), snntrace.Population("b", 3)],
    ) as writer:
        writer.write_spikes(
            np.concatenate([steps_a, steps_b]), np.array([0] * 5 + [1] * 3), np.array([5, 1, 0, 2, 5, 2, 1, 0])
        )
    result = export_sonata(tmp_path / "t.trace", tmp_path / "out.h5")
    assert result.spikes == {"a": 5, "b": 3}
    with h5py.File(tmp_path / "out.h5", "r") as h5:
        assert h5.attrs["magic"] == 0x0A7A and h5.attrs["magic"].dtype == np.uint32
        assert h5.attrs["version"].tolist() == [0, 1] and h5.attrs["version"].dtype == np.uint32
        assert sorted(h5["spikes"]) == ["a", "b"]
        a = h5["spikes/a"]
        assert h5py.check_enum_dtype(h5py.h5a.open(a.id, b"sorting").dtype) == {"none": 0, "by_id": 1, "by_time": 2}
        assert int(a.attrs["sorting"]) == 2
        assert a["timestamps"].dtype == np.float64 and a["node_ids"].dtype == np.uint64
        assert a["timestamps"].attrs["units"] == "ms"
        assert a["timestamps"][()].tolist() == [0.0, 0.5, 0.5, 1.7, 3.0]
        assert a["node_ids"][()].tolist() == [5, 0, 1, 2, 5]  # by time, then node id
        assert h5["spikes/b/timestamps"][()].tolist() == [0.2, 0.2, 0.9]
        assert h5["spikes/b/node_ids"][()].tolist() == [1, 2, 0]


def test_a_sonata_file_survives_import_and_export_bit_for_bit(tmp_path):
    steps, ids = (
        np.sort(np.random.default_rng(10).integers(0, 50_000, 4000)),
        np.random.default_rng(11).integers(0, 300, 4000),
    )
    order = np.lexsort((ids, steps))
    times, ids = steps[order] / 10, ids[order]  # decimal ms, as a writer computing k / 10 stores them
    lgn_order = np.lexsort((ids[:100] % 7, times[:100]))
    lgn = (times[:100][lgn_order], (ids[:100] % 7)[lgn_order])
    source = current_file(tmp_path / "in.h5", {"v1": (times, ids), "lgn": lgn})
    convert_sonata(source, tmp_path / "in.trace")
    export = export_sonata(tmp_path / "in.trace", tmp_path / "out.h5")
    assert export.losses == ["run name, simulator, producer, creation time and annotations"]
    with h5py.File(source, "r") as before, h5py.File(tmp_path / "out.h5", "r") as after:
        for population in ("v1", "lgn"):
            for name in ("timestamps", "node_ids"):
                np.testing.assert_array_equal(
                    after[f"spikes/{population}/{name}"][()], before[f"spikes/{population}/{name}"][()]
                )


def test_export_lists_what_sonata_cannot_hold(synthetic_trace, tmp_path):
    result = export_sonata(synthetic_trace, tmp_path / "synthetic.h5")
    losses = "\n".join(result.losses)
    for expected in (
        "states table",
        "weights table",
        "samples table",
        "metrics table",
        "events table",
        "1 projection declaration(s)",
        "dataset description",
        "population roles, shapes and models of input, excitatory",
        "populations whose spikes were not recorded: input",
    ):
        assert expected in losses
    again = convert_sonata(tmp_path / "synthetic.h5", tmp_path / "again.trace", sizes={"excitatory": 100})
    original = snntrace.open_trace(synthetic_trace).spikes.select("t", "neuron").collect().sort("t", "neuron")
    back = snntrace.open_trace(tmp_path / "again.trace").spikes.select("t", "neuron").collect().sort("t", "neuron")
    assert again.resolution == pytest.approx(1e-4) and back.equals(original)


def test_unreadable_or_empty_files_raise_sonata_errors(tmp_path):
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(SonataError, match="cannot open as HDF5") as error:
        convert_sonata(tmp_path / "text.h5", tmp_path / "x.trace")
    assert error.value.code == "SN002"
    with h5py.File(tmp_path / "empty.h5", "w") as h5:
        h5.create_group("nodes")
    with pytest.raises(SonataError, match="no /spikes or /report group"):
        convert_sonata(tmp_path / "empty.h5", tmp_path / "y.trace")
    bad = current_file(tmp_path / "bad.h5", {"p": (np.array([1.0]), np.array([0]))}, units="fortnights")
    with pytest.raises(SonataError, match="unknown time units 'fortnights'"):
        convert_sonata(bad, tmp_path / "z.trace")


def test_the_convert_and_export_commands_print_interpretations_and_losses(tmp_path):
    source = current_file(tmp_path / "s.h5", {"p": (np.array([1.0, 2.5]), np.array([0, 3]))}, as_string=True)
    runner = CliRunner()
    converted = runner.invoke(cli, ["convert", "sonata", str(source), "-o", str(tmp_path / "s.trace")])
    assert converted.exit_code == 0, converted.output
    assert "p: size 4, 2 spikes" in converted.stdout
    assert "sorting written as the string 'by_time' instead of the spec's enum" in converted.stdout
    exported = runner.invoke(cli, ["export", "sonata", str(tmp_path / "s.trace"), "-o", str(tmp_path / "o.h5")])
    assert exported.exit_code == 0, exported.output
    assert "p: 2 spikes" in exported.stdout and "not exported" in exported.stdout
    again = runner.invoke(cli, ["export", "sonata", str(tmp_path / "s.trace"), "-o", str(tmp_path / "o.h5")])
    assert again.exit_code == 2 and "SN006" in again.stderr and "--force" in again.stderr
    broken = runner.invoke(cli, ["convert", "sonata", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "m.trace")])
    assert broken.exit_code == 2 and "SN002" in broken.stderr


def test_libsonata_reads_exported_files_with_the_same_spikes_and_sorting(tmp_path):
    import libsonata  # BlueBrain's reader, in the test extra: a missing install must fail, not skip

    times, ids = random_spikes(12, 1000, 40)
    source = current_file(tmp_path / "s.h5", {"v1": (times, ids), "lgn": random_spikes(13, 200, 5)})
    convert_sonata(source, tmp_path / "s.trace")
    for sorting in ("by_time", "by_id"):
        export_sonata(tmp_path / "s.trace", tmp_path / f"{sorting}.h5", sorting=sorting)
        reader = libsonata.SpikeReader(str(tmp_path / f"{sorting}.h5"))
        assert sorted(reader.get_population_names()) == ["lgn", "v1"]
        population = reader["v1"]
        assert population.sorting == sorting
        node_ids, timestamps = population.get_dict()["node_ids"], population.get_dict()["timestamps"]
        expected = sorted(zip(np.rint(times * 10).astype(int).tolist(), ids.tolist()))
        assert (
            sorted(zip(np.rint(np.asarray(timestamps) * 10).astype(int).tolist(), np.asarray(node_ids).tolist()))
            == expected
        )


def test_regular_state_samples_export_as_frame_reports_and_import_back(tmp_path):
    rng = np.random.default_rng(14)
    ticks = np.arange(0, 500, 10)
    with snntrace.TraceWriter(
        tmp_path / "v.trace", name="v", time_resolution=1e-4, populations=[snntrace.Population("exc", 5)]
    ) as writer:
        writer.record_spikes(["exc"])
        writer.write_spikes([3, 40], "exc", [1, 4])
        writer.record_states("exc", "v", unit="V", neurons=[0, 2, 4], interval=10)
        values = rng.normal(-0.065, 0.003, (len(ticks), 3)).astype(np.float32).astype(np.float64)
        for column, neuron in enumerate([0, 2, 4]):
            writer.write_states(ticks, "exc", neuron, "v", values[:, column])
        writer.write_states([7, 9, 20], "exc", 1, "w", [0.5, 0.25, 0.125])  # uneven: no frame report for w
    result = export_sonata(tmp_path / "v.trace", tmp_path / "spikes.h5", reports=tmp_path / "reports")
    assert result.reports == {"v": tmp_path / "reports" / "v.h5"}
    with h5py.File(tmp_path / "reports" / "v.h5", "r") as h5:
        assert h5["report/exc/data"].dtype == np.float32 and h5["report/exc/data"].shape == (50, 3)
        assert h5["report/exc/mapping/index_pointers"][()].tolist() == [0, 1, 2, 3]
        assert h5["report/exc/mapping/time"][()].tolist() == [0.0, 50.0, 1.0]
    assert "states 'w' of 'exc': sample times are not evenly spaced; not exported" in result.losses
    assert not any(loss.startswith("states table") for loss in result.losses)
    back = convert_sonata(
        [tmp_path / "spikes.h5", tmp_path / "reports" / "v.h5"], tmp_path / "back.trace", sizes={"exc": 5}
    )
    assert back.states == {"exc": 150} and back.resolution == 1e-4
    original = snntrace.open_trace(tmp_path / "v.trace").states.filter(pl.col("variable").cast(pl.String) == "v")
    again = snntrace.open_trace(tmp_path / "back.trace").states
    columns = ["t", "neuron", "value"]
    assert (
        again.select(columns)
        .collect()
        .sort("t", "neuron")
        .equals(original.select(columns).collect().sort("t", "neuron"))
    )


def test_files_laid_out_as_bmtk_writes_them_convert_with_every_drift_named(tmp_path):
    spikes, report, truth = bmtk_like_files(tmp_path, np.random.default_rng(15))
    result = convert_sonata([spikes, report], tmp_path / "bmtk.trace")
    assert result.spikes == {"lgn": 60, "v1": 400} and result.states == {"v1": 4000}
    assert result.resolution == 1e-4
    assert_valid(tmp_path / "bmtk.trace")
    trace = snntrace.open_trace(tmp_path / "bmtk.trace")
    for name in ("v1", "lgn"):
        times, ids = truth[name]
        assert_spikes_equal(trace, name, np.rint(times * 10).astype(np.int64), ids)
    states = trace.states.collect().sort("t", "neuron")
    assert states["t"].to_list()[-1] == 999 and trace.recorded["states"][0]["interval"] == 1
    np.testing.assert_array_equal(states["value"].to_numpy(), truth["values"].reshape(-1) * 1e-3)
    notes = "\n".join(result.interpretations)
    for drift in (
        "sorting written as the string 'by_time'",
        "index pointers read from 'index_pointer'",
        "mapping/time: no time units attribute; assumed ms",
        "read from the 'variable' attribute",
        "spikes.h5:/spikes/v1: node ids stored as int64 (the spec says uint64)",
    ):
        assert drift in notes


@settings(max_examples=60, deadline=None)
@given(
    digits=st.integers(0, 6),
    steps=st.lists(st.integers(0, 10**9), min_size=1, max_size=50),
    unit=st.sampled_from([0, 3]),
)
def test_decimal_times_get_a_tick_no_finer_than_their_digits_and_come_back_exactly(digits, steps, unit):
    # Times written as k / 10**digits in the file's unit (s or ms), as a writer printing decimals stores them.
    values = np.array(steps, dtype=np.float64) / 10**digits
    chosen = choose_resolution([(values, unit)])
    assert chosen.exact and chosen.exponent <= unit + digits
    ticks = to_ticks(values, unit, chosen, chosen.series[0])
    np.testing.assert_array_equal(ticks, np.array(steps, dtype=np.int64) * 10 ** (chosen.exponent - unit - digits))


def test_export_says_when_a_reimport_would_infer_a_coarser_tick(tmp_path):
    with snntrace.TraceWriter(
        tmp_path / "c.trace", name="c", time_resolution=1e-4, populations=[snntrace.Population("p", 2)]
    ) as writer:
        writer.write_spikes([0, 10, 30], "p", [0, 1, 0])  # every spike on a whole millisecond
    losses = export_sonata(tmp_path / "c.trace", tmp_path / "c.h5").losses
    assert "time resolution 0.0001 s (SONATA stores float ms; a reimport infers 0.001 s)" in losses
    assert convert_sonata(tmp_path / "c.h5", tmp_path / "back.trace").resolution == 1e-3
