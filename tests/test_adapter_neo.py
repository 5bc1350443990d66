"""The Neo adapter on real pyNN.brian2 output: in-memory blocks and write_data files (pickle, NIX) become traces
holding exactly the Neo data, with segments laid end to end and values in SI units."""

from __future__ import annotations

import json
import pickle

import neo
import numpy as np
import polars as pl
import pytest
import quantities as pq
from _pynn_fixtures import DT, GSYN_INTERVAL, N_EXC, N_INH, N_INPUT, brian2_numpy, build_network
from adapter_checks import assert_report_renders, assert_spikes_equal, assert_valid
from click.testing import CliRunner
from snntrace.adapters.neo import NeoConversionError, block_info, convert_blocks, convert_file, read_blocks, si_factor

import snntrace
from snntrace.cli import cli

pytestmark = pytest.mark.simulator

RUN = 120.0  # ms per segment
RESOLUTION = DT * 1e-3
LABELS = ("input", "exc", "inh")


@pytest.fixture(scope="module")
def pynn_run(tmp_path_factory):
    """One E/I network run twice with a reset in between (two segments); blocks in memory and written to files."""
    import pyNN.brian2 as sim

    root = tmp_path_factory.mktemp("neo")
    with brian2_numpy(root / "work"):
        net = build_network(sim)
        sim.run(RUN)
        sim.reset()
        sim.run(RUN)
        blocks = {label: net[label].get_data() for label in LABELS}
        files = {}
        for suffix in ("pkl", "nix"):
            files[suffix] = []
            for label in LABELS:
                path = root / f"{label}.{suffix}"
                net[label].write_data(str(path))
                files[suffix].append(path)
        sim.end()
    memory = convert_blocks([blocks[label] for label in LABELS], root / "memory.trace", name="ei")
    return {"root": root, "blocks": blocks, "files": files, "memory": memory}


def _segment_offsets(blocks) -> list[int]:
    """Offsets the adapter must use: each segment starts where the longest object of the previous one stopped."""
    offsets, end = [], 0
    n_segments = len(blocks["exc"].segments)
    for index in range(n_segments):
        objects = [o for b in blocks.values() for o in b.segments[index].spiketrains + b.segments[index].analogsignals]
        start = min(int(np.rint(o.t_start.rescale("s").magnitude / RESOLUTION)) for o in objects)
        stop = max(int(np.rint(o.t_stop.rescale("s").magnitude / RESOLUTION)) for o in objects)
        offsets.append(max(0, end - start))
        end = offsets[-1] + stop
    return offsets


def _expected_spikes(block, offsets):
    ticks, neurons = [], []
    for segment, offset in zip(block.segments, offsets):
        for train in segment.spiketrains:
            found = np.rint(train.rescale("s").magnitude / RESOLUTION).astype(np.int64) + offset
            ticks.append(found)
            neurons.append(np.full(found.size, int(train.annotations["source_index"])))
    return np.concatenate(ticks), np.concatenate(neurons)


def _expected_states(block, offsets, variable):
    frames = []
    for segment, offset in zip(block.segments, offsets):
        for signal in segment.analogsignals:
            if signal.name != variable:
                continue
            _factor, unit = si_factor(signal.units.dimensionality.string)
            si = signal.rescale({"V": "V", "S": "S"}[unit]).magnitude
            ticks = np.rint(signal.times.rescale("s").magnitude / RESOLUTION).astype(np.int64) + offset
            channels = np.asarray(signal.array_annotations["channel_index"])
            frames.append(
                pl.DataFrame(
                    {
                        "t": np.repeat(ticks, len(channels)),
                        "neuron": np.tile(channels, len(ticks)).astype(np.uint32),
                        "value": si.reshape(-1),
                    }
                )
            )
    return pl.concat(frames).sort("t", "neuron")


def _states(trace, population, variable):
    pid = trace.population(population)["id"]
    return (
        trace.states.filter((pl.col("population") == pid) & (pl.col("variable") == variable))
        .select("t", "neuron", "value")
        .collect()
        .sort("t", "neuron")
    )


def test_in_memory_blocks_convert_to_a_valid_complete_trace(pynn_run):
    trace = assert_valid(pynn_run["memory"])
    assert trace.resolution == RESOLUTION
    assert [(p["name"], p["size"]) for p in trace.populations] == [("input", N_INPUT), ("exc", N_EXC), ("inh", N_INH)]
    assert trace.manifest["simulator"]["name"] == "Brian2"


