"""``snntrace simulate``: train a spiking network with STDP (optionally compressing it) and write its trace."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from snntrace.sim.config import DATASETS, STRATEGIES, load_config, parse_neurons


def run_simulation(config, output: Path, *, force: bool, quiet: bool = False):
    """Run a simulation with a progress bar on stderr and return its result."""
    from snntrace.sim.simulation import Simulation

    simulation = Simulation(config)
    total = len(simulation.data.train_labels) * config.epochs + len(simulation.data.test_labels)
    with click.progressbar(length=total, label="simulating", file=sys.stderr, hidden=quiet) as bar:
        return simulation.run(output, overwrite=force, progress=bar.update)


@click.command("simulate")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), help="JSON or TOML file of parameters (SimConfig fields).")
@click.option("--dataset", type=click.Choice(DATASETS), help="bundled (default), fashion-mnist (Debian's) or idx (--data-dir).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder of IDX files (gzipped or not).")
@click.option("--neurons", help="Neurons per trained layer: 100, or 400,100 for a stack.")
@click.option("--epochs", type=int)
@click.option("--batches", type=int, help="Batches per epoch (compression and measurements happen after each).")
@click.option("--train-samples", type=int, help="Training images to use (default: all of the data set).")
@click.option("--test-samples", type=int, help="Test images to use (default: all of the data set).")
@click.option("--compression", type=click.Choice(STRATEGIES), help="none, static, pp (progressive pruning) or pp-dswr.")
@click.option("--schedule", type=click.Choice(["batch", "epoch"]), help="Compress after every batch or every epoch.")
@click.option("--alpha", type=float, help="PP threshold step (0.05).")
@click.option("--beta", type=float, help="DSWR reinforcement factor (0.1).")
@click.option("--theta-max", type=float, help="Cap of the pruning threshold (0.3).")
@click.option("--seed", type=int, help="Random seed (the same seed gives the same trace).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Trace directory to write.")
@click.option("--force", is_flag=True, help="Replace an existing trace at OUTPUT.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(config_file, dataset, data_dir, neurons, epochs, batches, train_samples, test_samples, compression, schedule, alpha, beta, theta_max, seed, output, force, quiet):
    """Train a spiking network with STDP on images and write its trace to OUTPUT.

    Diehl & Cook-style network: Poisson input, LIF neurons with winner-takes-all and adaptive thresholds, simplified
    STDP; optionally compressed by a static threshold, Progressive Pruning (pp) or PP with Dynamic Synaptic Weight
    Reinforcement (pp-dswr). Runs offline on the bundled Fashion-MNIST subset by default.
    """
    if data_dir is not None and dataset is None:
        dataset = "idx"  # a folder of IDX files given on its own means: use it
    config = load_config(
        config_file,
        dataset=dataset,
        data_dir=None if data_dir is None else str(data_dir),
        neurons=None if neurons is None else parse_neurons(neurons),
        epochs=epochs,
        batches=batches,
        train_samples=train_samples,
        test_samples=test_samples,
        compression=compression,
        schedule=schedule,
        alpha=alpha,
        beta=beta,
        theta_max=theta_max,
        seed=seed,
    )
    result = run_simulation(config, output, force=force, quiet=quiet)
    summary = {
        "trace": str(output),
        "accuracy": round(result.accuracy, 4),
        "compression_rate": [round(c, 4) for c in result.compression_rate],
        "test_firing_rate_hz": [round(r, 3) for r in result.test_firing_rate],
        "train_seconds": round(result.train_seconds, 2),
    }
    click.echo(json.dumps(summary))
