"""Small real Nengo models for the adapter tests: every kind of probe the adapter converts, learning included."""

from __future__ import annotations

import nengo
import numpy as np

N_INPUTS = 6
PRESENTATION_TIME = 0.03
LABELS = np.array([3, 1, 4, 1, 5, 9])


def build_model(seed: int = 7) -> tuple[nengo.Network, dict[str, nengo.Probe]]:
    """Return one network exercising spikes (with counts > 1), voltages, PES, BCM and labelled PresentInput."""
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1, 1, size=(N_INPUTS, 2))
    with nengo.Network(label="adapter test", seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(inputs, PRESENTATION_TIME), label="images")
        a = nengo.Ensemble(40, 2, label="a")
        # PoissonSpiking at high rates emits several spikes in one step: counts above one.
        burst = nengo.Ensemble(
            20, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()), max_rates=nengo.dists.Uniform(300, 450)
        )
        b = nengo.Ensemble(30, 2)
        c = nengo.Ensemble(25, 1, label="c")
        nengo.Connection(stim, a)
        nengo.Connection(a[0], burst)
        # PES on a decoded connection: decoders (size_out, n_pre) change.
        learned = nengo.Connection(a, b, function=lambda x: [0, 0], learning_rule_type=nengo.PES(learning_rate=2e-4))
        error = nengo.Node(size_in=2, label="error")
        nengo.Connection(b, error)
        nengo.Connection(stim, error, transform=-1)
        nengo.Connection(error, learned.learning_rule)
        # BCM on a neuron-to-neuron connection: a (n_post, n_pre) weight matrix changes.
        bcm = nengo.Connection(
            a.neurons,
            c.neurons,
            transform=rng.uniform(0, 2e-3, size=(25, 40)),
            learning_rule_type=nengo.BCM(learning_rate=1e-8),
            label="a->c bcm",
        )
        probes = {
            "a_spikes": nengo.Probe(a.neurons),
            "burst_spikes": nengo.Probe(burst.neurons),
            "c_spikes": nengo.Probe(c.neurons),
            "a_voltage": nengo.Probe(a.neurons[:8], "voltage"),
            "pes_weights": nengo.Probe(learned, "weights", sample_every=0.01),
            "bcm_weights": nengo.Probe(bcm, "weights", sample_every=0.01),
            "error": nengo.Probe(learned.learning_rule, "error"),
            "b_value": nengo.Probe(b, synapse=0.01),
            "stim": nengo.Probe(stim),
        }
    return net, probes


def probe_data(sim: nengo.Simulator, probes: dict[str, nengo.Probe]) -> dict[str, np.ndarray]:
    """Return copies of what the probes hold (the reference the trace must equal)."""
    return {key: np.array(sim.data[probe]) for key, probe in probes.items()}
