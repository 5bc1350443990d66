"""open_trace: the manifest at once, tables as LazyFrames over complete parts, incomplete traces readable."""

from __future__ import annotations

import polars as pl
import pytest

import snntrace as st

from _validation_fixtures import CORPUS, copy_case

VALID = CORPUS / "valid"


def test_tables_are_lazy_and_read_nothing_until_collected(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    opened = st.open_trace(trace)
    spikes = opened.spikes
    assert isinstance(spikes, pl.LazyFrame)
    (trace / "spikes" / "part-000000.parquet").unlink()  # a LazyFrame over the parts reads them only on collect
    with pytest.raises(Exception):
        spikes.collect()


def test_parts_concatenate_in_sequence_order_and_temporaries_are_skipped():
    trace = st.open_trace(VALID / "multiple_parts" / "trace")
    assert [p.name for p in trace.parts("spikes")] == [f"part-00000{i}.parquet" for i in range(4)]
    spikes = trace.spikes.collect()
    assert spikes["t"].to_list() == [0, 1, 5, 5, 5, 9, 9, 100]
    assert spikes["count"].to_list() == [1, 1, 1, 1, 2, 1, 1, 1]  # absent count column reads as 1
    hidden = st.open_trace(VALID / "temporaries_and_lock_ignored" / "trace")
    assert [p.name for p in hidden.parts("spikes")] == ["part-000000.parquet"]


def test_every_spec_column_is_present_even_when_a_part_omits_an_optional_one():
    samples = st.open_trace(VALID / "nullable_columns" / "trace").samples.collect()
    assert samples.columns == ["index", "t_start", "t_end", "label", "split", "prediction"]
    assert samples["prediction"].to_list() == [None, None]
    assert samples["label"].to_list() == [None, 1]


def test_unknown_columns_of_a_newer_minor_version_are_ignored():
    spikes = st.open_trace(VALID / "newer_minor_version" / "trace").spikes.collect()
    assert spikes.columns == ["t", "population", "neuron", "count"]
    assert spikes.height == 6


def test_a_table_with_no_parts_is_an_empty_frame_with_the_spec_schema():
    trace = st.open_trace(VALID / "minimal" / "trace")
    weights = trace.weights.collect()
    assert weights.height == 0
    assert dict(weights.schema) == {"t": pl.Int64, "projection": pl.UInt16, "pre": pl.UInt32, "post": pl.UInt32, "weight": pl.Float64}
    assert not trace.has_rows("weights")


def test_an_incomplete_trace_opens_with_every_complete_part():
    trace = st.open_trace(VALID / "incomplete" / "trace")
    assert trace.complete is False
    assert trace.spikes.select(pl.len()).collect().item() == 6


def test_manifest_facts_are_available_without_reading_tables():
    trace = st.open_trace(VALID / "full" / "trace")
    assert (trace.name, trace.resolution, trace.duration_ticks, trace.duration) == ("conformance case", 0.001, 100, 0.1)
    assert trace.population("out")["size"] == 3 and trace.population(0)["name"] == "input"
    assert trace.population_names == {0: "input", 1: "out"}
    assert trace.projection_names == {0: "input->out"}
    assert trace.classes == ["a", "b", "c"]
    assert trace.recorded["spikes"] == [0, 1]
    with pytest.raises(KeyError, match="populations: input, out"):
        trace.population("hidden")


def test_a_directory_without_manifest_is_not_a_trace(tmp_path):
    with pytest.raises(st.TraceNotFoundError) as info:
        st.open_trace(tmp_path)
    assert info.value.code == "IO001"
    with pytest.raises(st.TraceNotFoundError):
        st.open_trace(tmp_path / "missing")


def test_a_manifest_that_is_not_json_names_line_and_column():
    with pytest.raises(st.ManifestError) as info:
        st.open_trace(CORPUS / "invalid" / "manifest_not_json" / "trace")
    assert info.value.code == "MF002"
    assert info.value.location.endswith("manifest.json:1:29")


def test_unknown_tables_are_refused_with_the_known_names():
    with pytest.raises(KeyError, match="tables are spikes, states"):
        st.open_trace(VALID / "full" / "trace").table("videos")
