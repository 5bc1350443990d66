"""The included event-driven simulator: STDP learning with progressive compression, recorded as an snntrace trace.

    from snntrace.sim import SimConfig, Simulation
    result = Simulation(SimConfig(neurons=100, compression="pp-dswr")).run("run.trace")

Modules: ``config`` (parameters), ``datasets`` (offline images), ``encoding`` (Poisson input), ``kernel`` (the numba
event loop), ``network`` (layers and presentations), ``compression`` (static / PP / DSWR), ``labels`` (neuron labels,
predictions), ``recording`` (trace writing), ``simulation`` (the run). Heavy modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from snntrace.sim.config import SimConfig, load_config

_LAZY = {
    "Simulation": "snntrace.sim.simulation",
    "RunResult": "snntrace.sim.simulation",
    "BatchResult": "snntrace.sim.simulation",
    "Compressor": "snntrace.sim.compression",
    "load_dataset": "snntrace.sim.datasets",
    "ImageSet": "snntrace.sim.datasets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'snntrace.sim' has no attribute {name!r}")


__all__ = ["BatchResult", "Compressor", "ImageSet", "RunResult", "SimConfig", "Simulation", "load_config", "load_dataset"]
