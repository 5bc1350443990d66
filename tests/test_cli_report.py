"""``snntrace report`` through Click's CliRunner: exit codes, stdout, stderr, files left behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from snntrace.cli import cli
from snntrace.commands.report import parse_duration
from snntrace.errors import UsageError


def run(*args: str):
    result = CliRunner().invoke(cli, ["report", *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(scope="module")
def report_path(synthetic_trace, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("cli") / "report.html"
    return out, run(str(synthetic_trace), "-o", str(out), "--title", "CLI run", "--time-bin", "500ms", "--no-static")


def test_report_writes_the_file_and_prints_its_path(report_path):
    out, result = report_path
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    assert "<title>CLI run</title>" in html
    assert "Time bin</dt><dd>0.5 s" in html
    assert "data:image/png" not in html  # --no-static
    assert not list(out.parent.glob(".*.tmp"))


def test_report_refuses_to_overwrite_without_force(report_path, synthetic_trace):
    out, _ = report_path
    before = out.stat().st_mtime_ns
    result = run(str(synthetic_trace), "-o", str(out), "--no-static")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "RP001" in result.stderr and "--force" in result.stderr
    assert out.stat().st_mtime_ns == before


def test_report_replaces_the_output_with_force(report_path, synthetic_trace):
    out, _ = report_path
    result = run(str(synthetic_trace), "-o", str(out), "--no-static", "--force", "--title", "second")
    assert result.exit_code == 0, result.output
    assert "<title>second</title>" in out.read_text(encoding="utf-8")


def test_report_never_writes_into_the_input_trace(synthetic_trace):
    result = run(str(synthetic_trace), "-o", str(synthetic_trace / "report.html"), "--no-static")
    assert result.exit_code == 2
    assert "RP002" in result.stderr
    assert not (synthetic_trace / "report.html").exists()


def test_two_traces_give_a_comparison_report(synthetic_trace, tmp_path):
    from snntrace.synthetic import write_synthetic_trace

    other = write_synthetic_trace(tmp_path / "other.trace", spikes=5_000, samples=20, seed=5, name="pruned run")
    out = tmp_path / "compare.html"
    result = run(str(synthetic_trace), str(other), "-o", str(out), "--no-static")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    assert "<title>synthetic vs pruned run</title>" in html
    assert "other spikes</dt><dd>5,000" in html and "base spikes</dt><dd>20,000" in html


def test_three_traces_or_populations_with_two_are_usage_errors(synthetic_trace, tmp_path):
    result = run(str(synthetic_trace), str(synthetic_trace), str(synthetic_trace), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2 and "give one TRACE, or two" in result.stderr
    result = run(str(synthetic_trace), str(synthetic_trace), "-o", str(tmp_path / "r.html"), "--populations", "input")
    assert result.exit_code == 2 and "--populations" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_unknown_population_and_bad_time_bin_are_usage_errors(synthetic_trace, tmp_path):
    result = run(str(synthetic_trace), "-o", str(tmp_path / "r.html"), "--populations", "nope")
    assert result.exit_code == 2 and "RP004" in result.stderr and "excitatory" in result.stderr
    result = run(str(synthetic_trace), "-o", str(tmp_path / "r.html"), "--time-bin", "fast")
    assert result.exit_code == 2 and "RP004" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_missing_trace_is_reported_with_code_and_exit_2(tmp_path):
    result = run(str(tmp_path / "absent.trace"), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert re.search(r"Error: IO001 at .*absent\.trace", result.stderr)


def test_report_stays_under_max_size(synthetic_trace, tmp_path):
    out = tmp_path / "small.html"
    result = run(str(synthetic_trace), "-o", str(out), "--max-size", "1.5", "--no-static")
    assert result.exit_code == 0, result.output
    assert out.stat().st_size <= 1_500_000
    assert "Raster density" in out.read_text(encoding="utf-8")  # raw spikes were dropped to fit


@pytest.mark.parametrize(
    ("text", "seconds"), [("50ms", 0.05), ("0.2s", 0.2), ("2", 2.0), ("1min", 60.0), ("500us", 5e-4)]
)
def test_parse_duration_understands_units(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "0ms", "-5ms", "5 parsecs"])
def test_parse_duration_rejects_nonsense(text):
    with pytest.raises(UsageError):
        parse_duration(text)


def test_a_manifest_that_fails_the_schema_is_refused_with_a_code(synthetic_trace, tmp_path):
    import json
    import shutil

    broken = Path(shutil.copytree(synthetic_trace, tmp_path / "broken.trace"))
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["time"]["resolution"] = 0
    (broken / "manifest.json").write_text(json.dumps(manifest))
    result = run(str(broken), "-o", str(tmp_path / "r.html"), "--no-static")
    assert result.exit_code == 2
    assert re.search(
        r"Error: RP005 at .*manifest\.json#/time/resolution: the manifest does not follow the schema", result.stderr
    )
    assert not (tmp_path / "r.html").exists()
