"""Record a PyNN network with STDP live into a trace, then write its HTML report.

An excitatory/inhibitory network on pyNN.brian2: Poisson input drives 80 excitatory neurons through plastic
(spike-pair STDP) synapses; 20 inhibitory neurons feed back. A PynnRecorder flushes spikes, membrane potentials
and weight snapshots every 100 ms, so memory stays bounded however long the run.

    .venv/bin/python examples/pynn_live_stdp.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import brian2
from snntrace.adapters.pynn import PynnRecorder

import snntrace


def main(out: Path) -> Path:
    """Build, run and record the network; return the report path."""
    import pyNN.brian2 as sim

    brian2.prefs.codegen.target = "numpy"  # no compiler needed
    out.mkdir(parents=True, exist_ok=True)
    sim.setup(timestep=0.1, min_delay=0.1)
    rng = sim.NumpyRNG(seed=1)
    stim = sim.Population(50, sim.SpikeSourcePoisson(rate=15.0), label="input")
    exc = sim.Population(80, sim.IF_cond_exp(tau_refrac=2.0), label="exc")
    inh = sim.Population(20, sim.IF_cond_exp(tau_refrac=2.0), label="inh")
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.005, A_minus=0.006),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.02),
        weight=0.008,
        delay=1.0,
        dendritic_delay_fraction=0,  # pyNN.brian2 supports STDP with axonal delays only
    )
    plastic = sim.Projection(stim, exc, sim.FixedProbabilityConnector(0.3, rng=rng), stdp, label="input_exc")
    sim.Projection(exc, inh, sim.FixedProbabilityConnector(0.2, rng=rng), sim.StaticSynapse(weight=0.01, delay=1.0), label="exc_inh")
    sim.Projection(
        inh, exc, sim.FixedProbabilityConnector(0.4, rng=rng), sim.StaticSynapse(weight=0.03, delay=1.0),
        receptor_type="inhibitory", label="inh_exc",
    )
    stim.record("spikes")
    exc.record(["spikes", "v"])
    inh.record("spikes")

    trace = out / "pynn_stdp.trace"
    with PynnRecorder(
        sim, trace, populations=[stim, exc, inh], projections=[plastic], interval=100.0,
        roles={"input": "input", "exc": "hidden", "inh": "hidden"}, overwrite=True,
    ) as recorder:
        sim.run(1000.0, callbacks=[recorder])
    sim.end()
    return snntrace.report(trace, out / "pynn_stdp.html") or out / "pynn_stdp.html"


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("pynn-output")))
