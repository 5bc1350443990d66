#!/usr/bin/env python3
"""Record a Nengo network learning a communication channel with PES, in chunks, and build its report.

    python examples/nengo_pes_learning.py [OUTPUT_DIR] [--seconds 10]

Writes OUTPUT_DIR/pes.trace and OUTPUT_DIR/pes.html. The recorder simulates 1000 steps at a time and clears Nengo's
probes after each chunk, so memory does not grow with the run; the trace holds every spike of both ensembles (with
counts), the voltages of ten neurons, the decoders at every 50 ms, and the learning error as metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nengo
import numpy as np
from snntrace.adapters.nengo import NengoRecorder

import snntrace


def build(seed: int = 0) -> nengo.Network:
    """Return a 2-D communication channel whose decoders start at zero and are learned by PES."""
    with nengo.Network(label="PES communication channel", seed=seed) as net:
        stim = nengo.Node(nengo.processes.WhiteSignal(60, high=5, seed=seed), size_out=2, label="stimulus")
        pre = nengo.Ensemble(100, 2, label="pre")
        post = nengo.Ensemble(100, 2, label="post")
        error = nengo.Ensemble(100, 2, label="error")
        nengo.Connection(stim, pre)
        learned = nengo.Connection(
            pre, post, function=lambda x: np.zeros(2), learning_rule_type=nengo.PES(), label="learned"
        )
        nengo.Connection(post, error)
        nengo.Connection(pre, error, transform=-1)
        nengo.Connection(error, learned.learning_rule)

        nengo.Probe(pre.neurons, label="pre spikes")
        nengo.Probe(post.neurons, label="post spikes")
        nengo.Probe(post.neurons[:10], "voltage", label="post voltage")
        # No synapse: a filtered weights probe holds smoothed decoders, which the adapter refuses.
        nengo.Probe(learned, "weights", sample_every=0.05, label="decoders")
        nengo.Probe(error, synapse=0.03, label="error")
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", type=Path, default=Path("nengo-output"))
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    trace = args.output / "pes.trace"
    with (
        nengo.Simulator(build(), seed=1, progress_bar=False) as sim,
        NengoRecorder(sim, trace, chunk_steps=1000, overwrite=True) as recorder,
    ):
        recorder.run(args.seconds)
    snntrace.report(trace, args.output / "pes.html", force=True)
    print(f"wrote {trace} and {args.output / 'pes.html'}")


if __name__ == "__main__":
    main()
