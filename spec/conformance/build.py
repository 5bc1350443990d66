#!/usr/bin/env python3
"""Regenerate the conformance corpus: small valid and invalid traces, each with the finding codes it must produce.

    python spec/conformance/build.py

Every case is a trace directory plus ``expected.json`` ({"description", "codes"}): ``valid/`` cases produce no
error (``codes`` lists the warnings they must produce, often none), ``invalid/`` cases produce exactly ``codes``
with at least one error. Traces are written here with pyarrow from the published table specs, not with
snntrace's writer, so the corpus checks the validator against the spec rather than against the writer; one valid
case (``writer_output``) is the writer's own output. Output is deterministic: rerunning changes no byte.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run from a source checkout without installing

from snntrace.format import arrow_schema, parquet_options  # noqa: E402

CREATED = "2026-01-01T00:00:00Z"

BASE_MANIFEST = {
    "snntrace": "1.0",
    "name": "conformance case",
    "created": CREATED,
    "simulator": {"name": "conformance", "version": "1"},
    "producer": {"name": "spec/conformance/build.py", "version": "1"},
    "time": {"resolution": 0.001, "duration": 100},
    "complete": True,
    "populations": [
        {"id": 0, "name": "input", "size": 4, "shape": [2, 2], "role": "input"},
        {"id": 1, "name": "out", "size": 3, "role": "output", "model": {"name": "LIF", "parameters": {"tau_m": 0.02}}},
    ],
    "projections": [{"id": 0, "name": "input->out", "pre": 0, "post": 1, "synapses": 12, "plastic": True, "learning_rule": "stdp"}],
    "dataset": {"name": "toy", "classes": ["a", "b", "c"]},
    "recorded": {
        "spikes": [0, 1],
        "states": [{"population": 1, "variable": "v", "unit": "V", "interval": 10}],
        "weights": [{"projection": 0, "snapshot": "full"}],
        "samples": True,
        "metrics": ["accuracy"],
        "events": ["prune"],
    },
    "annotations": {},
}

PRUNE = '{"before": 12, "remaining": 10, "threshold": 0.1}'
BASE_TABLES = {
    "spikes": [{"t": [0, 1, 1, 5, 10, 50], "population": [0, 1, 0, 1, 1, 0], "neuron": [0, 2, 3, 1, 0, 1]}],
    "states": [{"t": [0, 0, 10, 10], "population": [1, 1, 1, 1], "neuron": [0, 1, 0, 1], "variable": ["v"] * 4, "value": [-0.07, -0.065, -0.06, -0.07]}],
    "weights": [{"t": [0, 0, 100, 100], "projection": [0] * 4, "pre": [0, 3, 0, 3], "post": [0, 2, 0, 2], "weight": [0.1, 0.2, 0.15, 0.25]}],
    "samples": [{"index": [0, 1], "t_start": [0, 50], "t_end": [50, 100], "label": [0, 2], "split": ["train", "test"], "prediction": [0, 1]}],
    "metrics": [{"t": [50, 100], "step": [0, 1], "name": ["accuracy", "accuracy"], "value": [0.5, 0.75]}],
    "events": [{"t": [100], "kind": ["prune"], "projection": [0], "payload": [PRUNE]}],
}


def arrow_part(table: str, columns: dict) -> pa.Table:
    """Return a part of ``table`` with the spec's types; a column given as an Arrow array keeps its own type."""
    spec = {f.name: f for f in arrow_schema(table)}
    arrays, fields = [], []
    for name, values in columns.items():
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            arrays.append(values)
            fields.append(pa.field(name, values.type))
            continue
        field = spec.get(name, pa.field(name, pa.int64()))
        if pa.types.is_dictionary(field.type):
            array = pa.array(values, pa.string()).dictionary_encode()
        else:
            array = pa.array(values, field.type)
        arrays.append(array)
        fields.append(pa.field(name, array.type, nullable=field.nullable or array.null_count > 0))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_trace(root: Path, manifest: dict | str | bytes, tables: dict[str, list]) -> None:
    """Write a trace directory: the manifest (a dict, or raw text/bytes) and each table's parts in order."""
    root.mkdir(parents=True)
    if isinstance(manifest, dict):
        manifest = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (root / "manifest.json").write_bytes(manifest.encode() if isinstance(manifest, str) else manifest)
    for table, parts in tables.items():
        folder = root / table
        folder.mkdir()
        for sequence, part in enumerate(parts):
            if part is None:
                continue  # a gap in the numbering
            path = folder / f"part-{sequence:06d}.parquet"
            if isinstance(part, bytes):
                path.write_bytes(part)
                continue
            data = arrow_part(table, part)
            pq.write_table(data, path, **parquet_options(table, data.column_names))


