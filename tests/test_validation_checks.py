"""Each check: a failing case compared as a whole Finding (code, severity, message, location), and passing cases."""

from __future__ import annotations

import pytest

from snntrace.validation import Finding, Location, Severity, validate

from _validation_fixtures import CORPUS, copy_case, edit_manifest, write_part

ERROR, WARNING = Severity.ERROR, Severity.WARNING

# The single finding each invalid conformance case produces (reviewed by hand: message and location are the contract
# a simulator author reads).
EXPECTED = {
    'duplicate_population_id': Finding('MF007', ERROR, 'population id 0 is already used by populations[0]', Location(file='manifest.json', pointer='/populations/1/id')),
    'duplicate_projection_name': Finding('MF008', ERROR, "projection name 'input->out' is already used by projections[0]", Location(file='manifest.json', pointer='/projections/1/name')),
    'label_outside_classes': Finding('SM002', ERROR, '1 prediction(s) outside 0..2 (dataset.classes has 3); first: 3', Location(file='samples/part-000000.parquet', table='samples', part='part-000000.parquet', row=1, column='prediction')),
    'manifest_bad_created': Finding('MF003', ERROR, "'yesterday' is not a 'date-time'", Location(file='manifest.json', pointer='/created')),
    'manifest_missing_required': Finding('MF003', ERROR, "'time' is a required property", Location(file='manifest.json', pointer='')),
    'manifest_unknown_key': Finding('MF003', ERROR, "Additional properties are not allowed ('provenance' was unexpected)", Location(file='manifest.json', pointer='')),
    'manifest_wrong_type': Finding('MF003', ERROR, "'3' is not of type 'integer'", Location(file='manifest.json', pointer='/populations/1/size')),
    'missing_required_column': Finding('TB002', ERROR, "required column 'neuron' (uint32) is missing", Location(file='spikes/part-000000.parquet', table='spikes', part='part-000000.parquet', column='neuron')),
    'negative_time': Finding('VL002', ERROR, '1 t value(s) outside the run [0, 100]; first: -1', Location(file='events/part-000000.parquet', table='events', part='part-000000.parquet', row=0, column='t')),
    'neuron_beyond_size': Finding('ID002', ERROR, '1 row(s) have a neuron beyond its population; first: neuron 3 of population 1 (size 3)', Location(file='spikes/part-000000.parquet', table='spikes', part='part-000000.parquet', row=3, column='neuron')),
    'non_finite_value': Finding('VL001', ERROR, "2 non-finite value(s) in 'weight'; first: nan", Location(file='weights/part-000000.parquet', table='weights', part='part-000000.parquet', row=1, column='weight')),
    'null_in_required_column': Finding('TB004', ERROR, "1 null(s) in non-nullable column 'value'", Location(file='states/part-000000.parquet', table='states', part='part-000000.parquet', row=1, column='value')),
    'payload_not_object': Finding('EV001', ERROR, 'payload must be a JSON object, got list', Location(file='events/part-000000.parquet', table='events', part='part-000000.parquet', row=0, column='payload')),
    'projection_unknown_end': Finding('MF009', ERROR, "projection 'input->out': post 9 is not a population id (declared: 0, 1)", Location(file='manifest.json', pointer='/projections/0/post')),
    'prune_payload_missing_field': Finding('EV002', ERROR, "prune payload at /: 'remaining' is a required property", Location(file='events/part-000000.parquet', table='events', part='part-000000.parquet', row=0, column='payload')),
    'recorded_unknown_population': Finding('MF011', ERROR, 'recorded spikes of population 4, which is not declared', Location(file='manifest.json', pointer='/recorded/spikes/2')),
    'sample_window_reversed': Finding('SM001', ERROR, '1 sample(s) with t_end < t_start; first: [50, 40)', Location(file='samples/part-000000.parquet', table='samples', part='part-000000.parquet', row=1, column='t_end')),
    'shape_size_mismatch': Finding('MF010', ERROR, "population 'input': shape [3, 2] holds 6 neurons, size is 4", Location(file='manifest.json', pointer='/populations/0/shape')),
    'spike_count_zero': Finding('VL004', ERROR, '1 row(s) with count 0', Location(file='spikes/part-000000.parquet', table='spikes', part='part-000000.parquet', row=2, column='count')),
    'synapse_beyond_projection_end': Finding('ID004', ERROR, '1 row(s) have post beyond the post population of their projection; first: post 3 in projection 0 (post population size 3)', Location(file='weights/part-000000.parquet', table='weights', part='part-000000.parquet', row=1, column='post')),
    'time_after_duration': Finding('VL002', ERROR, '1 t value(s) outside the run [0, 100]; first: 101', Location(file='states/part-000000.parquet', table='states', part='part-000000.parquet', row=3, column='t')),
    'unknown_population_id': Finding('ID001', ERROR, '1 row(s) refer to undeclared population id(s) [5] (declared: 0, 1)', Location(file='metrics/part-000000.parquet', table='metrics', part='part-000000.parquet', row=0, column='population')),
    'unknown_projection_id': Finding('ID003', ERROR, '1 row(s) refer to undeclared projection id(s) [7] (declared: 0)', Location(file='events/part-000000.parquet', table='events', part='part-000000.parquet', row=0, column='projection')),
    'unsorted_across_parts': Finding('TB007', ERROR, 't 15 is before 20, the last value of part-000000.parquet', Location(file='spikes/part-000001.parquet', table='spikes', part='part-000001.parquet', row=0, column='t')),
    'unsorted_within_part': Finding('TB006', ERROR, 't decreases at 1 row(s); first 3 after 5', Location(file='spikes/part-000000.parquet', table='spikes', part='part-000000.parquet', row=4, column='t')),
    'version_major_2': Finding('MF004', ERROR, 'trace follows spec 2.0; this reader supports 1.x only, so no other check ran', Location(file='manifest.json', pointer='/snntrace')),
    'version_malformed': Finding('MF004', ERROR, '\'snntrace\' must be the spec version as "MAJOR.MINOR" (this reader: 1.0), got \'v1\'', Location(file='manifest.json', pointer='/snntrace')),
    'well_known_metric_out_of_range': Finding('VL005', ERROR, '1 accuracy value(s) outside [0.0, 1.0]; first: 1.5', Location(file='metrics/part-000000.parquet', table='metrics', part='part-000000.parquet', row=1, column='value')),
    'wrong_column_type': Finding('TB003', ERROR, "column 'neuron' is int64, the spec requires uint32", Location(file='spikes/part-000000.parquet', table='spikes', part='part-000000.parquet', column='neuron')),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_invalid_case_produces_exactly_this_finding(case):
    assert validate(CORPUS / "invalid" / case / "trace").findings == [EXPECTED[case]]


def test_a_full_valid_trace_produces_no_finding():
    assert validate(CORPUS / "valid" / "full" / "trace").findings == []


def test_the_writers_synthetic_trace_is_valid(synthetic_trace):
    result = validate(synthetic_trace)
    assert result.findings == [] and result.complete is True


def test_a_negative_time_is_an_error_even_in_an_incomplete_trace(tmp_path):
    trace = copy_case("incomplete", tmp_path / "t")
    write_part(trace, "events", 0, {"t": [-3], "kind": ["prune"], "payload": ['{"before": 1, "remaining": 1, "threshold": 0}']})
    assert [(f.code, f.severity) for f in validate(trace)] == [("TR001", WARNING), ("VL002", ERROR)]


def test_late_times_are_errors_once_the_trace_is_complete(tmp_path):
    trace = copy_case("incomplete_killed_between_part_and_manifest", tmp_path / "t")
    assert validate(trace).ok
    edit_manifest(trace, complete=True)
    assert validate(trace).codes == ["RC001", "VL002"]


def test_neurons_are_checked_against_the_size_of_their_own_population(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    # neuron 3 is fine in population 0 (size 4) and out of range in population 1 (size 3)
    write_part(trace, "spikes", 0, {"t": [0, 1, 2], "population": [0, 1, 1], "neuron": [3, 2, 3]})
    assert validate(trace).findings == [
        Finding(
            "ID002",
            ERROR,
            "1 row(s) have a neuron beyond its population; first: neuron 3 of population 1 (size 3)",
            Location(file="spikes/part-000000.parquet", table="spikes", part="part-000000.parquet", row=2, column="neuron"),
        )
    ]


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("reinforce", '{"threshold": 0.1, "synapses": 3}', "reinforce payload at /: 'beta' is a required property"),
        ("epoch_end", '{"epoch": -1}', "epoch_end payload at /epoch: -1 is less than the minimum of 0"),
        ("prune", '{"before": 2, "remaining": "1", "threshold": 0.1}', "prune payload at /remaining: '1' is not of type 'integer'"),
    ],
)
def test_well_known_event_payloads_follow_their_schema(tmp_path, kind, payload, message):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, recorded={"events": [kind], "spikes": [0, 1], "states": [{"population": 1, "variable": "v"}],
                                   "weights": [{"projection": 0}], "samples": True, "metrics": ["accuracy"]})
    write_part(trace, "events", 0, {"t": [5], "kind": [kind], "payload": [payload]})
    assert validate(trace).findings == [
        Finding("EV002", ERROR, message, Location(file="events/part-000000.parquet", table="events", part="part-000000.parquet", row=0, column="payload"))
    ]


