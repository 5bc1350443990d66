"""SIGKILL every producer at random moments: the trace opens, validates as incomplete, reports, and keeps every part.

Producers: ``snntrace simulate`` and the live recorders of the Brian2, Nengo and PyNN adapters, each on a small
seeded network in a child process. The parent watches the trace directory, hashes every part as soon as it is
published (parts appear by atomic rename, so a visible part is complete), and kills the child at a random moment
after a random number of parts. Then:

* every part hashed before the kill is still there, byte for byte, and readable;
* ``validate`` finds no error (TR001 says the run is incomplete);
* the report is written;
* each table's rows are a prefix of the same table in a complete run with the same seed (nothing lost, nothing
  invented: the producers are deterministic).

CI kills each producer ``SNNTRACE_KILLS`` times (3); a campaign sets it higher, see docs/robustness.md.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from _hardening import TALLY

import snntrace
from snntrace.format import TABLES

KILLS = int(os.environ.get("SNNTRACE_KILLS", "3"))
PYTHON = sys.executable

BRIAN2 = """
import sys
import brian2 as b2
from brian2 import Hz, NeuronGroup, PoissonGroup, Synapses, ms, mV, second
from snntrace.adapters.brian2 import States, TraceRecorder

b2.prefs.codegen.target = "numpy"
b2.defaultclock.dt = 0.1 * ms
b2.seed(11)
inputs = PoissonGroup(60, rates=60 * Hz, name="inputs")
neurons = NeuronGroup(8, "dv/dt = (ge * (0*mV - v) + (-74*mV) - v) / (10*ms) : volt\\ndge/dt = -ge / (5*ms) : 1",
                      threshold="v > -54*mV", reset="v = -60*mV", method="euler", name="neurons")
neurons.v = -60 * mV
synapses = Synapses(inputs, neurons, "w : 1\\ndApre/dt = -Apre / (20*ms) : 1 (event-driven)\\ndApost/dt = -Apost / (20*ms) : 1 (event-driven)",
                    on_pre="ge += w\\nApre += 0.0005\\nw = clip(w + Apost, 0, 0.05)",
                    on_post="Apost -= 0.000525\\nw = clip(w + Apre, 0, 0.05)", name="synapses")
synapses.connect()
synapses.w = "rand() * 0.05"
recorder = TraceRecorder(sys.argv[1], spikes=[inputs, neurons], states=[States(neurons[:2], "v")], weights=[synapses],
                         chunk=20 * ms, part_rows=300, flush_interval=1e9)
b2.run(3 * second)
"""

NENGO = """
import sys
import nengo
import numpy as np
from snntrace.adapters.nengo import NengoRecorder

with nengo.Network(label="killed", seed=5) as model:
    stimulus = nengo.Node(lambda t: np.sin(8 * t))
    a = nengo.Ensemble(30, 1, label="a")
    b = nengo.Ensemble(20, 1, label="b")
    nengo.Connection(stimulus, a)
    nengo.Connection(a, b, function=lambda x: x ** 2)
    nengo.Probe(a.neurons, "output")
    nengo.Probe(b.neurons, "output")
    nengo.Probe(b, synapse=0.01)
with nengo.Simulator(model, seed=5, progress_bar=False) as sim:
    with NengoRecorder(sim, sys.argv[1], chunk_steps=100, part_rows={"spikes": 100, "states": 100, "metrics": 100}) as recorder:
        recorder.run_steps(6000)
"""

PYNN = """
import os, sys
import brian2
import pyNN.brian2 as sim
import numpy as np
from snntrace.adapters.pynn import PynnRecorder

brian2.prefs.codegen.target = "numpy"
sim.setup(timestep=0.1, min_delay=0.1)
rng = np.random.default_rng(11)
times = [np.unique(np.round(rng.uniform(1.0, 199.0, 15), 1)) for _ in range(20)]
inp = sim.Population(20, sim.SpikeSourceArray(spike_times=times), label="input")
exc = sim.Population(16, sim.IF_cond_exp(tau_refrac=2.0), label="exc")
projection = sim.Projection(inp, exc, sim.FixedProbabilityConnector(0.6, rng=sim.NumpyRNG(seed=11)),
                            sim.StaticSynapse(weight=0.015, delay=1.0), label="input_exc")
inp.record("spikes")
exc.record(["spikes", "v"])
with PynnRecorder(sim, sys.argv[1], populations=[inp, exc], projections=[projection], interval=5.0, window_rows=60) as recorder:
    sim.run(200.0, callbacks=[recorder])
