#!/usr/bin/env python3
"""Why does compression stop where it does? Weight histograms and neuron activity after each training batch.

    nice -n 19 python experiments/diagnose_weights.py [--neurons 100] [--seed 0] [--compression none]
        [--train-samples N] [--out experiments/results/diagnose_weights_100.json] [--set name=value ...]

Trains one network exactly as ``reproduce_compression.py`` does and, at the end of every batch (before its prune),
records: the weight histogram of the kept synapses (20 bins on [0, 1]), the fraction of all synapses below 0.05, 0.1,
0.2, 0.3, 0.5, how many neurons won at least once in the batch, and, at the end, the share of synapses below 0.3 on
pixels a neuron's class lights up (mean intensity >= 10 / 255) vs pixels it leaves dark. The last shows whether the
weights that survive are the ones the neuron's input actually drives (a data limit) or noise (a learning limit).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CUTS = (0.05, 0.1, 0.2, 0.3, 0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "idx", "bundled"])
    parser.add_argument("--data-dir")
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compression", default="none", choices=["none", "static", "pp", "pp-dswr"])
    parser.add_argument("--train-samples", type=int, default=None)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="other SimConfig fields (floats)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from snntrace.sim.config import SimConfig
    from snntrace.sim.simulation import Simulation

    extra = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}
    config = SimConfig(
        dataset=args.dataset,
        data_dir=args.data_dir,
        neurons=(args.neurons,),
        train_samples=args.train_samples,
        test_samples=2000,
        eval_samples=200,
        epochs=1,
        batches=6,
        compression=args.compression,
        seed=args.seed,
        **extra,
    ).validate()
    sim = Simulation(config)
    layer = sim.network.layers[0]
    batches = []
    relabel = sim._relabel

    def snapshot() -> None:
        # called once per batch, after its last sample and before its compression step
        relabel()
        w = layer.weights[layer.mask]
        filled = min(sim._label_filled, len(sim._label_classes))
        wins = sim._label_counts[:filled].sum(axis=0).astype(float)
        batches.append(
            {
                "samples_seen": sim._label_filled,
                "kept": int(layer.mask.sum()),
                "histogram_kept": np.histogram(w, bins=20, range=(0.0, 1.0))[0].tolist(),
                "fraction_below": {str(c): float(((layer.weights < c) | ~layer.mask).mean()) for c in CUTS},
                "neurons_spiking_in_label_window": int((wins > 0).sum()),
                "mean_theta": float(layer.theta.mean()),
            }
        )
        print(json.dumps(batches[-1]), flush=True)

    sim._relabel = snapshot
    started = time.perf_counter()
    result = sim.run()
    data = sim.data
    images = data.train_images.reshape(len(data.train_labels), -1).astype(np.float64)
    lit = np.stack([images[data.train_labels == c].mean(axis=0) >= 10.0 for c in range(len(data.classes))])
    labels = sim.neuron_labels
    labelled = labels >= 0
    on = lit[labels[labelled]].T  # (pixels, labelled neurons): pixel lit in the neuron's class
    low = (layer.weights[:, labelled] < 0.3) | ~layer.mask[:, labelled]
    out = {
        "config": config.to_dict(),
        "accuracy": result.accuracy,
        "compression": result.compression_rate[0],
        "seconds": time.perf_counter() - started,
        "batches": batches,
        "neurons_labelled": int(labelled.sum()),
        "below_0.3_on_lit_pixels": float(low[on].mean()),
        "below_0.3_on_dark_pixels": float(low[~on].mean()),
        "share_of_lit_pixels": float(on.mean()),
        "final_histogram_all": np.histogram(layer.weights, bins=20, range=(0.0, 1.0))[0].tolist(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k not in ("batches", "config")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
