"""`snntrace check` through CliRunner: each rule kind passing and failing, exit codes, JSON and JUnit XML output."""

from __future__ import annotations

import json
from pathlib import Path

import junitparser
import pytest
from click.testing import CliRunner

from _gate_fixtures import gate_trace, make_invalid
from snntrace.cli import cli


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return str(gate_trace(tmp_path_factory.mktemp("cli-check") / "gates.trace"))


def check(*args: str):
    result = CliRunner().invoke(cli, ["check", *args])
    # CliRunner reports an escaped exception as exit code 1, the same as a failed rule: rule that out.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize(
    "passing, failing",
    [
        ("silent_fraction(excitatory) <= 0.3", "silent_fraction(excitatory) <= 29%"),
        ("final_accuracy >= 0.75", "final_accuracy >= 0.7501"),
        ("max_spikes_per_sample(excitatory) <= 12", "max_spikes_per_sample(excitatory) < 12"),
        ("spikes_per_sample <= 5.25", "spikes_per_sample < 5.25"),
        ("compression(input->excitatory) >= 0.6", "compression >= 0.61"),
        ("valid", None),
    ],
)
def test_each_rule_kind_exits_0_when_it_passes_and_1_when_it_fails(trace, passing, failing, tmp_path):
    passed = check(trace, "--rule", passing)
    assert passed.exit_code == 0, passed.output
    assert passed.stdout.startswith("PASSED ") and passed.stderr == ""
    if failing is None:  # validity fails on a trace the validator rejects
        trace, failing = str(make_invalid(Path(trace), tmp_path / "bad.trace")), passing
    failed = check(trace, "--rule", failing)
    assert failed.exit_code == 1, failed.output
    assert failed.stdout.startswith("FAILED ") and "1 rule(s): 0 passed, 1 failed, 0 error(s)" in failed.stdout


def test_a_rule_the_trace_cannot_answer_exits_1_as_an_error(trace):
    result = check(trace, "-r", "final_accuracy >= 0.5", "-r", "silent_fraction(input) <= 1")
    assert result.exit_code == 1
    assert "ERROR  silent_fraction(input) <= 1: spikes of 'input' were not recorded" in result.stdout


@pytest.mark.parametrize(
    "args, code",
    [
        (["-r", "final_accuracy >== 0.7"], "GT001 at --rule 1: expected a number"),
        (["-r", "os.system('x')"], "GT001 at --rule 1: unknown metric 'os'"),
        ([], "US001 at snntrace check: no rules"),
    ],
)
def test_bad_rules_exit_2_with_the_error_on_stderr(trace, args, code):
    result = check(trace, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert code in result.stderr


def test_an_unreadable_trace_exits_2(tmp_path):
    result = check(str(tmp_path / "missing.trace"), "-r", "valid")
    assert result.exit_code == 2 and "IO001" in result.stderr


def test_json_output_is_pure_json_with_every_result(trace):
    result = check(trace, "--format", "json", "-r", "final_accuracy >= 0.7", "-r", "silent_fraction <= 0.5")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["counts"] == {"passed": 2, "failed": 1, "error": 0}
    assert [(r["rule"], r["status"]) for r in document["results"]] == [
        ("final_accuracy >= 0.7", "passed"),
        ("silent_fraction(excitatory) <= 0.5", "passed"),
        ("silent_fraction(inhibitory) <= 0.5", "failed"),
    ]


def test_junit_output_parses_with_a_junit_parser_and_marks_failures_and_errors(trace, tmp_path):
    config = tmp_path / "gates.toml"
    config.write_text('rules = ["valid", "final_accuracy >= 0.9", "compression(nope) > 0", "silent_fraction <= 0.3"]\n')
    junit_file = tmp_path / "check.xml"
    result = check(trace, "--config", str(config), "--format", "junit", "--junit-xml", str(junit_file))
    assert result.exit_code == 1
    assert junit_file.read_text() == result.stdout
    xml = junitparser.JUnitXml.fromfile(str(junit_file))
    (suite,) = list(xml)
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 2, 1, 0)
    outcomes = {case.name: [type(r).__name__ for r in case.result] for case in suite}
    assert outcomes == {
        "valid": [],
        "final_accuracy >= 0.9": ["Failure"],
        "compression(nope) > 0": ["Error"],
        "silent_fraction(excitatory) <= 0.3": [],
        "silent_fraction(inhibitory) <= 0.3": ["Failure"],
    }
    failure = next(c for c in suite if c.name == "final_accuracy >= 0.9").result[0]
    assert failure.message == "0.75 (does not meet >= 0.9); last of 3 values, at t=300"


def test_the_text_summary_goes_to_stdout_while_junit_goes_to_a_file(trace, tmp_path):
    result = check(trace, "-r", "complete", "--junit-xml", str(tmp_path / "out.xml"))
    assert result.exit_code == 0
    assert result.stdout == "PASSED complete: complete\n1 rule(s): 1 passed, 0 failed, 0 error(s)\n"
    assert junitparser.JUnitXml.fromfile(str(tmp_path / "out.xml")) is not None


def test_gates_on_a_run_of_the_included_simulator_report_what_the_simulator_reported(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run.trace"
    simulated = runner.invoke(
        cli,
        [
            "simulate",
            "--neurons",
            "12",
            "--epochs",
            "1",
            "--batches",
            "2",
            "--train-samples",
            "60",
            "--test-samples",
            "30",
            "--compression",
            "pp-dswr",
            "--seed",
            "3",
            "-q",
            "-o",
            str(run),
        ],
    )
    assert simulated.exit_code == 0, simulated.output
    summary = json.loads(simulated.stdout.strip().splitlines()[-1])  # rounded to 4 decimals by `simulate`
    result = check(
        str(run),
        "--format",
        "json",
        "-r",
        "valid",
        "-r",
        f"final(test_accuracy) >= {summary['accuracy']}",
        "-r",
        f"compression <= {summary['compression_rate'][0] + 1e-4}",
        "-r",
        "silent_fraction(output) <= 1",
    )
    document = json.loads(result.stdout)
    assert result.exit_code == 0, document
    values = {r["rule"].split(" ")[0]: r["value"] for r in document["results"]}
    assert values["final(test_accuracy)"] == summary["accuracy"]
    assert values["compression(input->output)"] == pytest.approx(summary["compression_rate"][0], abs=5e-5)
