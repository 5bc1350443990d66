"""TraceWriter: parts appear atomically, memory stays bounded, the manifest says what was recorded."""

from __future__ import annotations

import json

import numpy as np
import pytest

import snntrace as st
from snntrace.writer import TraceWriter

POPULATIONS = [st.Population("input", 4, role="input"), st.Population("out", 3, role="output")]
PROJECTIONS = [st.Projection("in->out", "input", "out", synapses=12, plastic=True)]


def make_writer(path, **kwargs):
    return TraceWriter(path, name="t", time_resolution=1e-3, populations=POPULATIONS, projections=PROJECTIONS, **kwargs)


def test_rows_buffered_together_are_sorted_by_time(tmp_path):
    with make_writer(tmp_path / "a") as w:
        w.write_spikes([5, 1], "out", [0, 1])
        w.write_spikes([3], "input", [2])
    spikes = st.open_trace(tmp_path / "a").spikes.collect()
    assert spikes["t"].to_list() == [1, 3, 5]
    assert spikes["population"].to_list() == [1, 0, 1]
    assert spikes["count"].to_list() == [1, 1, 1]


def test_small_part_size_writes_several_parts_that_read_back_in_order(tmp_path):
    with make_writer(tmp_path / "a", part_rows={"spikes": 10}) as w:
        for chunk in range(5):
            w.write_spikes(np.arange(chunk * 10, chunk * 10 + 10), "out", np.arange(10) % 3)
    trace = st.open_trace(tmp_path / "a")
    assert len(trace.parts("spikes")) == 5
    assert trace.spikes.collect()["t"].to_list() == list(range(50))


def test_rows_arriving_after_a_later_part_are_refused_with_a_code(tmp_path):
    with pytest.raises(st.TraceWriteError) as info:
        with make_writer(tmp_path / "a", part_rows={"spikes": 2}) as w:
            w.write_spikes([10, 11], "out", [0, 1])
            w.write_spikes([3, 4], "out", [0, 1])
    assert info.value.code == "WR004"
    trace = st.open_trace(tmp_path / "a")
    assert not trace.complete
    assert trace.spikes.collect()["t"].to_list() == [10, 11]


def test_neuron_beyond_population_size_is_refused(tmp_path):
    with make_writer(tmp_path / "a") as w, pytest.raises(st.TraceWriteError) as info:
        w.write_spikes([1], "out", [3])
    assert info.value.code == "WR013"


def test_unknown_population_names_the_declared_ones(tmp_path):
    with make_writer(tmp_path / "a") as w, pytest.raises(st.TraceWriteError, match="declared: input, out"):
        w.write_spikes([1], "hidden", [0])


def test_recorded_populations_without_spikes_are_declared_in_the_manifest(tmp_path):
    with make_writer(tmp_path / "a") as w:
        w.record_spikes(["input", "out"])
        w.write_spikes([1], "out", [0])
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["recorded"]["spikes"] == [0, 1]
    assert manifest["complete"] is True
    assert manifest["time"]["duration"] == 1


