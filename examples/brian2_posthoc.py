#!/usr/bin/env python3
"""Turn the monitors and synapses of a finished Brian2 run into a trace, then build its report.

    python examples/brian2_posthoc.py [OUTPUT_DIR]

Brian2's STDP example (Song, Miller & Abbott 2000; 1000 Poisson inputs onto one neuron, 5 s here) records with
ordinary monitors; ``write_trace`` converts them afterwards: spikes, the sampled weights of two synapses and the
final weights of all of them. Writes OUTPUT_DIR/stdp.trace and OUTPUT_DIR/stdp.html.
"""

import sys
from pathlib import Path

from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeMonitor, StateMonitor, Synapses, ms, mV, prefs, run, second
from snntrace.adapters.brian2 import write_trace

import snntrace

out = Path(sys.argv[1] if len(sys.argv) > 1 else "brian2-output")
prefs.codegen.target = "numpy"
taum, taupre, taupost, taue = 10 * ms, 20 * ms, 20 * ms, 5 * ms
Ee, vt, vr, El, gmax = 0 * mV, -54 * mV, -60 * mV, -74 * mV, 0.01
dApre, dApost = 0.01 * gmax, -0.01 * 1.05 * gmax
inputs = PoissonGroup(1000, rates=15 * Hz, name="inputs")
neuron = NeuronGroup(
    1,
    "dv/dt = (ge * (Ee-vr) + El - v) / taum : volt\ndge/dt = -ge / taue : 1",
    threshold="v>vt",
    reset="v = vr",
    method="exact",
    name="neuron",
)
S = Synapses(
    inputs,
    neuron,
    """w : 1
                                dApre/dt = -Apre / taupre : 1 (event-driven)
                                dApost/dt = -Apost / taupost : 1 (event-driven)""",
    on_pre="ge += w\nApre += dApre\nw = clip(w + Apost, 0, gmax)",
    on_post="Apost += dApost\nw = clip(w + Apre, 0, gmax)",
    name="stdp",
)
S.connect()
S.w = "rand() * gmax"
weights = StateMonitor(S, "w", record=[0, 1], dt=10 * ms)
spikes_in, spikes_out = SpikeMonitor(inputs), SpikeMonitor(neuron)
run(5 * second)

write_trace(out / "stdp.trace", spikes_in, spikes_out, weights, S, learning_rules={"stdp": "stdp"}, overwrite=True)
snntrace.report(out / "stdp.trace", out / "stdp.html", force=True)
print(f"wrote {out / 'stdp.trace'} and {out / 'stdp.html'}")
