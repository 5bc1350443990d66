"""Gate rules parse without eval, evaluate to exact values on a trace built with known numbers, and never crash."""

from __future__ import annotations

import pytest

from _gate_fixtures import gate_trace, make_invalid
from snntrace.gates import CheckResult, Rule, RuleError, load_rules, parse_rule, run_checks


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return gate_trace(tmp_path_factory.mktemp("gates") / "gates.trace")


@pytest.mark.parametrize(
    "text, rule",
    [
        ("valid", Rule("valid", "valid")),
        ("  final_accuracy>=0.7 ", Rule("final_accuracy>=0.7", "final_accuracy", None, ">=", 0.7)),
        (
            "silent_fraction(excitatory) <= 20%",
            Rule("silent_fraction(excitatory) <= 20%", "silent_fraction", "excitatory", "<=", 0.2),
        ),
        (
            "compression( input->excitatory ) > .5",
            Rule("compression( input->excitatory ) > .5", "compression", "input->excitatory", ">", 0.5),
        ),
        (
            'spikes_per_sample("a (b)") != 1e3',
            Rule('spikes_per_sample("a (b)") != 1e3', "spikes_per_sample", "a (b)", "!=", 1000.0),
        ),
        ("final_loss < -1.5", Rule("final_loss < -1.5", "final_loss", None, "<", -1.5)),
    ],
)
def test_rules_parse_into_metric_subject_comparison_and_threshold(text, rule):
    assert parse_rule(text) == rule


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "expected a metric name in '' at column 1"),
        ("__import__('os') > 1", "unknown metric '__import__'"),
        ("accuracy >= 0.7", "unknown metric 'accuracy'"),
        ("final_accuracy(x) >= 1", "final_accuracy takes no subject"),
        ("final_accuracy => 1", "expected a comparison"),
        ("final_accuracy >= high", "expected a number"),
        ("final_accuracy >= 1 or 1", "unexpected text after the number"),
        ("silent_fraction(excitatory <= 1", "expected ')'"),
        ("silent_fraction() <= 1", "empty population name"),
        ("silent_fraction('x) <= 1", "unterminated quoted name"),
        ("valid == 1", "valid is a yes/no rule and takes no comparison"),
        ("final_accuracy >= nan", "expected a number"),
        ("final >= 0.5", "final needs a metric name, e.g. final(test_accuracy)"),
    ],
)
def test_malformed_rules_raise_rule_errors_that_say_what_was_expected(text, message):
    with pytest.raises(RuleError) as error:
        parse_rule(text, where="rule 1")
    assert message in error.value.message and error.value.code == "GT001" and error.value.location == "rule 1"


def test_each_metric_has_the_value_the_trace_was_built_with(trace):
    report = run_checks(
        trace,
        [
            "silent_fraction(excitatory) <= 0.3",
            "silent_fraction(inhibitory) < 0.75",
            "final_accuracy >= 0.75",
            "final_loss <= 0.25",
            "spikes_per_sample < 5.25",
            "max_spikes_per_sample(excitatory) <= 12",
            "compression(input->excitatory) >= 0.6",
            "spike_count(inhibitory) == 1",
            "firing_rate(excitatory) > 5",
            "complete",
            "final(loss) < 0.25",
        ],
    )
    values = [(r.rule, r.value, r.status) for r in report.results]
    assert values == [
        ("silent_fraction(excitatory) <= 0.3", 0.3, "passed"),
        ("silent_fraction(inhibitory) < 0.75", 0.75, "failed"),
        ("final_accuracy >= 0.75", 0.75, "passed"),
        ("final_loss <= 0.25", 0.25, "passed"),
        ("spikes_per_sample < 5.25", 5.25, "failed"),  # (5 + 1 + 3 + 12) / 4: the whole network, inhibitory included
        ("max_spikes_per_sample(excitatory) <= 12", 12.0, "passed"),
        ("compression(input->excitatory) >= 0.6", 0.6, "passed"),
        ("spike_count(inhibitory) == 1", 1.0, "passed"),
        ("firing_rate(excitatory) > 5", 20 / (10 * 0.4), "failed"),
        ("complete", True, "passed"),
        ("final(loss) < 0.25", 0.25, "failed"),
    ]
    assert not report.ok and report.counts() == {"passed": 7, "failed": 4, "error": 0}


