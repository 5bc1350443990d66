"""Small real PyNN networks on pyNN.brian2 for the Neo and PyNN adapter tests.

Inputs are seeded ``SpikeSourceArray`` trains and connectors take seeded RNGs, so two runs of the same network are
identical: a plain run is the reference a live-recorded run must equal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

DT = 0.1  # ms
N_INPUT, N_EXC, N_INH = 20, 16, 4
GSYN_INTERVAL = 0.5  # ms: the inhibitory population samples on a coarser grid than dt


@contextlib.contextmanager
def brian2_numpy(directory: Path) -> Iterator[None]:
    """Run PyNN/Brian2 inside ``directory`` with numpy code generation (no compiler, no cache in the source tree)."""
    import brian2

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "brian_preferences").write_text("codegen.target = 'numpy'\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        patch.setenv("HOME", str(directory))
        previous = brian2.prefs.codegen.target
        brian2.prefs.codegen.target = "numpy"
        try:
            yield
        finally:
            brian2.prefs.codegen.target = previous


def input_times(seed: int = 11, duration: float = 150.0) -> list[np.ndarray]:
    """Return seeded spike times (ms, on the dt grid) for the input population."""
    rng = np.random.default_rng(seed)
    return [np.unique(np.round(rng.uniform(1.0, duration - 1.0, 12), 1)) for _ in range(N_INPUT)]


def build_network(sim, *, stdp: bool = False, seed: int = 11) -> dict:
    """Build the E/I network (input -> exc <-> inh); ``stdp`` makes input -> exc plastic. Returns its parts."""
    sim.setup(timestep=DT, min_delay=DT)
    inp = sim.Population(N_INPUT, sim.SpikeSourceArray(spike_times=input_times(seed)), label="input")
    exc = sim.Population(N_EXC, sim.IF_cond_exp(tau_refrac=2.0), label="exc")
    inh = sim.Population(N_INH, sim.IF_cond_exp(tau_refrac=2.0), label="inh")
    rng = sim.NumpyRNG(seed=seed)
    if stdp:
        synapse = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.012),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.04),
            weight=0.015,
            delay=1.0,
            dendritic_delay_fraction=0,  # pyNN.brian2 refuses STDP with dendritic delays
        )
    else:
        synapse = sim.StaticSynapse(weight=0.015, delay=1.0)
    projections = {
        "input_exc": sim.Projection(inp, exc, sim.FixedProbabilityConnector(0.6, rng=rng), synapse, label="input_exc"),
        "exc_inh": sim.Projection(exc, inh, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01, delay=1.0), label="exc_inh"),
        "inh_exc": sim.Projection(
            inh, exc, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="inhibitory", label="inh_exc"
        ),
    }
    inp.record("spikes")
    exc.record(["spikes", "v"])
    inh.record(["spikes", "v", "gsyn_exc"], sampling_interval=GSYN_INTERVAL)
    return {"input": inp, "exc": exc, "inh": inh, "projections": projections, "populations": [inp, exc, inh]}

