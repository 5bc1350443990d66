#!/usr/bin/env python3
"""Brian2 adapter: memory and run time of live recording (TraceRecorder) against plain Brian2 monitors.

    python benchmarks/bench_brian2.py --out results/brian2.json [--quick] [--repeat N]

The network is Brian2's CUBA example (4000 LIF neurons, 80/20 excitatory/inhibitory, p=0.02, numpy target). Each
configuration records the same data -- every spike, and ``v`` of 500 neurons at every 0.1 ms step -- and runs in
its own subprocess so that its peak RSS is its own:

- ``monitors``: SpikeMonitor + StateMonitor, everything kept in memory (Brian's usual way);
- ``recorder``: a TraceRecorder streaming the same data into a trace directory, monitors drained every 100 ms;
- ``posthoc``: the ``monitors`` run, then ``write_trace`` converting the monitors (time reported separately).

Each is run at two run lengths: with monitors the memory grows with the run, with the recorder it must not.
Run time is measured on a second ``run()`` after a short first one, so that Brian's one-off code generation
(the same in every configuration) does not dilute the ratio. Ratios are against ``monitors`` in the same
invocation, so they compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECORDED_NEURONS = 500
WARMUP_MS = 10


def _network(n: int = 4000):
    """Build Brian2's CUBA example network (Brette et al. 2007) on the numpy target."""
    from brian2 import NeuronGroup, Synapses, ms, mV, prefs, seed

    prefs.codegen.target = "numpy"
    seed(7)
    namespace = {
        "taum": 20 * ms,
        "taue": 5 * ms,
        "taui": 10 * ms,
        "Vt": -50 * mV,
        "Vr": -60 * mV,
        "El": -49 * mV,
        "we": 60 * 0.27 / 10 * mV,
        "wi": -20 * 4.5 / 10 * mV,
    }
    equations = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    group = NeuronGroup(
        n, equations, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact", namespace=namespace
    )
    group.v = "Vr + rand() * (Vt - Vr)"
    excitatory = Synapses(group[: n * 4 // 5], group, on_pre="ge += we", namespace=namespace)
    excitatory.connect(p=0.02)
    inhibitory = Synapses(group[n * 4 // 5 :], group, on_pre="gi += wi", namespace=namespace)
    inhibitory.connect(p=0.02)
    return group, excitatory, inhibitory


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def child(mode: str, seconds: float, workdir: Path, state_dt_ms: float) -> dict:
    """Run one configuration and return its measurements (called in a fresh subprocess)."""
    from brian2 import Network, SpikeMonitor, StateMonitor, ms, second
    from snntrace.adapters.brian2 import States, TraceRecorder, write_trace

    group, excitatory, inhibitory = _network()
    network = Network(group, excitatory, inhibitory)
    result: dict = {"mode": mode, "seconds": seconds}
    if mode == "recorder":
        recorder = TraceRecorder(
            workdir / "live.trace",
            spikes=[group],
            states=[States(group, "v", neurons=range(RECORDED_NEURONS), dt=state_dt_ms * ms)],
            chunk=100 * ms,
        )
        network.add(recorder)
        with recorder:
            network.run(WARMUP_MS * ms)
            result["rss_before"] = _rss()
            start, cpu = time.perf_counter(), time.process_time()
            network.run(seconds * second)
        # Includes writing the last parts and the manifest; CPU time includes the writer thread's.
        result["run_seconds"] = time.perf_counter() - start
        result["cpu_seconds"] = time.process_time() - cpu
        result["trace_bytes"] = sum(p.stat().st_size for p in (workdir / "live.trace").rglob("*") if p.is_file())
    else:
        spikes = SpikeMonitor(group)
        states = StateMonitor(group, "v", record=range(RECORDED_NEURONS), dt=state_dt_ms * ms)
        network.add(spikes, states)
        network.run(WARMUP_MS * ms)
        result["rss_before"] = _rss()
        start, cpu = time.perf_counter(), time.process_time()
        network.run(seconds * second)
        result["run_seconds"] = time.perf_counter() - start
        result["cpu_seconds"] = time.process_time() - cpu
        result["spikes"] = int(spikes.num_spikes)
        if mode == "posthoc":
            start = time.perf_counter()
            write_trace(workdir / "posthoc.trace", spikes, states, group, excitatory, inhibitory)
            result["convert_seconds"] = time.perf_counter() - start
    result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["growth"] = result["peak_rss"] - result["rss_before"]
    return result


def _run_child(mode: str, seconds: float, state_dt_ms: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-brian2-") as workdir:
        command = [sys.executable, __file__, "--child", mode, str(seconds), workdir, str(state_dt_ms)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            sys.stderr.write(completed.stderr[-4000:])
            raise SystemExit(f"{mode} {seconds}s failed (exit {completed.returncode})")
        return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the results JSON here")
    parser.add_argument("--quick", action="store_true", help="short runs: check the benchmark works, not the figures")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration; the fastest counts")
    parser.add_argument(
        "--state-dt-ms", type=float, default=0.1, help="sampling step of v (default: every 0.1 ms step)"
    )
    parser.add_argument("--child", nargs=4, metavar=("MODE", "SECONDS", "DIR", "STATE_DT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, seconds, workdir, state_dt_ms = args.child
        print(json.dumps(child(mode, float(seconds), Path(workdir), float(state_dt_ms))))
        return 0

    lengths = (0.1, 0.3) if args.quick else (1.0, 4.0)
    runs: list[dict] = []
    for seconds in lengths:
        for mode in ("monitors", "recorder", "posthoc"):
            attempts = [_run_child(mode, seconds, args.state_dt_ms) for _ in range(max(1, args.repeat))]
            best = min(attempts, key=lambda r: r["run_seconds"])
            best["peak_rss"] = max(r["peak_rss"] for r in attempts)
            best["growth"] = max(r["growth"] for r in attempts)
            runs.append(best)
            print(
                f"{mode:9s} {seconds:4.1f} s simulated: run {best['run_seconds']:6.2f} s (CPU {best['cpu_seconds']:6.2f} s), peak RSS {best['peak_rss'] / 2**20:7.1f} MiB, "
                f"growth during the run {best['growth'] / 2**20:7.1f} MiB"
                + (f", write_trace {best['convert_seconds']:.2f} s" if "convert_seconds" in best else ""),
                flush=True,
            )

    def pick(mode: str, seconds: float) -> dict:
        return next(r for r in runs if r["mode"] == mode and r["seconds"] == seconds)

    short, long = lengths
    summary = {
        "run_time_overhead": {
            f"{s:g}s": pick("recorder", s)["run_seconds"] / pick("monitors", s)["run_seconds"] - 1 for s in lengths
        },
        "cpu_time_overhead": {
            f"{s:g}s": pick("recorder", s)["cpu_seconds"] / pick("monitors", s)["cpu_seconds"] - 1 for s in lengths
        },
        "posthoc_total_over_monitors": {
            f"{s:g}s": (pick("posthoc", s)["run_seconds"] + pick("posthoc", s)["convert_seconds"])
            / pick("monitors", s)["run_seconds"]
            - 1
            for s in lengths
        },
        "growth_mib": {m: {f"{s:g}s": pick(m, s)["growth"] / 2**20 for s in lengths} for m in ("monitors", "recorder")},
        "peak_rss_long_over_short": {
            m: pick(m, long)["peak_rss"] / pick(m, short)["peak_rss"] for m in ("monitors", "recorder")
        },
        "recorder_peak_over_monitors_long": pick("recorder", long)["peak_rss"] / pick("monitors", long)["peak_rss"],
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "benchmark": "brian2",
            "quick": args.quick,
            "network": f"CUBA, 4000 neurons, numpy target; every spike + v of {RECORDED_NEURONS} neurons every {args.state_dt_ms:g} ms",
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
            "runs": runs,
            "summary": summary,
        }
        args.out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