"""

PRODUCERS = {
    "simulate": [
        PYTHON,
        "-m",
        "snntrace",
        "simulate",
        "--train-samples",
        "60",
        "--test-samples",
        "20",
        "--neurons",
        "20",
        "--batches",
        "6",
        "--seed",
        "1",
        "-q",
        "-o",
    ],
    "brian2": [PYTHON, "-c", BRIAN2],
    "nengo": [PYTHON, "-c", NENGO],
    "pynn": [PYTHON, "-c", PYNN],
}


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parts(trace: Path) -> list[Path]:
    return [p for table in TABLES for p in sorted((trace / table).glob("part-*.parquet"))]


@dataclass
class Killed:
    """One killed run: the parts seen before the kill (path -> sha256) and whether the child finished first."""

    trace: Path
    seen: dict[Path, str] = field(default_factory=dict)
    finished_first: bool = False


def _run_to_completion(producer: str, trace: Path, workdir: Path) -> None:
    done = subprocess.run(
        [*PRODUCERS[producer], str(trace)],
        cwd=workdir,
        env=_env(workdir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _env(workdir: Path) -> dict[str, str]:
    # Brian2 reads preferences and caches from HOME: keep them out of the user's home and the source tree.
    return {**os.environ, "HOME": str(workdir), "PYTHONHASHSEED": "0"}


def _kill_at_random(producer: str, trace: Path, workdir: Path, rng: np.random.Generator, total_parts: int) -> Killed:
    """Start the producer, wait for a random number of parts (1..most of a full run), then SIGKILL it after a random
    delay; hash each part as soon as it shows."""
    target = int(rng.integers(1, max(2, int(total_parts * 0.8))))
    delay = float(rng.uniform(0.0, 0.3))
    child = subprocess.Popen(
        [*PRODUCERS[producer], str(trace)],
        cwd=workdir,
        env=_env(workdir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    killed = Killed(trace)
    deadline = time.monotonic() + 300
    kill_at = None
    try:
        while time.monotonic() < deadline:
            for part in _parts(trace):
                if part not in killed.seen:
                    killed.seen[part] = _hash(part)
            if kill_at is None and len(killed.seen) >= target:
                kill_at = time.monotonic() + delay
            if kill_at is not None and time.monotonic() >= kill_at:
                break
            if child.poll() is not None:
                killed.finished_first = True
                break
            time.sleep(0.005)
        else:
            pytest.fail(f"{producer} wrote fewer than {target} parts in 300 s")
        os.kill(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        killed.finished_first = True
    finally:
        child.kill()
        child.wait(timeout=60)
    if not killed.finished_first:
        assert child.returncode == -signal.SIGKILL, child.stderr.read()[-3000:].decode(errors="replace")
    return killed


def _rows(trace: Path, table: str) -> pl.DataFrame:
    return snntrace.open_trace(trace).table(table).collect()


@pytest.mark.slow
@pytest.mark.simulator
@pytest.mark.parametrize("producer", list(PRODUCERS))
def test_a_producer_killed_at_random_moments_leaves_a_trace_that_opens_validates_reports_and_keeps_every_part(
    producer, tmp_path
):
    rng = np.random.default_rng(sum(map(ord, producer)))
    workdir = tmp_path / "work"
    workdir.mkdir()
    reference = tmp_path / "reference.trace"
    _run_to_completion(producer, reference, workdir)
    complete_parts = len(_parts(reference))
    assert complete_parts >= 3, (
        f"{producer}: the reference run wrote only {complete_parts} parts; kills would prove little"
    )
    expected = {table: _rows(reference, table) for table in TABLES}
    survived = 0
    for attempt in range(KILLS):
        trace = tmp_path / f"killed-{attempt}.trace"
        killed = _kill_at_random(producer, trace, workdir, rng, complete_parts)
        TALLY[f"kills:{producer}"] += 1
        opened = snntrace.open_trace(trace)
        # Nothing published before the kill was lost or changed.
        for part, digest in killed.seen.items():
            assert part.exists() and _hash(part) == digest, f"{producer}: {part} changed or vanished after the kill"
        result = snntrace.validate(trace)
        assert result.errors == [], f"{producer} kill {attempt}: {[str(f) for f in result.errors]}"
        if not opened.complete:
            assert "TR001" in result.codes
        # Every table is a prefix of the complete run's: nothing lost, nothing duplicated, nothing invented.
        for table in TABLES:
            rows = _rows(trace, table)
            assert rows.equals(expected[table].head(rows.height)), (
                f"{producer} kill {attempt}: {table} is not a prefix of the complete run"
            )
        snntrace.report(trace, tmp_path / f"killed-{attempt}.html", static=False)
        survived += 1
        TALLY[f"kills-survived:{producer}"] += 1
        TALLY[f"kills-incomplete:{producer}"] += int(not opened.complete)
        TALLY[f"parts-kept:{producer}"] += len(killed.seen)
    assert survived == KILLS
