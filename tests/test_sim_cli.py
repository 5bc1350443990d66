"""``snntrace simulate`` and ``snntrace demo`` through click's CliRunner."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner

import snntrace
from snntrace.cli import cli
from snntrace.commands import demo
from snntrace.sim.config import SimConfig
from snntrace.testing import assert_valid_trace
from tests._sim_fixtures import idx_folder

SMALL = ["--neurons", "10", "--train-samples", "40", "--test-samples", "10", "--batches", "2", "--seed", "3"]


def invoke(*args):
    result = CliRunner().invoke(cli, list(map(str, args)))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_simulate_writes_a_valid_trace_and_prints_a_json_summary(tmp_path):
    out = tmp_path / "run.trace"
    result = invoke("simulate", *SMALL, "--compression", "pp-dswr", "--alpha", "0.2", "--beta", "0.3", "-o", out)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["trace"] == str(out) and 0 <= summary["accuracy"] <= 1 and summary["compression_rate"][0] > 0
    assert_valid_trace(out)
    trace = snntrace.open_trace(out)
    config = snntrace.read_manifest(out)["annotations"]["config"]
    assert (config["alpha"], config["beta"], config["neurons"], config["seed"]) == (0.2, 0.3, [10], 3)
    reinforce = trace.events.filter(pl.col("kind") == "reinforce").collect()
    assert reinforce.height == 2 and json.loads(reinforce["payload"][0])["beta"] == 0.3


def test_simulate_reads_a_toml_configuration_and_options_override_it(tmp_path):
    (tmp_path / "run.toml").write_text('neurons = 20\ncompression = "static"\nstatic_threshold = 0.4\nseed = 1\n')
    out = tmp_path / "run.trace"
    result = invoke("simulate", "--config", tmp_path / "run.toml", *SMALL, "-q", "-o", out)
    assert result.exit_code == 0, result.output
    config = snntrace.read_manifest(out)["annotations"]["config"]
    assert (config["neurons"], config["compression"], config["static_threshold"], config["seed"]) == ([10], "static", 0.4, 3)
    assert result.stderr == "", "-q hides the progress bar"


def test_simulate_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "run.trace"
    assert invoke("simulate", *SMALL, "-q", "-o", out).exit_code == 0
    again = invoke("simulate", *SMALL, "-q", "-o", out)
    assert again.exit_code == 2 and "--force" in again.stderr and again.stdout == ""
    assert invoke("simulate", *SMALL, "-q", "--force", "-o", out).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compression", "prune"], "'prune' is not one of 'none', 'static', 'pp', 'pp-dswr'"),
        (["--neurons", "ten"], "neurons must be an integer"),
        (["--theta-max", "2"], "theta_max must be a weight between 0 and 1"),
        (["--dataset", "idx"], "needs data_dir"),
    ],
)
def test_simulate_bad_usage_exits_2_with_a_message(tmp_path, args, message):
    result = invoke("simulate", *args, "-o", tmp_path / "x.trace")
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "x.trace").exists()


def test_a_data_dir_alone_selects_its_idx_files(tmp_path):
    idx_folder(tmp_path, gz=True)
    result = invoke("simulate", "--data-dir", tmp_path, "--neurons", "5", "--batches", "1", "-q", "-o", tmp_path / "run.trace")
    assert result.exit_code == 0, result.stderr
    manifest = snntrace.read_manifest(tmp_path / "run.trace")
    assert manifest["dataset"]["classes"] == list("0123456789")
    assert snntrace.open_trace(tmp_path / "run.trace").samples.collect().height == 30 + 10


def test_same_seed_on_the_command_line_gives_identical_spikes(tmp_path):
    for name in ("a", "b"):
        assert invoke("simulate", *SMALL, "-q", "-o", tmp_path / name).exit_code == 0
    a, b = (snntrace.open_trace(tmp_path / n).spikes.collect() for n in ("a", "b"))
    assert a.height > 0 and a.equals(b)


@pytest.mark.slow
def test_demo_simulates_and_writes_the_report(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_CONFIG", SimConfig(neurons=(10,), train_samples=40, test_samples=10, eval_samples=10, batches=2, compression="pp-dswr"))
    result = invoke("demo", "-q", "-o", tmp_path / "out")
    if result.exit_code == 2 and "report builder" in result.stderr:
        pytest.xfail(f"the report builder is not available yet: {result.stderr.strip()}")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000
    assert_valid_trace(tmp_path / "out" / "demo.trace")


def test_demo_without_the_report_builder_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "report_available", lambda: False)
    result = invoke("demo", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "SIM002" in result.stderr and "report builder" in result.stderr