def parquet_bytes(table: str, columns: dict) -> bytes:
    """Return the bytes of a Parquet part (for truncating or garbling them)."""
    sink = pa.BufferOutputStream()
    data = arrow_part(table, columns)
    pq.write_table(data, sink, **parquet_options(table, data.column_names))
    return sink.getvalue().to_pybytes()


# -- cases: each takes the base (manifest, tables), changes it and returns (description, codes) -----------------------
VALID: dict[str, Callable] = {}
INVALID: dict[str, Callable] = {}


def case(registry: dict, name: str):
    def register(function: Callable) -> Callable:
        registry[name] = function
        return function

    return register


@case(VALID, "full")
def _(m, t):
    return "every table filled, every optional manifest field set", []


@case(VALID, "minimal")
def _(m, t):
    for key in ("projections", "dataset", "recorded", "annotations"):
        del m[key]
    m["populations"] = [{"id": 0, "name": "only", "size": 1}]
    t.clear()
    return "only the required manifest fields and no table at all: nothing was recorded", []


@case(VALID, "recorded_but_silent")
def _(m, t):
    t.clear()
    m["recorded"] = {"spikes": [0, 1], "metrics": ["accuracy"], "events": ["prune"]}
    return "spikes, a metric and an event kind declared recorded with no rows: recorded and silent, not missing", []


@case(VALID, "multiple_parts")
def _(m, t):
    t["spikes"] = [
        {"t": [0, 1, 5], "population": [0, 1, 1], "neuron": [0, 2, 1]},
        {"t": [5, 5, 9], "population": [0, 1, 0], "neuron": [3, 0, 2], "count": [1, 2, 1]},
        {"t": [], "population": [], "neuron": []},
        {"t": [9, 100], "population": [1, 1], "neuron": [2, 2]},
    ]
    return "parts concatenate in time order; a part may repeat the previous part's last tick, hold counts, or be empty", []


@case(VALID, "temporaries_and_lock_ignored")
def _(m, t):
    return "hidden .NAME.tmp files (a part being written) and .lock are ignored by readers and validators", [], {
        ".lock": b"",
        ".manifest.json.tmp": b'{"half": ',
        "spikes/.part-000001.parquet.tmp": b"PAR1 half-written",
    }


@case(VALID, "annotations_and_unknown_event_kind")
def _(m, t):
    m["annotations"] = {"seed": 42, "nested": {"any": ["json", 1, None]}, "x-lab": "free"}
    m["recorded"]["events"] = ["prune", "my_custom_event"]
    t["events"] = [{"t": [50, 100], "kind": ["my_custom_event", "prune"], "payload": ['{"anything": [1, 2]}', PRUNE]}]
    return "annotations hold any JSON; producer-specific event kinds need only a JSON object payload", []


@case(VALID, "incomplete")
def _(m, t):
    m["complete"] = False
    return "a run that stopped before closing the trace validates, as incomplete", ["TR001"]


