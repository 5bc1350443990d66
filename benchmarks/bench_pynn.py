#!/usr/bin/env python3
"""Benchmark the PyNN/Neo and SpiNNaker adapters against the libraries' own paths, in the same run.

* neo: converting PyNN-shaped Neo blocks (spike trains + a dense membrane-potential signal) into a trace vs
  Neo's own ``PickleIO.write_block`` of the same blocks (what ``Population.write_data`` does); wall time and the
  peak RSS growth over the blocks themselves (the adapter streams: no second full copy).
* spinnaker: ``convert_database`` vs sPyNNaker's ``NeoBufferDatabase.get_full_block`` on a recording database
  scaled up from the test fixture (hand-packed NEURON_SPIKES and S1615 MATRIX blobs); wall time and peak RSS.
* live: a pyNN.brian2 run recorded by ``PynnRecorder`` every 100 ms vs the same run with ``get_data()`` at the end.

Each measurement runs in a fresh process (peak RSS is per process).

    .venv/bin/python benchmarks/bench_pynn.py --out benchmarks/results/pynn.json [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "spinnaker" / "fixture.sqlite3"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm_up(workdir: str) -> None:
    """Import and exercise the writer once so that neither side pays for imports inside the timed part."""
    from snntrace.synthetic import write_synthetic_trace

    write_synthetic_trace(Path(workdir) / f"warm-{os.getpid()}.trace", spikes=100, samples=2)


# -- neo -------------------------------------------------------------------------------------------------------------------
def pynn_like_blocks(n_neurons: int, n_recorded: int, duration_ms: float, rate_hz: float = 10.0, dt: float = 0.1):
    """Return one Neo block laid out as pyNN.brian2 writes it: spikes of every neuron, v of ``n_recorded``."""
    import neo
    import quantities as pq

    rng = np.random.default_rng(0)
    block = neo.Block(name="exc", label="exc", size=n_neurons, first_id=0, last_id=n_neurons - 1, first_index=0,
                      last_index=n_neurons, simulator="Brian2", dt=dt, mpi_processes=1)
    segment = neo.Segment(name="segment000")
    steps = int(duration_ms / dt)
    for i in range(n_neurons):
        count = rng.poisson(rate_hz * duration_ms / 1000)
        times = np.sort(rng.choice(steps, size=min(count, steps), replace=False)) * dt
        segment.spiketrains.append(neo.SpikeTrain(times * pq.ms, t_stop=duration_ms * pq.ms, source_population="exc",
                                                  source_index=i, channel_id=i))
    values = rng.normal(-60.0, 5.0, size=(steps + 1, n_recorded))
    segment.analogsignals.append(neo.AnalogSignal(values, units="mV", sampling_period=dt * pq.ms, name="v",
                                                  channel_ids=np.arange(n_recorded), source_population="exc",
                                                  array_annotations={"channel_index": np.arange(n_recorded)}))
    block.segments.append(segment)
    return block, values.nbytes + sum(t.nbytes for t in segment.spiketrains)


def neo_child(mode: str, n_neurons: int, n_recorded: int, duration_ms: float, workdir: str) -> dict:
    """Build the blocks, then either pickle them (baseline) or convert them; report time and RSS growth."""
    import neo
    from snntrace.adapters.neo import convert_blocks

    block, nbytes = pynn_like_blocks(n_neurons, n_recorded, duration_ms)
    _warm_up(workdir)
    before = _rss_mb()
    start = time.perf_counter()
    if mode == "pickle":
        neo.io.PickleIO(os.path.join(workdir, "exc.pkl")).write_block(block)
    else:
        convert_blocks(block, os.path.join(workdir, "exc.trace"))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_growth_mb": _rss_mb() - before, "block_mb": nbytes / 2**20}


# -- spinnaker ---------------------------------------------------------------------------------------------------------------
def scaled_database(path: Path, n_neurons: int, steps: int, seed: int = 1) -> None:
    """Scale the fixture's ``exc`` population to ``n_neurons`` on two cores with ``steps`` timesteps of data."""
    shutil.copyfile(FIXTURE, path)
    rng = np.random.default_rng(seed)
    db = sqlite3.connect(path)
    pop_id = db.execute("SELECT pop_id FROM population WHERE label = 'exc'").fetchone()[0]
    db.execute("UPDATE population SET pop_size = ? WHERE pop_id = ?", (n_neurons, pop_id))
    db.execute("DELETE FROM recording_data")
    db.execute("UPDATE segment SET t_stop = ?", (float(steps),))
    half = n_neurons // 2
    rows = db.execute(
        "SELECT m.region_id, r.buffered_type FROM region_metadata m JOIN recording r ON r.rec_id = m.rec_id "
        "WHERE r.pop_id = ? ORDER BY m.region_id", (pop_id,)
    ).fetchall()
    ranges = {}
    for region_id, buffered_type in rows:
        index = sum(1 for r, b in rows if b == buffered_type and r < region_id)
        lo, hi = (0, half - 1) if index == 0 else (half, n_neurons - 1)
        ranges[region_id] = (lo, hi)
        db.execute("UPDATE region_metadata SET recording_neurons_st = ?, vertex_slice = ? WHERE region_id = ?",
                   (f"{lo}:{hi}", f"({lo}:{hi})", region_id))
        n = hi - lo + 1
        if buffered_type == "MATRIX":
            data = np.empty((steps, 1 + n), dtype="<i4")
            data[:, 0] = np.arange(steps)
            data[:, 1:] = rng.integers(-70 * 32768, -50 * 32768, size=(steps, n))
        else:
            words = math.ceil(n / 32)
            bits = rng.random((steps, words * 32)) < 0.01
            bits[:, n:] = False
            packed = np.packbits(bits, axis=1, bitorder="little").view("<u4")
            data = np.empty((steps, 1 + words), dtype="<u4")
            data[:, 0] = np.arange(steps)
            data[:, 1:] = packed
            data = data[packed.any(axis=1)]
        content = data.tobytes()
        db.execute("INSERT INTO recording_data(recording_region_id, extraction_id, content, content_len, missing_data) "
                   "VALUES (?, 1, ?, ?, 0)", (region_id, content, len(content)))
    db.commit()
    db.close()


