"""Convert PyNN ``write_data`` files (Neo pickle and NIX) into one trace, the post-hoc route.

Runs a small E/I network on pyNN.brian2 twice with a ``reset()`` in between (two Neo segments, laid end to end in
the trace), writes each population with ``Population.write_data`` and converts the files -- the same as
``snntrace convert neo input.pkl exc.nix inh.nix -o run.trace``.

    .venv/bin/python examples/pynn_write_data_to_trace.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import brian2
import numpy as np
from snntrace.adapters.neo import convert_file

import snntrace


def main(out: Path) -> Path:
    """Run, write the Neo files, convert them and return the trace path."""
    import pyNN.brian2 as sim

    brian2.prefs.codegen.target = "numpy"
    out.mkdir(parents=True, exist_ok=True)
    sim.setup(timestep=0.1)
    rng = np.random.default_rng(3)
    times = [np.unique(np.round(rng.uniform(1, 199, 10), 1)) for _ in range(30)]
    stim = sim.Population(30, sim.SpikeSourceArray(spike_times=times), label="input")
    exc = sim.Population(40, sim.IF_curr_exp(), label="exc")
    inh = sim.Population(10, sim.IF_curr_exp(), label="inh")
    connect = sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(seed=2))
    sim.Projection(stim, exc, connect, sim.StaticSynapse(weight=1.5, delay=1.0))
    sim.Projection(exc, inh, connect, sim.StaticSynapse(weight=1.0, delay=1.0))
    sim.Projection(inh, exc, connect, sim.StaticSynapse(weight=-2.0, delay=1.0), receptor_type="inhibitory")
    stim.record("spikes")
    exc.record(["spikes", "v"])
    inh.record(["spikes", "v"], sampling_interval=1.0)
    for _ in range(2):  # two segments
        sim.run(200.0)
        sim.reset()
    files = [out / "input.pkl", out / "exc.nix", out / "inh.nix"]
    for population, path in zip((stim, exc, inh), files):
        population.write_data(str(path))
    sim.end()
    trace = convert_file(files, out / "pynn_files.trace", overwrite=True)
    opened = snntrace.open_trace(trace)
    print(f"{opened.name}: {opened.spikes.collect().height} spikes, segments {opened.manifest['annotations']['neo']['segments']}")
    return trace


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("pynn-output")))