def test_spikes_equal_the_neo_spike_trains_in_every_segment(pynn_run):
    trace = snntrace.open_trace(pynn_run["memory"])
    offsets = _segment_offsets(pynn_run["blocks"])
    for label in LABELS:
        ticks, neurons = _expected_spikes(pynn_run["blocks"][label], offsets)
        assert len(ticks) > 0, f"{label} never fired: the network does not exercise the adapter"
        assert_spikes_equal(trace, label, ticks, neurons)


def test_analog_signals_become_states_in_si_units_exactly(pynn_run):
    trace = snntrace.open_trace(pynn_run["memory"])
    offsets = _segment_offsets(pynn_run["blocks"])
    for label, variable in (("exc", "v"), ("inh", "v"), ("inh", "gsyn_exc")):
        expected = _expected_states(pynn_run["blocks"][label], offsets, variable)
        got = _states(trace, label, variable)
        assert got.height == expected.height
        assert got.equals(expected), f"{label}.{variable} differs from the Neo signal"
    volts = _states(trace, "exc", "v")["value"]
    assert -0.08 < volts.min() and volts.max() < -0.04  # volts, not millivolts


def test_units_and_sampling_intervals_are_declared(pynn_run):
    trace = snntrace.open_trace(pynn_run["memory"])
    ids = {p["name"]: p["id"] for p in trace.populations}
    declared = {(s["population"], s["variable"]): s for s in trace.recorded["states"]}
    assert declared[(ids["exc"], "v")]["unit"] == "V" and declared[(ids["exc"], "v")]["interval"] == 1
    gsyn = declared[(ids["inh"], "gsyn_exc")]
    assert gsyn["unit"] == "S" and gsyn["interval"] == round(GSYN_INTERVAL / DT)
    assert gsyn["neurons"] == list(range(N_INH))
    assert sorted(trace.recorded["spikes"]) == sorted(ids.values())


def test_segments_are_laid_end_to_end_and_recorded_in_the_annotations(pynn_run):
    trace = snntrace.open_trace(pynn_run["memory"])
    segments = trace.manifest["annotations"]["neo"]["segments"]
    offsets = _segment_offsets(pynn_run["blocks"])
    assert [s["offset"] for s in segments] == offsets
    # PyNN's analog signals stop one sampling period after the run: the coarsest (gsyn, 0.5 ms) sets the span.
    span = round((RUN + GSYN_INTERVAL) / DT)
    assert offsets == [0, span]
    assert trace.duration_ticks == 2 * span
    # The network is deterministic: after the reset the second segment repeats the first one exactly.
    spikes = trace.spikes.collect()
    first = spikes.filter(pl.col("t") < offsets[1]).sort("t", "population", "neuron")
    second = spikes.filter(pl.col("t") >= offsets[1]).with_columns(pl.col("t") - offsets[1]).sort("t", "population", "neuron")
    assert first.height > 0 and first.equals(second)


def test_pickle_and_nix_files_give_the_same_trace_as_the_blocks_in_memory(pynn_run):
    memory = snntrace.open_trace(pynn_run["memory"])
    for suffix in ("pkl", "nix"):
        path = convert_file(pynn_run["files"][suffix], pynn_run["root"] / f"{suffix}.trace")
        trace = assert_valid(path)
        assert trace.populations == memory.populations
        assert trace.recorded == memory.recorded
        for table in ("spikes", "states"):
            order = ["t", "population", "neuron"] + (["variable"] if table == "states" else [])
            got = trace.table(table).collect().sort(order)
            expected = memory.table(table).collect().sort(order)
            assert got.equals(expected), f"{suffix}: {table} differ from the in-memory conversion"


def test_small_windows_stream_into_many_time_ordered_parts_with_the_same_rows(pynn_run, tmp_path):
    blocks = [pynn_run["blocks"][label] for label in LABELS]
    path = convert_blocks(blocks, tmp_path / "windows.trace", window_rows=2_000)
    trace = assert_valid(path)
    memory = snntrace.open_trace(pynn_run["memory"])
    assert len(trace.parts("states")) > 10
    last = -1
    for part in trace.parts("states"):  # parts follow one another in time
        ticks = pl.read_parquet(part, columns=["t"])["t"]
        assert ticks.min() >= last
        last = ticks.max()
    for table in ("spikes", "states"):
        order = ["t", "population", "neuron"] + (["variable"] if table == "states" else [])
        assert trace.table(table).collect().sort(order).equals(memory.table(table).collect().sort(order))


