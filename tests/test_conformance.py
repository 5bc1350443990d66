"""The conformance corpus (spec/conformance): every case produces exactly its expected codes, every code in SPEC.md
is registered once and exercised by a case, and no case or damaged part makes the validator raise."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from snntrace.cli import cli
from snntrace.validation import Severity, rules, validate
from snntrace.validation.engine import ENGINE_RULES, registered_checks

SPEC = Path(__file__).resolve().parents[1] / "spec"
CORPUS = SPEC / "conformance"
CASES = sorted(p for p in CORPUS.glob("*/*") if (p / "expected.json").is_file())
INVALID = [p for p in CASES if p.parent.name == "invalid"]
# Codes no corpus case can produce, each with the reason (tested elsewhere).
NOT_IN_CORPUS = {"CK001": "only a bug in a check produces it; tests/test_validation_engine.py injects a crashing check"}


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def expected(path: Path) -> dict:
    return json.loads((path / "expected.json").read_text(encoding="utf-8"))


def spec_findings_table() -> list[tuple[str, str]]:
    text = (SPEC / "SPEC.md").read_text(encoding="utf-8")
    section = text.split("<!-- findings:start -->")[1].split("<!-- findings:end -->")[0]
    return re.findall(r"^\| `?([A-Z]{2}\d{3})`? \| (error|warning) \|", section, flags=re.MULTILINE)


def test_the_corpus_has_valid_and_invalid_cases():
    kinds = {p.parent.name for p in CASES}
    assert kinds == {"valid", "invalid"}
    assert len(INVALID) >= 30


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_case_produces_exactly_its_expected_codes(case):
    result = validate(case / "trace", max_per_code=None)
    want = expected(case)
    assert result.codes == want["codes"], "\n".join(map(str, result.findings))
    assert want["description"]
    if case.parent.name == "valid":
        assert result.ok and not result.errors
    else:
        assert not result.ok and result.errors


def test_every_spec_code_is_registered_exactly_once_with_its_severity():
    documented = spec_findings_table()
    codes = [code for code, _ in documented]
    assert len(codes) == len(set(codes)), "a code is documented twice in SPEC.md"
    registered = [c.rule.code for c in registered_checks()] + [r.code for r in ENGINE_RULES]
    assert sorted(registered) == sorted(set(registered)), "a code is registered twice"
    assert sorted(codes) == sorted(registered)
    assert {code: Severity(severity) for code, severity in documented} == {code: rule.severity for code, rule in rules().items()}


def test_every_code_is_exercised_by_a_corpus_case():
    exercised = {code for case in CASES for code in expected(case)["codes"]}
    assert set(rules()) - exercised == set(NOT_IN_CORPUS)


@pytest.mark.parametrize("case", INVALID, ids=case_id)
def test_cli_exits_1_on_each_invalid_case_and_names_the_location(case):
    result = CliRunner().invoke(cli, ["validate", str(case / "trace"), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    report = json.loads(result.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors
    for finding in errors:
        assert finding["location"].get("file"), finding


def test_every_row_finding_names_part_row_and_column():
    result = validate(CORPUS / "invalid" / "neuron_beyond_size" / "trace")
    (finding,) = result.findings
    assert (finding.location.table, finding.location.part, finding.location.row, finding.location.column) == (
        "spikes",
        "part-000000.parquet",
        3,
        "neuron",
    )


def _damaged_copies(tmp_path: Path):
    source = CORPUS / "valid" / "full" / "trace"
    part = source / "spikes" / "part-000000.parquet"
    data = part.read_bytes()
    cuts = [0, 1, 4, 8, 50, len(data) // 2, len(data) - 9, len(data) - 8, len(data) - 4, len(data) - 1]
    for n, cut in enumerate(cuts):
        yield f"truncated at {cut}", data[:cut]
    step = max(1, len(data) // 12)
    for offset in range(0, len(data), step):
        garbled = bytearray(data)
        for i in range(offset, min(offset + 16, len(data))):
            garbled[i] ^= 0xA5
        yield f"garbled at {offset}", bytes(garbled)


def test_no_truncated_or_garbled_part_makes_the_validator_raise(tmp_path):
    source = CORPUS / "valid" / "full" / "trace"
    messages = []
    for n, (label, content) in enumerate(_damaged_copies(tmp_path)):
        trace = Path(shutil.copytree(source, tmp_path / f"case{n}"))
        (trace / "spikes" / "part-000000.parquet").write_bytes(content)
        result = validate(trace)
        assert "CK001" not in result.codes, f"{label}: {result.findings}"
        if label.startswith("truncated"):
            assert "TB001" in result.codes, label
        messages += [f.message for f in result if f.code == "TB001"]
    # Both ways a part fails are exercised: an unreadable footer, and data pages that fail after the footer read.
    assert any(m.startswith("cannot read the Parquet footer") for m in messages)
    assert any(m.startswith("cannot read rows from row 0 on") for m in messages)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_info_reads_every_case_without_a_traceback(case):
    result = CliRunner().invoke(cli, ["info", str(case / "trace"), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2)
    if result.exit_code == 0:
        assert json.loads(result.stdout)["trace"].endswith("trace")
    else:
        assert result.stderr.startswith("Error: ")


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def test_no_mutated_manifest_makes_a_check_crash(tmp_path):
    import random

    trace = Path(shutil.copytree(CORPUS / "valid" / "full" / "trace", tmp_path / "t"))
    original = json.loads((trace / "manifest.json").read_text())
    paths = [p for p in _paths(original) if p]
    weird = [None, True, -1, 0, 7, 2**70, -(2**70), 1.5, float("1e308"), "", "x", [], {}, [1, {}], [[0]], {"a": []}]
    rng = random.Random(20261123)
    for _ in range(100):
        manifest = json.loads(json.dumps(original))
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths)
            parent = manifest
            try:
                for key in path[:-1]:
                    parent = parent[key]
                if rng.random() < 0.2 and isinstance(parent, dict):
                    parent.pop(path[-1], None)
                else:
                    parent[path[-1]] = rng.choice(weird)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation changed the shape above this path
        (trace / "manifest.json").write_text(json.dumps(manifest))
        result = validate(trace)
        assert "CK001" not in result.codes, (manifest, [str(f) for f in result if f.code == "CK001"])


def test_the_committed_corpus_is_what_build_py_generates(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("conformance_build", CORPUS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(CORPUS) for p in CORPUS.rglob("*") if p.is_file() and p.parent != CORPUS and "__pycache__" not in p.parts)
    assert generated == committed, "run `python spec/conformance/build.py` and commit the result"
    changed = [str(p) for p in generated if (tmp_path / p).read_bytes() != (CORPUS / p).read_bytes()]
    assert changed == [], "run `python spec/conformance/build.py` and commit the result"
