#!/usr/bin/env python3
"""Nengo adapter: peak memory stays flat as runs grow, and the trace is far smaller than Nengo's dense probe arrays.

    python benchmarks/bench_nengo.py --out results/nengo.json [--quick]

Each measurement runs in a fresh subprocess (peak RSS is per process): the same spiking network (LIF ensembles, every
neuron's spikes probed, voltages of a few neurons, a decoded output) is simulated for two run lengths, once with
plain ``Simulator.run`` keeping Nengo's dense probe arrays (the baseline) and once through ``NengoRecorder`` in
chunks with parts of ``PART_ROWS`` rows. Reported: peak RSS of each, their growth from the short to the long run,
run time, and the trace size against the dense probe arrays (raw float64 and ``np.savez_compressed``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEURONS = 2000
# Rows per table buffered before a part is written: with the chunk, this bounds the recorder's memory.
PART_ROWS = {"spikes": 1 << 20, "states": 1 << 20}


def _model(neurons: int):
    import nengo
    import numpy as np

    with nengo.Network(label="bench", seed=0) as net:
        stim = nengo.Node(lambda t: [np.sin(2 * np.pi * t), np.cos(3 * np.pi * t)], label="stim")
        a = nengo.Ensemble(neurons, 2, label="a")
        b = nengo.Ensemble(neurons // 4, 1, label="b")
        nengo.Connection(stim, a)
        nengo.Connection(a, b, function=lambda x: x[0] * x[1])
        nengo.Probe(a.neurons, label="a spikes")
        nengo.Probe(b.neurons, label="b spikes")
        nengo.Probe(a.neurons[:10], "voltage", label="a voltage")
        nengo.Probe(b, synapse=0.01, label="b value")
    return net


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str, seconds: float, neurons: int, workdir: str) -> dict:
    """Run one measurement in this process and return its figures."""
    import nengo
    import numpy as np

    net = _model(neurons)
    out: dict = {"mode": mode, "seconds": seconds, "neurons": neurons}
    with nengo.Simulator(net, progress_bar=False, seed=1) as sim:
        out["rss_after_build_mb"] = _peak_rss_mb()
        start = time.perf_counter()
        if mode == "dense":
            sim.run(seconds)
            arrays = {p.label: np.asarray(sim.data[p]) for p in sim.model.probes}
            out["run_s"] = time.perf_counter() - start
            out["dense_bytes"] = int(sum(a.nbytes for a in arrays.values()))
            npz = Path(workdir) / "dense.npz"
            np.savez_compressed(npz, **arrays)
            out["npz_bytes"] = npz.stat().st_size
        else:
            from snntrace.adapters.nengo import NengoRecorder

            path = Path(workdir) / "run.trace"
            with NengoRecorder(sim, path, chunk_steps=1000, part_rows=PART_ROWS) as recorder:
                recorder.run(seconds)
            out["run_s"] = time.perf_counter() - start
            out["trace_bytes"] = int(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()))
            out["table_bytes"] = {
                d.name: int(sum(f.stat().st_size for f in d.glob("*.parquet")))
                for d in sorted(path.iterdir())
                if d.is_dir()
            }
            import pyarrow.parquet as pq  # row counts from the footers: reading the rows would raise the peak RSS

            out["spike_rows"] = sum(pq.ParquetFile(f).metadata.num_rows for f in (path / "spikes").glob("*.parquet"))
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def measure(mode: str, seconds: float, neurons: int) -> dict:
    """Run :func:`child` in a fresh interpreter and return its figures."""
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, __file__, "--child", mode, str(seconds), str(neurons), workdir]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode:
            raise SystemExit(f"{mode} run of {seconds} s failed:\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="results JSON file (required)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=4, metavar=("MODE", "SECONDS", "NEURONS", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, seconds, neurons, workdir = args.child
        print(json.dumps(child(mode, float(seconds), int(neurons), workdir)))
        return 0
    if args.out is None:
        parser.error("--out is required")
    neurons = 500 if args.quick else NEURONS
    short, long = (1.0, 3.0) if args.quick else (10.0, 40.0)
    runs = {
        f"{mode}_{length:g}s": measure(mode, length, neurons) for mode in ("dense", "trace") for length in (short, long)
    }
    for name, run in runs.items():
        print(f"{name}: peak RSS {run['peak_rss_mb']:.0f} MB, run {run['run_s']:.1f} s", flush=True)
    dense_s, dense_l = runs[f"dense_{short:g}s"], runs[f"dense_{long:g}s"]
    trace_s, trace_l = runs[f"trace_{short:g}s"], runs[f"trace_{long:g}s"]
    summary = {
        "neurons": neurons + neurons // 4,
        "lengths_s": [short, long],
        "dense_rss_growth_mb": dense_l["peak_rss_mb"] - dense_s["peak_rss_mb"],
        "trace_rss_growth_mb": trace_l["peak_rss_mb"] - trace_s["peak_rss_mb"],
        "trace_vs_dense_peak_rss_long": trace_l["peak_rss_mb"] / dense_l["peak_rss_mb"],
        "trace_vs_dense_bytes_long": trace_l["trace_bytes"] / dense_l["dense_bytes"],
        "trace_vs_npz_bytes_long": trace_l["trace_bytes"] / dense_l["npz_bytes"],
        "trace_vs_dense_run_time_long": trace_l["run_s"] / dense_l["run_s"],
        "spike_bytes_per_row_long": trace_l["table_bytes"].get("spikes", 0) / max(trace_l["spike_rows"], 1),
    }
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"benchmark": "nengo", "quick": args.quick, "runs": runs, "summary": summary}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