def test_undeclared_data_is_reported_once_per_value_across_parts(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, recorded={"spikes": [0]})
    write_part(trace, "spikes", 1, {"t": [60, 70], "population": [1, 1], "neuron": [0, 1]})
    spikes = [f for f in validate(trace) if f.code == "RC001" and f.location.table == "spikes"]
    assert spikes == [
        Finding(
            "RC001",
            ERROR,
            "spikes of population 1 present but not declared in manifest 'recorded', so readers would treat it as not recorded",
            Location(file="spikes/part-000000.parquet", table="spikes", part="part-000000.parquet", row=1, column="population"),
        )
    ]


def test_recorded_but_silent_populations_are_valid(tmp_path):
    trace = copy_case("recorded_but_silent", tmp_path / "t")
    assert validate(trace, strict=True).ok


def test_an_unknown_nested_key_of_a_newer_minor_version_is_a_warning_with_its_pointer(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, snntrace="1.2", time={"resolution": 0.001, "duration": 100, "origin": "2026-01-01"})
    assert [(f.code, f.location.pointer) for f in validate(trace)] == [("MF005", "/snntrace"), ("MF006", "/time/origin")]


def test_the_same_key_in_a_trace_of_this_version_is_a_schema_error(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, time={"resolution": 0.001, "duration": 100, "origin": "2026-01-01"})
    assert [(f.code, f.location.pointer) for f in validate(trace)] == [("MF003", "/time")]


def test_a_column_with_the_wrong_type_is_not_read_so_it_cannot_cascade(tmp_path):
    trace = copy_case("wrong_column_type", tmp_path / "t", kind="invalid")
    assert validate(trace).codes == ["TB003"]


def test_created_must_carry_a_time_zone(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, created="2026-01-01T00:00:00")
    assert [(f.code, f.message) for f in validate(trace)] == [("MF003", "'2026-01-01T00:00:00' is not a 'date-time'")]
    edit_manifest(trace, created="2026-01-01T00:00:00+02:00")
    assert validate(trace).findings == []