def test_block_annotations_are_normalised_across_pynn_and_nix_and_spynnaker_layouts(pynn_run):
    info = block_info(pynn_run["blocks"]["exc"])
    assert (info.label, info.size, info.dt_ms) == ("exc", N_EXC, DT)
    nix = read_blocks(pynn_run["files"]["nix"][1])[0]
    nix_info = block_info(nix)
    assert (nix_info.label, nix_info.size, nix_info.first_id, nix_info.dt_ms) == ("exc", N_EXC, info.first_id, DT)
    assert "nix_name" not in nix_info.annotations
    json.dumps(nix_info.annotations)  # numpy scalars were unwrapped
    spynnaker = neo.Block(name="exc", size=3, first_id=4, last_id=(6,), last_index=(3,), simulator="sPyNNaker_under_version(1!7.4.1-Quietly Confident 1)", dt=1.0)
    normalised = block_info(spynnaker)
    assert normalised.annotations["last_id"] == 6 and normalised.annotations["last_index"] == 3
    assert (normalised.simulator.name, normalised.simulator.version) == ("sPyNNaker", "1!7.4.1")


def test_units_normalise_to_si():
    assert si_factor("mV") == (pq.mV.rescale("V").magnitude.item(), "V")
    assert si_factor("nA") == (pytest.approx(1e-9), "A")
    assert si_factor("uS") == (pytest.approx(1e-6), "S")
    assert si_factor("dimensionless") == (1.0, "1")


def test_a_train_without_any_neuron_annotation_is_a_coded_error(tmp_path):
    block = neo.Block(name="p")
    segment = neo.Segment()
    segment.spiketrains.append(neo.SpikeTrain([1.0, 2.0] * pq.ms, t_stop=10 * pq.ms))
    block.segments.append(segment)
    with pytest.raises(NeoConversionError) as error:
        convert_blocks(block, tmp_path / "x.trace")
    assert error.value.code == "NE003"


def test_empty_blocks_and_unreadable_files_are_coded_errors(tmp_path):
    with pytest.raises(NeoConversionError) as empty:
        convert_blocks(neo.Block(), tmp_path / "empty.trace")
    assert empty.value.code == "NE004"
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"not a pickle")
    with pytest.raises(NeoConversionError) as unreadable:
        read_blocks(broken)
    assert unreadable.value.code == "NE002"
    other = tmp_path / "run.csv"
    other.write_text("t,i\n")
    with pytest.raises(NeoConversionError) as unknown:
        read_blocks(other)
    assert unknown.value.code == "NE002" and ".csv" in unknown.value.message
    with pytest.raises(NeoConversionError):
        convert_blocks([pickle], tmp_path / "wrong.trace")


def test_the_same_population_from_two_files_is_refused_not_written_twice(pynn_run, tmp_path):
    files = [pynn_run["files"]["pkl"][1], pynn_run["files"]["nix"][1]]  # exc twice
    with pytest.raises(NeoConversionError) as error:
        convert_file(files, tmp_path / "twice.trace")
    assert error.value.code == "NE005" and "'exc'" in error.value.message


def test_cli_converts_write_data_files_and_refuses_to_overwrite_without_force(pynn_run, tmp_path):
    runner = CliRunner()
    files = [str(p) for p in pynn_run["files"]["pkl"]]
    output = tmp_path / "cli.trace"
    result = runner.invoke(cli, ["convert", "neo", *files, "-o", str(output), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected_spikes = sum(len(t) for s in pynn_run["blocks"]["exc"].segments for t in s.spiketrains)
    assert summary["populations"]["exc"]["spikes"] == expected_spikes
    assert summary["populations"]["inh"]["size"] == N_INH
    again = runner.invoke(cli, ["convert", "neo", *files, "-o", str(output)])
    assert again.exit_code == 2 and "WR003" in again.stderr
    forced = runner.invoke(cli, ["convert", "neo", *files, "-o", str(output), "--force"])
    assert forced.exit_code == 0 and forced.stdout.startswith(f"wrote {output}")
    missing = runner.invoke(cli, ["convert", "neo", str(tmp_path / "nope.nix"), "-o", str(tmp_path / "n.trace")])
    assert missing.exit_code == 2 and "NE002" in missing.stderr


def test_the_report_renders_for_a_converted_pynn_run(pynn_run, tmp_path):
    html = assert_report_renders(pynn_run["memory"], tmp_path / "report.html")
    assert "exc" in html