def test_a_non_empty_directory_is_not_overwritten_without_permission(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("keep me")
    with pytest.raises(st.TraceWriteError) as info:
        make_writer(tmp_path / "a")
    assert info.value.code == "WR003"
    with pytest.raises(st.TraceWriteError):
        make_writer(tmp_path / "a", overwrite=True)  # holds no trace: refuse to delete it
    assert (tmp_path / "a" / "notes.txt").read_text() == "keep me"


def test_a_second_writer_on_the_same_directory_is_refused(tmp_path):
    with make_writer(tmp_path / "a"):
        with pytest.raises(st.TraceLockedError):
            make_writer(tmp_path / "a", overwrite=True)


def test_a_failing_run_keeps_its_rows_and_is_marked_incomplete(tmp_path):
    with pytest.raises(RuntimeError):
        with make_writer(tmp_path / "a") as w:
            w.write_spikes([1, 2], "out", [0, 1])
            raise RuntimeError("simulation crashed")
    trace = st.open_trace(tmp_path / "a")
    assert trace.complete is False
    assert trace.spikes.collect().height == 2


def test_every_table_round_trips(tmp_path):
    with make_writer(tmp_path / "a", dataset=st.Dataset("d", classes=("a", "b"))) as w:
        w.write_spikes([1, 2], "out", [0, 2], count=[1, 3])
        w.write_states([0, 10], "out", 1, "v", [-0.07, -0.06])
        w.write_weights(5, "in->out", [0, 3], [1, 2], [0.25, 0.5])
        w.write_samples([0, 1], [0, 10], [10, 20], [0, 1], "train", prediction=[0, 0])
        w.write_metric("accuracy", 0.5, step=1)
        w.write_event("prune", 5, {"threshold": 0.1, "before": 12, "remaining": 10}, projection="in->out")
    trace = st.open_trace(tmp_path / "a")
    assert trace.spikes.collect()["count"].to_list() == [1, 3]
    assert trace.states.collect()["value"].to_list() == [-0.07, -0.06]
    assert trace.weights.collect().select("pre", "post", "weight").rows() == [(0, 1, 0.25), (3, 2, 0.5)]
    assert trace.samples.collect()["prediction"].to_list() == [0, 0]
    assert trace.metrics.collect()["t"].to_list() == [None]
    assert json.loads(trace.events.collect()["payload"][0]) == {"before": 12, "remaining": 10, "threshold": 0.1}
    assert trace.duration_ticks == 20


def test_seconds_convert_to_ticks_by_rounding(tmp_path):
    with make_writer(tmp_path / "a") as w:
        assert w.to_ticks([0.0004, 0.0016, 1.0]).tolist() == [0, 2, 1000]


def test_a_batch_holds_part_flushes_so_populations_of_one_chunk_may_interleave(tmp_path):
    with make_writer(tmp_path / "a", part_rows={"spikes": 3}) as w:
        for start in (0, 10):
            with w.batch():
                w.write_spikes(np.arange(start, start + 5), "out", 0)
                w.write_spikes(np.arange(start, start + 5), "input", 1)
    trace = st.open_trace(tmp_path / "a")
    assert len(trace.parts("spikes")) == 2
    assert trace.spikes.collect()["t"].to_list() == sorted(list(range(5)) * 2 + list(range(10, 15)) * 2)


def test_without_a_batch_interleaved_populations_across_a_flush_are_refused(tmp_path):
    with pytest.raises(st.TraceWriteError) as info, make_writer(tmp_path / "a", part_rows={"spikes": 3}) as w:
        w.write_spikes(np.arange(5), "out", 0)
        w.write_spikes(np.arange(5), "input", 1)
    assert info.value.code == "WR004"


def test_a_producer_may_reuse_its_arrays_after_writing_them(tmp_path):
    buffer = np.array([1, 2, 3])
    with make_writer(tmp_path / "a") as w:
        w.write_spikes(buffer, "out", [0, 1, 2])
        buffer[:] = [7, 8, 9]
        w.write_spikes(buffer, "out", [0, 1, 2])
    assert st.open_trace(tmp_path / "a").spikes.collect()["t"].to_list() == [1, 2, 3, 7, 8, 9]


def test_spikes_with_and_without_counts_share_a_part_and_missing_counts_are_one(tmp_path):
    with make_writer(tmp_path / "a") as w:
        w.write_spikes([1], "out", [0])
        w.write_spikes([2], "out", [1], count=4)
        w.write_metric("accuracy", 0.5, step=1)
        w.write_metric("threshold", 0.1, step=1, projection="in->out")
    trace = st.open_trace(tmp_path / "a")
    assert trace.spikes.collect()["count"].to_list() == [1, 4]
    assert trace.metrics.collect()["projection"].to_list() == [None, 0]