@case(VALID, "incomplete_killed_between_part_and_manifest")
def _(m, t):
    m["complete"] = False
    m["recorded"]["metrics"] = []
    t["metrics"] = [{"t": [50, 120], "step": [0, 1], "name": ["accuracy", "accuracy"], "value": [0.5, 0.75]}]
    return (
        "a writer killed after publishing a part but before rewriting the manifest: late times and undeclared "
        "data are warnings in an incomplete trace",
        ["RC002", "TR001", "VL003"],
    )


@case(VALID, "newer_minor_version")
def _(m, t):
    m["snntrace"] = "1.7"
    m["provenance"] = {"git": "abc"}
    m["populations"][1]["layer"] = "L4"
    t["spikes"][0]["phase"] = pa.array([0.5] * 6)
    return "a 1.x reader accepts a newer 1.y trace: unknown manifest keys and columns are warnings", ["MF005", "MF006", "TB005"]


@case(VALID, "unknown_files")
def _(m, t):
    return "files the spec does not define are warnings (readers ignore them)", ["TR002", "TR003"], {
        "notes.txt": b"lab notes",
        "videos/readme": b"a folder of another tool",
        "spikes/README": b"not a part",
    }


@case(VALID, "part_missing_in_numbering")
def _(m, t):
    t["spikes"] = [{"t": [0, 1], "population": [0, 1], "neuron": [0, 2]}, None, {"t": [5], "population": [1], "neuron": [1]}]
    return "a gap in part numbers suggests a lost part: a warning", ["TB008"]


@case(VALID, "labels_without_classes")
def _(m, t):
    del m["dataset"]
    return "labels without dataset.classes cannot be named: a warning", ["SM003"]


@case(VALID, "nullable_columns")
def _(m, t):
    t["samples"] = [{"index": [0, 1], "t_start": [0, 50], "t_end": [50, 100], "label": [None, 1], "split": ["train", "train"]}]
    t["metrics"] = [{"t": [None, 100], "step": [0, None], "name": ["accuracy", "accuracy"], "value": [0.5, 0.75]}]
    return "nullable columns (label, metric t or step) may hold nulls; optional columns may be absent", []


@case(INVALID, "manifest_not_json")
def _(m, t):
    return "manifest.json is cut off mid-document", ["MF002"], "manifest", '{"snntrace": "1.0", "name": '


@case(INVALID, "manifest_not_object")
def _(m, t):
    return "manifest.json holds a JSON array", ["MF002"], "manifest", "[1, 2]\n"


@case(INVALID, "manifest_missing_required")
def _(m, t):
    del m["time"]
    return "the required 'time' object is missing", ["MF003"]


@case(INVALID, "manifest_wrong_type")
def _(m, t):
    m["populations"][1]["size"] = "3"
    return "a population size is a string", ["MF003"]


@case(INVALID, "manifest_unknown_key")
def _(m, t):
    m["provenance"] = "x"
    return "a 1.0 trace has a top-level key 1.0 does not define", ["MF003"]


@case(INVALID, "manifest_bad_created")
def _(m, t):
    m["created"] = "yesterday"
    return "created is not an RFC 3339 date-time", ["MF003"]


@case(INVALID, "version_major_2")
def _(m, t):
    m["snntrace"] = "2.0"
    return "a 2.x trace cannot be validated by a 1.x reader", ["MF004"]


@case(INVALID, "version_malformed")
def _(m, t):
    m["snntrace"] = "v1"
    return "the spec version is not MAJOR.MINOR", ["MF004"]


@case(INVALID, "duplicate_population_id")
def _(m, t):
    m["populations"][1]["id"] = 0
    del m["projections"]
    t.clear()
    m["recorded"] = {}
    return "two populations share id 0", ["MF007"]


@case(INVALID, "duplicate_projection_name")
def _(m, t):
    m["projections"].append({"id": 1, "name": "input->out", "pre": 1, "post": 0})
    return "two projections share a name", ["MF008"]


