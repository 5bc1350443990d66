"""The validation engine: registry, crash isolation, laziness, strictness, limits, streaming by batches."""

from __future__ import annotations

import json
import types

import pytest

import snntrace
from snntrace.validation import Finding, Location, Severity, engine, iter_findings, rules, validate
from snntrace.validation._model import Problem
from snntrace.validation._registry import ATTRIBUTE, check, collect

from _validation_fixtures import copy_case, edit_manifest, write_part


def fake_check_module(function_source: str) -> types.ModuleType:
    """Return a module defining checks, as a third-party check module would."""
    module = types.ModuleType("fake_checks")
    namespace = module.__dict__
    namespace.update(check=check, Severity=Severity, Problem=Problem)
    exec(function_source, namespace)
    return module


def test_the_decorator_only_annotates_the_function():
    def condition(ctx):
        return []

    decorated = check("ZZ999", Severity.WARNING, "never reported")(condition)
    assert decorated is condition
    registered = getattr(condition, ATTRIBUTE)
    assert (registered.rule.code, registered.rule.severity, registered.scope) == ("ZZ999", Severity.WARNING, "trace")
    assert "ZZ999" not in rules()  # nothing registered globally


def test_collect_finds_checks_defined_in_a_module_not_imported_ones():
    module = fake_check_module(
        "from snntrace.validation.checks_layout import trace_is_complete\n"
        "@check('ZZ001', Severity.ERROR, 'x')\n"
        "def mine(ctx):\n    return []\n"
    )
    assert [c.rule.code for c in collect([module])] == ["ZZ001"]


def test_a_crashing_check_becomes_a_finding_and_the_other_checks_still_run(tmp_path, monkeypatch):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, complete=False)
    module = fake_check_module(
        "@check('ZZ002', Severity.ERROR, 'crashes', scope='rows', tables=('spikes',))\n"
        "def crashes(ctx, batch, state):\n    raise ZeroDivisionError('boom')\n"
    )
    monkeypatch.setattr(engine, "CHECK_MODULES", (*engine.CHECK_MODULES, module))
    write_part(trace, "spikes", 1, {"t": [60], "population": [0], "neuron": [1]})
    result = validate(trace)
    crashes = [f for f in result if f.code == "CK001"]
    assert crashes == [
        Finding(
            "CK001",
            Severity.ERROR,
            "check fake_checks.crashes (ZZ002) failed: ZeroDivisionError: boom; other checks ran",
            Location(file="spikes/part-000000.parquet", table="spikes", part="part-000000.parquet"),
        )
    ]  # switched off after its first crash: no second finding for part 1
    assert "TR001" in result.codes


def test_a_crashing_trace_check_does_not_stop_validation(tmp_path, monkeypatch):
    trace = copy_case("full", tmp_path / "t")
    module = fake_check_module("@check('ZZ003', Severity.ERROR, 'crashes')\ndef crashes(ctx):\n    yield from [None][1]\n")
    monkeypatch.setattr(engine, "CHECK_MODULES", (module, *engine.CHECK_MODULES))
    write_part(trace, "spikes", 1, {"t": [0], "population": [0], "neuron": [0]})  # TB007: earlier than part 0 ends
    assert validate(trace).codes == ["CK001", "TB007"]


def test_a_path_that_is_not_a_trace_raises_at_once():
    with pytest.raises(snntrace.TraceNotFoundError) as info:
        iter_findings("/nonexistent/run.trace")  # not on first next(): callers can tell "no trace" from "no finding"
    assert info.value.code == "IO001"


def test_iter_findings_is_lazy(tmp_path, monkeypatch):
    trace = copy_case("full", tmp_path / "t")
    edit_manifest(trace, complete=False)
    calls = []
    monkeypatch.setattr(engine, "_iter_table", lambda ctx, table, checks: calls.append(table) or iter(()))
    findings = iter_findings(trace)
    assert calls == []
    assert next(findings).code == "TR001"
    assert calls == []


def test_strict_validation_fails_on_warnings(tmp_path):
    trace = copy_case("incomplete", tmp_path / "t")
    assert validate(trace).ok
    assert not validate(trace, strict=True).ok
    assert validate(copy_case("full", tmp_path / "full"), strict=True).ok


def test_findings_beyond_the_per_code_limit_are_counted_not_listed(tmp_path):
    trace = copy_case("full", tmp_path / "t")
    for sequence in (1, 2, 3):
        write_part(trace, "spikes", sequence, {"t": [60, 55], "population": [0, 0], "neuron": [0, 0]})
    result = validate(trace, max_per_code=1)
    assert [f.code for f in result] == ["TB006"]
    assert result.suppressed == {"TB006": 2}
    assert len([f for f in iter_findings(trace, max_per_code=None) if f.code == "TB006"]) == 3


def test_rows_are_checked_in_batches_with_rows_counted_from_the_part_start(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "BATCH_ROWS", 2)
    trace = copy_case("full", tmp_path / "t")
    write_part(trace, "spikes", 0, {"t": [0, 1, 2, 3, 2, 5], "population": [0] * 6, "neuron": [0, 1, 2, 3, 4, 0]})
    findings = validate(trace).findings
    assert [(f.code, f.location.row, f.location.column) for f in findings] == [
        ("TB006", 4, "t"),  # the drop sits between batches [2, 3] and [2, 5]
        ("ID002", 4, "neuron"),  # population 0 has 4 neurons
    ]


def test_validation_reads_a_part_one_batch_at_a_time(tmp_path, monkeypatch):
    trace = copy_case("full", tmp_path / "t")
    n = 50_000
    write_part(trace, "spikes", 0, {"t": list(range(n)), "population": [1] * n, "neuron": [i % 3 for i in range(n)]})
    edit_manifest(trace, time={"resolution": 0.001, "duration": n})
    sizes = []
    real_batch = engine.Batch

    def spy(part, offset, data):
        sizes.append(data.num_rows)
        return real_batch(part, offset, data)

    monkeypatch.setattr(engine, "Batch", spy)
    monkeypatch.setattr(engine, "BATCH_ROWS", 8192)
    assert validate(trace).ok
    spike_batches = sizes[: -5]  # the other five tables have one small batch each
    assert max(sizes) == 8192 and sum(spike_batches) == n


def test_results_serialise_to_json(tmp_path):
    result = validate(copy_case("incomplete", tmp_path / "t"))
    document = json.loads(json.dumps(result.to_dict()))
    assert document["ok"] is True and document["complete"] is False
    assert document["counts"] == {"error": 0, "warning": 1}
    assert document["findings"][0] == {
        "code": "TR001",
        "severity": "warning",
        "message": "complete is false: the run did not finish; tables hold every part written before it stopped",
        "location": {"file": "manifest.json", "pointer": "/complete"},
    }


def test_locations_read_as_text():
    assert str(Location(file="manifest.json", pointer="/populations/0/size")) == "manifest.json#/populations/0/size"
    assert str(Location(file="spikes/part-000001.parquet", table="spikes", part="part-000001.parquet", row=7, column="t")) == (
        "spikes/part-000001.parquet row 7 column t"
    )
    assert str(Location()) == "trace"


