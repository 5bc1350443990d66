#!/usr/bin/env python3
"""Stream a running Brian2 network into a trace while it runs, then build its report.

    python examples/brian2_live.py [OUTPUT_DIR]

Brian2's CUBA benchmark network (1000 neurons here) runs for 1 s on the numpy target. A TraceRecorder records
every spike, ``v`` of ten neurons and snapshots of the excitatory weights; it drains its monitors every 100 ms,
so memory stays flat however long the run. Writes OUTPUT_DIR/cuba.trace and OUTPUT_DIR/cuba.html.
"""

import sys
from pathlib import Path

from brian2 import NeuronGroup, Synapses, ms, mV, prefs, run, second
from snntrace.adapters.brian2 import States, TraceRecorder, Weights

import snntrace

out = Path(sys.argv[1] if len(sys.argv) > 1 else "brian2-output")
prefs.codegen.target = "numpy"
taum, taue, taui, Vt, Vr, El = 20 * ms, 5 * ms, 10 * ms, -50 * mV, -60 * mV, -49 * mV
P = NeuronGroup(
    1000,
    """dv/dt = (ge+gi-(v-El))/taum : volt (unless refractory)
                         dge/dt = -ge/taue : volt
                         dgi/dt = -gi/taui : volt""",
    threshold="v>Vt",
    reset="v = Vr",
    refractory=5 * ms,
    method="exact",
    name="cuba",
)
P.v = "Vr + rand() * (Vt - Vr)"
Ce = Synapses(P[:800], P, "w : volt", on_pre="ge += w", name="excitatory")
Ce.connect(p=0.08)
Ce.w = 1.62 * mV
Ci = Synapses(P[800:], P, on_pre="gi += -9 * mV", name="inhibitory")
Ci.connect(p=0.08)

recorder = TraceRecorder(
    out / "cuba.trace",
    spikes=[P],
    states=[States(P[:10], "v")],
    weights=[Weights(Ce, every=250 * ms)],
    describe=[Ci],
    overwrite=True,
)
run(1 * second)  # the trace is complete when run() returns
snntrace.report(out / "cuba.trace", out / "cuba.html", force=True)
print(f"wrote {out / 'cuba.trace'} and {out / 'cuba.html'}")
