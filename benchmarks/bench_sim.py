#!/usr/bin/env python3
"""Included simulator: milliseconds per training sample, against Brian2 running the same network on the same input.

    python benchmarks/bench_sim.py --out results/sim.json [--quick]

For 100, 400 and 1600 neurons, one trained layer (784 Poisson inputs, additive LIF, winner-takes-all, adaptive
threshold, simplified STDP) learns from bundled Fashion-MNIST images: ``snntrace.sim`` presents each image
(350 ms + 150 ms rest) in one numba call per layer, after a warm-up sample (numba's compile is cached on disk and not
counted). The baseline is Brian2 (numpy code generation target, clock-driven at dt = 0.5 ms, the same equations,
STDP rule and inhibition written as Brian2 synapses) fed the *same* input spike events through a
SpikeGeneratorGroup; its set-up and first run (code generation) are not counted either. No trace is recorded.
Both run single-threaded; the figure compared is CPU time per sample (``time.process_time``), which stays meaningful
on a machine shared with other jobs; wall-clock time is reported next to it.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

PRESENTATION_MS = 350.0
REST_MS = 150.0


def samples(n: int, seed: int = 0):
    """Return ``n`` bundled training images and the Poisson input events of each (times ms from 0, lines)."""
    from snntrace.sim.datasets import load_bundled
    from snntrace.sim.encoding import poisson_events

    data = load_bundled()
    rng = np.random.default_rng(seed)
    images = data.train_images[:n]
    return images, [poisson_events(image, 63.75, PRESENTATION_MS, 0.0, rng) for image in images]


def bench_snntrace(neurons: int, n_samples: int) -> dict:
    """Time ``Network.present`` (encoding included) per training sample."""
    from snntrace.sim.config import SimConfig
    from snntrace.sim.network import Network

    config = SimConfig(neurons=(neurons,)).validate()
    network = Network(config, 784, np.random.default_rng(0))
    images, _ = samples(n_samples + 1)
    rng = np.random.default_rng(1)
    shown = network.present(images[0], 0.0, rng, learn=True)  # warm-up: loads the compiled kernel
    t = shown.next_t
    spikes = 0
    started, cpu = time.perf_counter(), time.process_time()
    for image in images[1:]:
        shown = network.present(image, t, rng, learn=True)
        t = shown.next_t
        spikes += len(shown.spikes[0][0])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"ms_per_sample": 1000 * cpu / n_samples, "wall_ms_per_sample": 1000 * elapsed / n_samples, "samples": n_samples, "output_spikes_per_sample": spikes / n_samples}


def bench_brian2(neurons: int, n_samples: int) -> dict:
    """Time Brian2 (numpy target) on the same network and input events, per training sample."""
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    b2.defaultclock.dt = 0.5 * b2.ms
    from snntrace.sim.config import SimConfig

    c = SimConfig(neurons=(neurons,)).validate()
    _, events = samples(n_samples + 1)
    period = (PRESENTATION_MS + REST_MS) * b2.ms
    times = np.concatenate([ev_t + k * (PRESENTATION_MS + REST_MS) for k, (ev_t, _) in enumerate(events)])
    lines = np.concatenate([ev_i for _, ev_i in events])
    # SpikeGeneratorGroup allows one spike per line per time step: merge duplicates (rare at 63.75 Hz)
    steps = np.rint(times / 0.5).astype(np.int64)
    _, keep = np.unique(steps * 784 + lines, return_index=True)
    inputs = b2.SpikeGeneratorGroup(784, lines[keep], steps[keep] * 0.5 * b2.ms)
    layer = b2.NeuronGroup(
        neurons,
        """dv/dt = -v / tau : 1 (unless refractory)
           theta : 1
           inhibited_until : second""",
        threshold="v > v_thresh + theta",
        reset="v = 0; theta += theta_plus",
        refractory=c.refractory * b2.ms,
        method="exact",
        namespace={"tau": c.tau_m * b2.ms, "v_thresh": c.v_thresh, "theta_plus": c.theta_plus},
    )
    stdp = b2.Synapses(
        inputs,
        layer,
        """w : 1
           lastpre : second""",
        on_pre="""v_post += w * int(t >= inhibited_until_post and not_refractory_post)
                  lastpre = t""",
        on_post="w = clip(w + int(t - lastpre <= t_stdp) * a_plus * exp(-b_plus * w) - int(t - lastpre > t_stdp) * a_minus * exp(-b_minus * (1 - w)), 0, 1)",
        namespace={"t_stdp": c.t_stdp * b2.ms, "a_plus": c.a_plus, "a_minus": c.a_minus, "b_plus": c.b_plus, "b_minus": c.b_minus},
    )
    stdp.connect()
    stdp.w = np.clip(np.random.default_rng(0).normal(c.w_init_mean, c.w_init_std, size=784 * neurons), 0, 1)
    stdp.lastpre = -1 * b2.second
    inhibition = b2.Synapses(layer, layer, on_pre="v_post = 0\ninhibited_until_post = t + t_inh", namespace={"t_inh": c.inhibition * b2.ms})
    inhibition.connect(condition="i != j")
    monitor = b2.SpikeMonitor(layer)
    net = b2.Network(inputs, layer, stdp, inhibition, monitor)
    net.run(period)  # warm-up: code generation
    started, cpu = time.perf_counter(), time.process_time()
    net.run(n_samples * period)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "ms_per_sample": 1000 * cpu / n_samples,
        "wall_ms_per_sample": 1000 * elapsed / n_samples,
        "samples": n_samples,
        "output_spikes_per_sample": (monitor.num_spikes - 0) / (n_samples + 1),
        "target": "numpy",
        "dt_ms": 0.5,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="fewer samples and no 1600-neuron Brian2 run")
    args = parser.parse_args()
    sizes = (100, 400, 1600)
    ours_n = 50 if args.quick else 500
    brian_n = {100: 1, 400: 1, 1600: 0} if args.quick else {100: 3, 400: 2, 1600: 1}
    rows = []
    for neurons in sizes:
        ours = bench_snntrace(neurons, ours_n)
        row = {"neurons": neurons, "snntrace": ours}
        if brian_n[neurons]:
            brian = bench_brian2(neurons, brian_n[neurons])
            row["brian2"] = brian
            row["speedup"] = brian["ms_per_sample"] / ours["ms_per_sample"]
        rows.append(row)
        extra = f"  Brian2 {row['brian2']['ms_per_sample']:9.1f} ms/sample  ratio {row['speedup']:6.0f}x" if "brian2" in row else ""
        print(f"{neurons:5d} neurons: snntrace.sim {ours['ms_per_sample']:6.2f} ms/sample{extra}", flush=True)
    result = {
        "benchmark": "sim",
        "quick": args.quick,
        "machine": {"python": platform.python_version(), "machine": platform.machine()},
        "rows": rows,
        "targets": {"ms_per_sample_at_100": 2.0, "speedup_vs_brian2": 20.0},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