def spinnaker_child(mode: str, database: str, workdir: str) -> dict:
    """Read the scaled database with sPyNNaker (baseline) or convert it with snntrace; report time and RSS."""
    from snntrace.adapters.spinnaker import convert_database
    from spynnaker.pyNN.utilities.neo_buffer_database import NeoBufferDatabase

    _warm_up(workdir)
    before = _rss_mb()
    start = time.perf_counter()
    if mode == "spynnaker":
        with NeoBufferDatabase(database) as reader:
            reader.get_full_block("exc", "all", None, None)
    else:
        convert_database(database, os.path.join(workdir, "db.trace"))
    return {"seconds": time.perf_counter() - start, "rss_growth_mb": _rss_mb() - before}


# -- live ------------------------------------------------------------------------------------------------------------------
def live_child(mode: str, duration_ms: float, workdir: str) -> dict:
    """Run a pyNN.brian2 E/I network, recorded live or with get_data() at the end; report time and peak RSS."""
    import brian2
    import pyNN.brian2 as sim
    from snntrace.adapters.pynn import PynnRecorder

    brian2.prefs.codegen.target = "numpy"
    sim.setup(timestep=0.1)
    stim = sim.Population(100, sim.SpikeSourcePoisson(rate=20.0), label="input")
    exc = sim.Population(200, sim.IF_cond_exp(), label="exc")
    connector = sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(seed=1))
    sim.Projection(stim, exc, connector, sim.StaticSynapse(weight=0.01, delay=1.0), label="input_exc")
    stim.record("spikes")
    exc.record(["spikes", "v"])
    sim.run(0.1)  # build and compile outside the timed part
    _warm_up(workdir)
    before = _rss_mb()
    start = time.perf_counter()
    if mode == "get_data":
        sim.run(duration_ms)
        blocks = [stim.get_data(), exc.get_data()]
        del blocks
    else:
        with PynnRecorder(sim, os.path.join(workdir, "live.trace"), populations=[stim, exc], interval=100.0) as recorder:
            sim.run(duration_ms, callbacks=[recorder])
    seconds = time.perf_counter() - start
    sim.end()
    return {"seconds": seconds, "rss_growth_mb": _rss_mb() - before}


# -- driver ------------------------------------------------------------------------------------------------------------------
def in_child(function: str, *args) -> dict:
    """Run ``function(*args)`` of this module in a fresh interpreter and return its JSON result."""
    code = f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_pynn as b; print(json.dumps(b.{function}(*{args!r})))"
    home = tempfile.mkdtemp()
    Path(home, ".spynnaker.cfg").write_text("[Machine]\nvirtual_board = True\nversion = 5\n")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=home, env=dict(os.environ, HOME=home))
    shutil.rmtree(home, ignore_errors=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="results JSON")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args()
    sizes = {
        "neo": (200, 50, 2_000.0) if args.quick else (2_000, 100, 10_000.0),
        "spinnaker": (200, 500) if args.quick else (2_000, 5_000),
        "live_ms": 200.0 if args.quick else 2_000.0,
    }
    results: dict = {"quick": args.quick, "sizes": sizes}
    with tempfile.TemporaryDirectory() as tmp:
        n, recorded, duration = sizes["neo"]
        baseline = in_child("neo_child", "pickle", n, recorded, duration, tmp)
        ours = in_child("neo_child", "convert", n, recorded, duration, tmp)
        results["neo"] = {"pickle": baseline, "convert": ours, "time_ratio": ours["seconds"] / baseline["seconds"]}
        database = str(Path(tmp) / "scaled.sqlite3")
        scaled_database(Path(database), *sizes["spinnaker"])
        results["spinnaker"] = {"database_mb": os.path.getsize(database) / 2**20}
        baseline = in_child("spinnaker_child", "spynnaker", database, tmp)
        ours = in_child("spinnaker_child", "convert", database, tmp)
        results["spinnaker"].update(
            {"spynnaker_get_full_block": baseline, "convert": ours, "time_ratio": ours["seconds"] / baseline["seconds"]}
        )
        baseline = in_child("live_child", "get_data", sizes["live_ms"], tmp)
        ours = in_child("live_child", "recorder", sizes["live_ms"], tmp)
        results["live"] = {"get_data_at_end": baseline, "recorder": ours, "time_ratio": ours["seconds"] / baseline["seconds"]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(results, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
