"""Small real Brian2 networks for the Brian2 adapter tests (numpy target, seeded)."""

from __future__ import annotations

from types import SimpleNamespace

import brian2 as b2
import numpy as np
from brian2 import Hz, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, ms, mV


def fresh_brian(seed: int = 2024) -> None:
    """Reset Brian2 to a clean, deterministic numpy-target state for one test."""
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    b2.defaultclock.dt = 0.1 * ms
    b2.seed(seed)


def cuba(n: int = 400) -> SimpleNamespace:
    """A CUBA-style balanced network (Brette et al. 2007 benchmark, scaled down): 80% excitatory, 20% inhibitory."""
    n_exc = n * 4 // 5
    namespace = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV, "Vr": -60 * mV, "El": -49 * mV}
    equations = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    group = NeuronGroup(
        n, equations, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact", namespace=namespace
    )
    group.v = "Vr + rand() * (Vt - Vr)"
    exc, inh = group[:n_exc], group[n_exc:]
    # Weights scaled up for the smaller network so that it stays active.
    ce = Synapses(exc, group, "w : volt", on_pre="ge += w", name="exc_to_all")
    ce.connect(p=0.1)
    ce.w = 60 * 0.27 / 10 * mV * 0.5
    ci = Synapses(inh, group, on_pre="gi += wi", namespace={"wi": -20 * 4.5 / 10 * mV * 0.5}, name="inh_to_all")
    ci.connect(p=0.1)
    return SimpleNamespace(group=group, exc=exc, inh=inh, ce=ce, ci=ci, n_exc=n_exc)


def stdp(n_inputs: int = 200, n_neurons: int = 4) -> SimpleNamespace:
    """Poisson inputs onto a few conductance-based neurons through additive STDP (Song, Miller & Abbott 2000)."""
    namespace = {
        "taum": 10 * ms,
        "taupre": 20 * ms,
        "taupost": 20 * ms,
        "Ee": 0 * mV,
        "vt": -54 * mV,
        "vr": -60 * mV,
        "El": -74 * mV,
        "taue": 5 * ms,
        "gmax": 0.05,
        "dApre": 0.01 * 0.05,
        "dApost": -0.01 * 1.05 * 0.05,
    }
    inputs = PoissonGroup(n_inputs, rates=40 * Hz, name="inputs")
    neurons = NeuronGroup(
        n_neurons,
        "dv/dt = (ge * (Ee-v) + El - v) / taum : volt\ndge/dt = -ge / taue : 1",
        threshold="v>vt",
        reset="v = vr",
        method="euler",
        namespace=namespace,
        name="neurons",
    )
    neurons.v = namespace["vr"]
    synapses = Synapses(
        inputs,
        neurons,
        """w : 1
        dApre/dt = -Apre / taupre : 1 (event-driven)
        dApost/dt = -Apost / taupost : 1 (event-driven)""",
        on_pre="ge += w\nApre += dApre\nw = clip(w + Apost, 0, gmax)",
        on_post="Apost += dApost\nw = clip(w + Apre, 0, gmax)",
        namespace=namespace,
        name="stdp",
    )
    synapses.connect()
    synapses.w = "rand() * gmax"
    return SimpleNamespace(inputs=inputs, neurons=neurons, synapses=synapses)


def reference_spikes(monitor: SpikeMonitor, dt: float, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return a reference monitor's spikes as (ticks, neuron indices in the full group)."""
    return np.rint(np.asarray(monitor.t_) / dt).astype(np.int64), np.asarray(monitor.i, dtype=np.int64) + offset
