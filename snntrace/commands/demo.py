"""``snntrace demo``: simulate a small network with PP & DSWR on the bundled data, then write its HTML report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from snntrace.errors import SnntraceError
from snntrace.sim.config import SimConfig

# Sized to finish in well under two minutes on two cores, numba compilation included.
DEMO_CONFIG = SimConfig(
    dataset="bundled",
    neurons=(100,),
    train_samples=3000,
    test_samples=500,
    eval_samples=200,
    batches=6,
    compression="pp-dswr",
    seed=0,
)


class DemoError(SnntraceError, RuntimeError):
    """The demo cannot run to the end."""

    code = "SIM002"


def report_available() -> bool:
    """Return whether the report builder is installed."""
    return importlib.util.find_spec("snntrace.reports") is not None


@click.command("demo")
@click.option("-o", "--output", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the trace and report.html.")
@click.option("--force", is_flag=True, help="Replace an earlier demo in the folder.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(out_dir: Path, force: bool, quiet: bool) -> None:
    """Simulate a 100-neuron network compressed with PP & DSWR on bundled Fashion-MNIST, then write report.html."""
    from snntrace.commands.simulate import run_simulation

    if not report_available():
        raise DemoError("the report builder (snntrace.reports) is not installed, so the demo cannot write its report", location="snntrace.reports")
    report = out_dir / "report.html"
    if report.exists() and not force:
        raise DemoError(f"{report} exists; pass --force to replace it", location=str(report))
    out_dir.mkdir(parents=True, exist_ok=True)
    trace = out_dir / "demo.trace"
    result = run_simulation(DEMO_CONFIG.validate(), trace, force=force, quiet=quiet)
    import snntrace

    try:
        snntrace.report(trace, report)
    except ImportError as exc:
        raise DemoError(f"the report builder cannot be loaded ({exc}); the trace is at {trace}", location="snntrace.reports") from exc
    click.echo(f"accuracy {result.accuracy:.1%}, {result.compression_rate[0]:.1%} of synapses pruned; report: {report}")
