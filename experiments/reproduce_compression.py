#!/usr/bin/env python3
"""Reproduce the shape of the seed's compression table: baseline vs static threshold vs PP vs PP & DSWR.

    nice -n 19 python experiments/reproduce_compression.py [--dataset fashion-mnist | --dataset idx --data-dir DIR]
        [--neurons 100 400] [--seeds 0 1 2] [--train-samples N] [--test-samples N] [--out results.json]
        [--doc docs/reproduction.md]

One epoch of simplified-STDP training per run (6 batches, compression after each), then the labelled network is
scored on the test set. Every (neurons, strategy, seed) run is independent and seeded; results are appended to the
JSON file as they finish (a rerun skips runs already there), and the Markdown summary is rewritten each time.
Fashion-MNIST comes from Debian's dataset-fashion-mnist; pass ``--dataset idx --data-dir DIR`` for MNIST IDX files.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ("none", "static", "pp", "pp-dswr")
MIN_SPIKES = 5  # SimConfig.min_spikes, the simulator's default (not imported: --help stays fast)
LABELS = {"none": "baseline", "static": "static threshold", "pp": "PP", "pp-dswr": "PP & DSWR"}


def run_one(args, neurons: int, strategy: str, seed: int) -> dict:
    """Train, compress and test one network; return its measurements."""
    from snntrace.sim.config import SimConfig
    from snntrace.sim.simulation import Simulation

    config = SimConfig(
        dataset=args.dataset, data_dir=args.data_dir, neurons=(neurons,), train_samples=args.train_samples,
        test_samples=args.test_samples, eval_samples=args.eval_samples, epochs=1, batches=args.batches,
        compression=strategy, alpha=args.alpha, beta=args.beta, static_threshold=args.static_threshold,
        theta_max=args.theta_max, seed=seed,
    ).validate()
    started = time.perf_counter()
    result = Simulation(config, data=args.data).run()
    return {
        "neurons": neurons,
        "strategy": strategy,
        "seed": seed,
        "accuracy": result.accuracy,
        "compression": result.compression_rate[0],
        "test_firing_rate_hz": result.test_firing_rate[0],
        "test_base_firing_rate_hz": result.test_base_firing_rate[0],
        "train_firing_rate_hz": result.train_firing_rate[0],
        "batch_accuracy": [b.accuracy for b in result.batches],
        "batch_compression": [b.compression_rate[0] for b in result.batches],
        "batch_threshold": [b.threshold[0] for b in result.batches],
        "batch_firing_rate_hz": [b.firing_rate[0] for b in result.batches],
        "train_samples": result.train_samples,
        "test_samples": result.test_samples,
        "seconds": time.perf_counter() - started,
    }


def mean_std(values: list[float | None], scale: float = 1.0, digits: int = 2) -> str:
    if any(v is None for v in values):
        return "n/a"  # results written before the measure existed
    values = [v * scale for v in values]
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def summarise(results: dict) -> str:
    """Return the Markdown table of mean ± std per (neurons, strategy), and the verdict on the targets."""
    runs = results["runs"]
    setup = results["setup"]
    lines = [
        (
            f"Data: {setup['dataset_name']}, {setup['train_samples']} training / {setup['test_samples']} test images, 1 epoch, "
            f"{setup['batches']} batches, alpha {setup['alpha']}, beta {setup['beta']}, theta_max {setup.get('theta_max', 0.3)}, "
            f"static threshold {setup['static_threshold']}; "
            f"mean ± std over seeds {sorted({r['seed'] for r in runs})}. Firing rate: mean output-neuron rate (Hz) over "
            "the test pass, every presentation of a sample counted (a sample is shown again at a higher input rate "
            f"while the output fires fewer than {MIN_SPIKES} spikes). Base-rate firing: the same over each sample's "
            "first presentation only, at the base input rate."
        ),
        "",
        "| neurons | strategy | runs | accuracy (%) | compression (%) | firing rate (Hz) | base-rate firing (Hz) | final threshold |",
        "|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for neurons in sorted({r["neurons"] for r in runs}):
        by = {s: [r for r in runs if r["neurons"] == neurons and r["strategy"] == s] for s in STRATEGIES}
        for strategy in STRATEGIES:
            group = by[strategy]
            if not group:
                continue
            lines.append(
                f"| {neurons} | {LABELS[strategy]} | {len(group)} | {mean_std([r['accuracy'] for r in group], 100)} | "
                f"{mean_std([r['compression'] for r in group], 100)} | {mean_std([r['test_firing_rate_hz'] for r in group], 1, 3)} | "
                f"{mean_std([r.get('test_base_firing_rate_hz') for r in group], 1, 3)} | "
                f"{mean_std([r['batch_threshold'][-1] for r in group], 1, 3)} |"
            )
        if by["none"] and by["pp-dswr"]:
            base_acc = statistics.mean(r["accuracy"] for r in by["none"])
            dswr_acc = statistics.mean(r["accuracy"] for r in by["pp-dswr"])
            dswr_comp = statistics.mean(r["compression"] for r in by["pp-dswr"])
            text = (
                f"- {neurons} neurons: PP & DSWR compresses {dswr_comp:.1%} (target ≥ 75%: {'met' if dswr_comp >= 0.75 else 'NOT met'}); "
                f"accuracy {100 * (dswr_acc - base_acc):+.2f} points vs baseline (target within 1 point below: "
                f"{'met' if dswr_acc >= base_acc - 0.01 else 'NOT met'})"
            )
            for key, what in (("test_firing_rate_hz", "firing rate"), ("test_base_firing_rate_hz", "base-rate firing")):
                if not by["pp"] or any(key not in r for r in by["none"] + by["pp"] + by["pp-dswr"]):
                    break
                base_rate = statistics.mean(r[key] for r in by["none"])
                pp_rate = statistics.mean(r[key] for r in by["pp"])
                dswr_rate = statistics.mean(r[key] for r in by["pp-dswr"])
                closer = abs(dswr_rate - base_rate) < abs(pp_rate - base_rate)
                text += (
                    f"; {what} baseline {base_rate:.4f} Hz, PP {pp_rate:.4f} Hz, PP & DSWR {dswr_rate:.4f} Hz "
                    f"(PP & DSWR closer to baseline: {'yes' if closer else 'no'})"
                )
            verdicts.append(text + ".")
    return "\n".join(lines + [""] + verdicts) + "\n"


def write_doc(path: Path, results: dict) -> None:
    """Rewrite the Markdown report of the experiment."""
    setup = results["setup"]
    text = (
        "# Reproducing progressive compression (PP & DSWR)\n\n"
        "Produced by `experiments/reproduce_compression.py` (results: `" + str(setup["out"]) + "`). "
        "Commands:\n\n```\n" + setup["command"] + "\n```\n\n"
        "Seed paper (MNIST, 60k training images, 1 epoch, 10 runs): baseline 84.47 / 87.77 % for 100 / 400 neurons; PP & DSWR "
        "85.10 / 87.84 % at 79.4 / 79.5 % compression; static threshold 79.69 / 79.27 % at 74.0 / 70.1 %.\n\n"
        "## Results\n\n" + summarise(results) + "\n"
        f"Machine: {setup['machine']}; total run time {sum(r['seconds'] for r in results['runs']) / 60:.1f} min.\n"
    )
    if path.exists() and "<!-- notes -->" in path.read_text():
        text += path.read_text().split("<!-- notes -->", 1)[1].join(["\n<!-- notes -->", ""])
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "idx", "bundled"])
    parser.add_argument("--data-dir")
    parser.add_argument("--neurons", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train-samples", type=int, default=None, help="default: the whole training set (60,000)")
    parser.add_argument("--test-samples", type=int, default=None, help="default: the whole test set (10,000)")
    parser.add_argument("--eval-samples", type=int, default=200, help="test images scored after each batch")
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--static-threshold", type=float, default=0.2)
    parser.add_argument("--theta-max", type=float, default=0.3, help="cap of the PP threshold")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "results" / "reproduce_compression.json")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "reproduction.md")
    parser.add_argument("--merge", type=Path, nargs="+", help="only write --doc from these result files (same setup)")
    args = parser.parse_args()
    if args.merge:
        parts = [json.loads(path.read_text()) for path in args.merge]
        merged = {"setup": dict(parts[0]["setup"]), "runs": [run for part in parts for run in part["runs"]]}
        merged["setup"]["command"] = "\n".join(part["setup"]["command"] for part in parts)
        merged["setup"]["out"] = ", ".join(part["setup"]["out"] for part in parts)
        write_doc(args.doc, merged)
        print(summarise(merged))
        return 0

    from snntrace.sim.datasets import load_dataset

    args.data = load_dataset(args.dataset, args.data_dir)
    setup = {
        "dataset_name": args.data.name, "train_samples": args.train_samples or len(args.data.train_labels),
        "test_samples": args.test_samples or len(args.data.test_labels), "batches": args.batches, "alpha": args.alpha,
        "beta": args.beta, "static_threshold": args.static_threshold, "theta_max": args.theta_max, "out": str(args.out.resolve().relative_to(ROOT)) if args.out.resolve().is_relative_to(ROOT) else str(args.out),
        "command": "nice -n 19 python experiments/reproduce_compression.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }
    results = {"setup": setup, "runs": []}
    if args.out.exists():
        previous = json.loads(args.out.read_text())
        ignored = {"command", "out", "machine"}
        same = all(previous["setup"].get(k, v) == v for k, v in setup.items() if k not in ignored)
        # Runs from before the test rate timed every presentation (no base-rate figure) are not mixed with new ones.
        same = same and all("test_base_firing_rate_hz" in r for r in previous["runs"])
        if same:
            results["runs"] = previous["runs"]
    done = {(r["neurons"], r["strategy"], r["seed"]) for r in results["runs"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for neurons in args.neurons:
        for seed in args.seeds:
            for strategy in args.strategies:
                if (neurons, strategy, seed) in done:
                    continue
                run = run_one(args, neurons, strategy, seed)
                results["runs"].append(run)
                args.out.write_text(json.dumps(results, indent=1))
                write_doc(args.doc, results)
                print(f"{neurons:5d} {strategy:8s} seed {seed}: accuracy {run['accuracy']:.4f} compression {run['compression']:.4f} "
                      f"rate {run['test_firing_rate_hz']:.3f} Hz ({run['seconds']:.0f} s)", flush=True)
    print(summarise(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