@case(INVALID, "projection_unknown_end")
def _(m, t):
    m["projections"][0]["post"] = 9
    t.pop("weights")
    m["recorded"].pop("weights")
    return "a projection's post population is not declared", ["MF009"]


@case(INVALID, "shape_size_mismatch")
def _(m, t):
    m["populations"][0]["shape"] = [3, 2]
    return "shape [3, 2] holds 6 neurons but size is 4", ["MF010"]


@case(INVALID, "recorded_unknown_population")
def _(m, t):
    m["recorded"]["spikes"] = [0, 1, 4]
    return "recorded.spikes names population 4, which is not declared", ["MF011"]


@case(INVALID, "part_truncated")
def _(m, t):
    t["spikes"] = [parquet_bytes("spikes", BASE_TABLES["spikes"][0])[:-40]]
    return "a spikes part lost its footer (killed mid-write without the atomic rename)", ["TB001"]


@case(INVALID, "part_garbled")
def _(m, t):
    t["states"] = [b"PAR1" + bytes(range(256)) * 4 + b"PAR1"]
    return "a states part holds bytes that are not Parquet", ["TB001"]


@case(INVALID, "missing_required_column")
def _(m, t):
    del t["spikes"][0]["neuron"]
    return "a spikes part has no neuron column", ["TB002"]


@case(INVALID, "wrong_column_type")
def _(m, t):
    t["spikes"][0]["neuron"] = pa.array([0, 2, 3, 1, 0, 1], pa.int64())
    return "spikes.neuron is int64 instead of uint32", ["TB003"]


@case(INVALID, "null_in_required_column")
def _(m, t):
    t["states"][0]["value"] = [-0.07, None, -0.06, -0.07]
    return "a state value is null", ["TB004"]


@case(INVALID, "unsorted_within_part")
def _(m, t):
    t["spikes"][0]["t"] = [0, 1, 1, 5, 3, 50]
    return "spike times decrease inside a part", ["TB006"]


@case(INVALID, "unsorted_across_parts")
def _(m, t):
    t["spikes"] = [{"t": [10, 20], "population": [0, 1], "neuron": [0, 1]}, {"t": [15, 30], "population": [0, 1], "neuron": [0, 1]}]
    return "the second spikes part starts before the first ends", ["TB007"]


@case(INVALID, "unknown_population_id")
def _(m, t):
    t["metrics"] = [{"t": [50], "step": [0], "name": ["accuracy"], "value": [0.5], "population": [5]}]
    return "a metric row refers to population 5, which is not declared", ["ID001"]


@case(INVALID, "neuron_beyond_size")
def _(m, t):
    t["spikes"][0]["neuron"] = [0, 2, 3, 3, 0, 1]
    return "population 1 has 3 neurons; a spike names neuron 3", ["ID002"]


@case(INVALID, "unknown_projection_id")
def _(m, t):
    t["events"] = [{"t": [100], "kind": ["prune"], "projection": [7], "payload": [PRUNE]}]
    return "an event refers to projection 7, which is not declared", ["ID003"]


@case(INVALID, "synapse_beyond_projection_end")
def _(m, t):
    t["weights"][0]["post"] = [0, 3, 0, 2]
    return "post population 'out' has 3 neurons; a weight names post 3", ["ID004"]


@case(INVALID, "non_finite_value")
def _(m, t):
    t["weights"][0]["weight"] = [0.1, float("nan"), 0.15, float("inf")]
    return "weights hold NaN and inf", ["VL001"]


@case(INVALID, "time_after_duration")
def _(m, t):
    t["states"][0]["t"] = [0, 0, 10, 101]
    return "a complete trace of 100 ticks has a state sample at tick 101", ["VL002"]


@case(INVALID, "negative_time")
def _(m, t):
    t["events"] = [{"t": [-1], "kind": ["prune"], "projection": [0], "payload": [PRUNE]}]
    return "an event at tick -1", ["VL002"]