def test_a_failed_rule_is_a_whole_result_with_value_and_message(trace):
    (result,) = run_checks(trace, ["silent_fraction(inhibitory) <= 50%"]).results
    expected = CheckResult(
        rule="silent_fraction(inhibitory) <= 0.5",
        metric="silent_fraction",
        subject="inhibitory",
        op="<=",
        threshold=0.5,
        value=0.75,
        status="failed",
        message="0.75 (does not meet <= 0.5); 3 of 4 neurons never spiked",
        seconds=result.seconds,
    )
    assert result == expected


def test_rules_without_a_subject_are_checked_for_every_recorded_population_or_projection(trace):
    report = run_checks(trace, ["silent_fraction <= 0.5", "compression > 0.5"])
    assert [(r.rule, r.status) for r in report.results] == [
        ("silent_fraction(excitatory) <= 0.5", "passed"),
        ("silent_fraction(inhibitory) <= 0.5", "failed"),
        ("compression(input->excitatory) > 0.5", "passed"),
    ]


def test_what_the_trace_cannot_answer_is_an_error_result_not_an_exception(trace):
    report = run_checks(trace, ["silent_fraction(input) <= 1", "silent_fraction(nobody) <= 1", "compression(x) > 0"])
    assert [(r.status, r.message) for r in report.results] == [
        ("error", "spikes of 'input' were not recorded"),
        ("error", "no population 'nobody' in this trace (populations: excitatory, inhibitory, input)"),
        ("error", "no projection 'x' in this trace (projections: input->excitatory)"),
    ]
    assert not report.ok


def test_validity_is_a_rule_that_fails_with_the_validators_findings(trace, tmp_path):
    assert run_checks(trace, ["valid"]).ok
    (result,) = run_checks(make_invalid(trace, tmp_path / "bad.trace"), ["valid"]).results
    assert result.status == "failed" and result.value is False
    assert result.message.startswith("invalid: 1 error(s): ID002")


def test_rules_files_in_toml_and_json_give_the_same_rules(tmp_path):
    (tmp_path / "gates.toml").write_text('rules = ["valid", "final_accuracy >= 0.7"]\n')
    (tmp_path / "gates.json").write_text('{"rules": ["valid", "final_accuracy >= 0.7"]}')
    (tmp_path / "pyproject.toml").write_text('[tool.snntrace.check]\nrules = ["valid", "final_accuracy >= 0.7"]\n')
    expected = [Rule("valid", "valid"), Rule("final_accuracy >= 0.7", "final_accuracy", None, ">=", 0.7)]
    for name in ("gates.toml", "gates.json", "pyproject.toml"):
        assert load_rules(tmp_path / name) == expected
    (tmp_path / "bad.toml").write_text('rules = "valid"\n')
    with pytest.raises(RuleError, match="expected `rules`, a list of rule strings") as error:
        load_rules(tmp_path / "bad.toml")
    assert error.value.code == "GT002"
    (tmp_path / "typo.json").write_text('{"rules": ["final_acuracy > 1"]}')
    with pytest.raises(RuleError, match="unknown metric 'final_acuracy'") as error:
        load_rules(tmp_path / "typo.json")
    assert error.value.location == "typo.json: rules[0]"


def test_reports_serialise_to_json_ready_dicts(trace):
    document = run_checks(trace, ["final_accuracy >= 0.9"]).to_dict()
    assert document["ok"] is False and document["counts"] == {"passed": 0, "failed": 1, "error": 0}
    assert document["results"] == [
        {
            "rule": "final_accuracy >= 0.9",
            "metric": "final_accuracy",
            "subject": None,
            "op": ">=",
            "threshold": 0.9,
            "value": 0.75,
            "status": "failed",
            "message": "0.75 (does not meet >= 0.9); last of 3 values, at t=300",
        }
    ]


def test_the_rules_documented_in_docs_ci_parse_and_every_metric_is_documented(tmp_path):
    from pathlib import Path

    from snntrace.gates import METRICS

    text = (Path(__file__).parents[1] / "docs" / "ci.md").read_text(encoding="utf-8")
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "gates.toml").write_text(block)
    assert [r.metric for r in load_rules(tmp_path / "gates.toml")] == [
        "valid",
        "complete",
        "final",
        "silent_fraction",
        "max_spikes_per_sample",
        "compression",
    ]
    for name in METRICS:
        assert f"| `{name}" in text, f"{name} is missing from the rules table of docs/ci.md"