@case(INVALID, "spike_count_zero")
def _(m, t):
    t["spikes"][0]["count"] = [1, 1, 0, 1, 1, 1]
    return "a spike row with count 0", ["VL004"]


@case(INVALID, "well_known_metric_out_of_range")
def _(m, t):
    t["metrics"][0]["value"] = [0.5, 1.5]
    return "accuracy 1.5 is outside [0, 1]", ["VL005"]


@case(INVALID, "sample_window_reversed")
def _(m, t):
    t["samples"][0]["t_end"] = [50, 40]
    return "a sample ends before it starts", ["SM001"]


@case(INVALID, "label_outside_classes")
def _(m, t):
    t["samples"][0]["prediction"] = [0, 3]
    return "a prediction names class 3 of 3 classes", ["SM002"]


@case(INVALID, "payload_not_object")
def _(m, t):
    t["events"][0]["payload"] = ["[1, 2]"]
    return "an event payload is a JSON array", ["EV001"]


@case(INVALID, "prune_payload_missing_field")
def _(m, t):
    t["events"][0]["payload"] = ['{"before": 12, "threshold": 0.1}']
    return "a prune payload lacks 'remaining'", ["EV002"]


@case(INVALID, "undeclared_recorded_data")
def _(m, t):
    m["recorded"]["metrics"] = []
    m["recorded"]["states"] = [{"population": 1, "variable": "u"}]
    return "a complete trace has metric and state rows its 'recorded' does not declare", ["RC001"]


def build(root: Path = HERE) -> list[Path]:
    """Regenerate every case under ``root``; return the case directories."""
    built = []
    for kind, registry in (("valid", VALID), ("invalid", INVALID)):
        shutil.rmtree(root / kind, ignore_errors=True)
        for name, function in registry.items():
            manifest, tables = copy.deepcopy(BASE_MANIFEST), copy.deepcopy(BASE_TABLES)
            description, codes, *extra = function(manifest, tables)
            directory = root / kind / name
            trace = directory / "trace"
            if extra and extra[0] == "manifest":
                write_trace(trace, extra[1], tables)
            else:
                write_trace(trace, manifest, tables)
                for relative, content in (extra[0] if extra else {}).items():
                    (trace / relative).parent.mkdir(parents=True, exist_ok=True)
                    (trace / relative).write_bytes(content)
            expected = {"description": description, "codes": sorted(codes)}
            (directory / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
            built.append(directory)
    built.append(_writer_output(root / "valid" / "writer_output"))
    return built


def _writer_output(directory: Path) -> Path:
    """Write the valid case produced by snntrace's own TraceWriter."""
    from snntrace import Dataset, Population, Projection, TraceWriter

    populations = [Population("input", 4, shape=(2, 2), role="input"), Population("out", 3, role="output")]
    with TraceWriter(
        directory / "trace",
        name="writer output",
        time_resolution=1e-3,
        populations=populations,
        projections=[Projection("input->out", "input", "out", synapses=12)],
        dataset=Dataset("toy", classes=("a", "b", "c")),
        simulator=("conformance", "1"),
        created=CREATED,
    ) as writer:
        writer.record_spikes(["input", "out"])
        writer.write_spikes([0, 3, 3], "out", [0, 1, 2])
        writer.write_states([0, 10], "out", 0, "v", [-0.07, -0.06])
        writer.write_weights(10, "input->out", [0, 1], [2, 0], [0.5, 0.25])
        writer.write_samples([0], 0, 10, 1, "test", prediction=1)
        writer.write_metric("accuracy", 1.0, t=10, step=0)
        writer.write_event("epoch_end", 10, {"epoch": 0, "samples": 1})
    (directory / "expected.json").write_text(json.dumps({"description": "snntrace's TraceWriter output", "codes": []}, indent=2) + "\n")
    return directory


if __name__ == "__main__":
    cases = build()
    print(f"wrote {len(cases)} cases under {HERE}")
