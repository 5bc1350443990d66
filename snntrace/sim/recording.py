"""Write what a simulation does into an snntrace trace, through :class:`snntrace.TraceWriter` only.

Rows are gathered per table as numpy arrays and handed to the writer in one call per table at each :meth:`flush`
(after every batch), which also makes the writer publish its parts: a crash loses at most the running batch.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from snntrace import TraceWriter, __version__
from snntrace.model import Dataset, Population, Projection, Software
from snntrace.sim.compression import PruneResult
from snntrace.sim.config import SimConfig

RESOLUTION = 1e-6  # seconds per tick: event times are exact, 1 us keeps them distinct


def layer_names(config: SimConfig) -> list[str]:
    """Return the population names of the trained layers (``output`` alone, else ``layer1`` ... ``output``)."""
    n = len(config.neurons)
    return ["output"] if n == 1 else [f"layer{k + 1}" for k in range(n - 1)] + ["output"]


def projection_names(config: SimConfig) -> list[str]:
    """Return the names of the trained projections, input side first."""
    pops = ["input", *layer_names(config)]
    return [f"{a}->{b}" for a, b in itertools.pairwise(pops)]


class Recorder:
    """Buffer the rows of one run and write them to a trace directory."""

    def __init__(self, path: str | Path, config: SimConfig, *, image_shape: tuple[int, int], dataset: Dataset, overwrite: bool = False):
        self.config = config
        names = layer_names(config)
        n_inputs = int(np.prod(image_shape))
        populations = [Population("input", n_inputs, shape=tuple(image_shape), role="input", model={"name": "Poisson rate encoding", "parameters": {"max_rate": config.max_rate, "presentation_ms": config.presentation, "rest_ms": config.rest}})]
        model = {
            "name": "LIF (additive, event-driven, analytic leak) with winner-takes-all and adaptive threshold",
            "parameters": {k: getattr(config, k) for k in ("tau_m", "v_thresh", "refractory", "inhibition", "theta_plus", "tau_theta")},
        }
        for k, (name, size) in enumerate(zip(names, config.neurons)):
            role = "output" if k == len(names) - 1 else "hidden"
            populations.append(Population(name, size, role=role, model=model))
        pre_sizes = [n_inputs, *config.neurons[:-1]]
        self.projections = projection_names(config)
        projections = [
            Projection(p, pre, post, synapses=a * b, plastic=True, learning_rule="simplified STDP (Querlioz et al. 2011), soft bounds")
            for p, pre, post, a, b in zip(self.projections, ["input", *names[:-1]], names, pre_sizes, config.neurons)
        ]
        self.layers = names
        self.writer = TraceWriter(
            path,
            name=f"{dataset.name}: {'-'.join(map(str, config.neurons))} neurons, compression {config.compression}",
            time_resolution=RESOLUTION,
            populations=populations,
            projections=projections,
            dataset=dataset,
            simulator=Software("snntrace.sim", __version__),
            annotations={"config": config.to_dict()},
            overwrite=overwrite,
        )
        self.writer.record_spikes(names)
        if config.record_input != "none":
            self.writer.record_spikes(["input"])
        if config.v_neurons:
            for name, size in zip(names, config.neurons):
                self.writer.record_states(name, "v", unit="1", neurons=range(min(size, config.v_neurons)), interval=self.ticks(config.v_interval))
        for p in self.projections:
            self.writer.record_weights(p, snapshot="full", unit="1")
        self._spikes: list[tuple[np.ndarray, int, np.ndarray]] = []
        self._states: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
        self._samples: dict[str, list] = {"index": [], "t_start": [], "t_end": [], "label": [], "split": [], "prediction": []}

    def ticks(self, ms) -> np.ndarray | int:
        """Convert milliseconds to trace ticks."""
        out = self.writer.to_ticks(np.asarray(ms, dtype=np.float64) / 1000.0)
        return int(out) if np.ndim(out) == 0 else out

    # -- buffered rows -------------------------------------------------------------------------------------------------
    def spikes(self, population: str, times_ms: np.ndarray, neurons: np.ndarray) -> None:
        """Buffer spikes of one population."""
        if len(times_ms):
            self._spikes.append((self.ticks(times_ms), self.writer.population_id(population), np.asarray(neurons)))

    def membrane(self, population: str, times_ms: np.ndarray, values: np.ndarray) -> None:
        """Buffer membrane samples: ``values[k, r]`` is neuron r's potential at ``times_ms[k]``."""
        n_times, n_rec = values.shape
        ticks = np.repeat(self.ticks(times_ms), n_rec)
        neurons = np.tile(np.arange(n_rec), n_times)
        self._states.append((ticks, self.writer.population_id(population), neurons, values.reshape(-1)))

    def sample(self, index: int, t_start: float, t_end: float, label: int, split: str, prediction: int | None) -> None:
        """Buffer one presented sample."""
        s = self._samples
        s["index"].append(index)
        s["t_start"].append(self.ticks(t_start))
        s["t_end"].append(self.ticks(t_end))
        s["label"].append(int(label))
        s["split"].append(split)
        s["prediction"].append(None if prediction is None or prediction < 0 else int(prediction))

    # -- immediate rows ------------------------------------------------------------------------------------------------
    def weights(self, t_ms: float, projection: int, weights: np.ndarray, mask: np.ndarray, *, offset: int = 0) -> None:
        """Write a snapshot of the synapses that exist (not pruned) of one projection."""
        pre, post = np.nonzero(mask)
        self.writer.write_weights(self.ticks(t_ms) + offset, self.projections[projection], pre, post, weights[pre, post])

    def metric(self, name: str, value: float, t_ms: float, step: int, *, offset: int = 0, population: str | None = None, projection: int | None = None) -> None:
        """Write one metric value."""
        self.writer.write_metric(
            name, [value], t=[self.ticks(t_ms) + offset], step=[step], population=population,
            projection=None if projection is None else self.projections[projection],
        )

    def prune(self, t_ms: float, projection: int, result: PruneResult, strategy: str, *, offset: int = 0) -> None:
        """Write the prune event of one compression step, and the reinforce event when DSWR ran."""
        t = self.ticks(t_ms) + offset
        name = self.projections[projection]
        payload = {"threshold": result.threshold, "before": result.before, "remaining": result.remaining, "strategy": strategy, "step": result.step}
        self.writer.write_event("prune", t, payload, projection=name)
        if result.reinforced:
            self.writer.write_event("reinforce", t, {"beta": result.beta, "threshold": result.threshold, "synapses": result.reinforced, "step": result.step}, projection=name)

    def event(self, kind: str, t_ms: float, payload: dict, *, offset: int = 0) -> None:
        """Write one run event."""
        self.writer.write_event(kind, self.ticks(t_ms) + offset, payload)

    # -- life cycle ------------------------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Hand every buffered row to the writer and make it publish its parts."""
        if self._spikes:
            t = np.concatenate([s[0] for s in self._spikes])
            pop = np.concatenate([np.full(len(s[0]), s[1], dtype=np.uint16) for s in self._spikes])
            neuron = np.concatenate([s[2] for s in self._spikes])
            self.writer.write_spikes(t, pop, neuron)
            self._spikes = []
        if self._states:
            t = np.concatenate([s[0] for s in self._states])
            pop = np.concatenate([np.full(len(s[0]), s[1], dtype=np.uint16) for s in self._states])
            neuron = np.concatenate([s[2] for s in self._states])
            value = np.concatenate([s[3] for s in self._states])
            self.writer.write_states(t, pop, neuron, "v", value)
            self._states = []
        s = self._samples
        for split in ("train", "test"):
            rows = [k for k, sp in enumerate(s["split"]) if sp == split]
            if rows:
                self.writer.write_samples(
                    [s["index"][k] for k in rows], [s["t_start"][k] for k in rows], [s["t_end"][k] for k in rows],
                    label=[s["label"][k] for k in rows], split=split, prediction=np.array([s["prediction"][k] for k in rows], dtype=object),
                )
        self._samples = {key: [] for key in s}
        self.writer.flush()

    def advance(self, t_ms: float) -> None:
        """Declare the run reached ``t_ms``."""
        self.writer.advance(self.ticks(t_ms))

    def close(self, *, complete: bool = True) -> None:
        """Flush and close the trace."""
        try:
            if complete:
                self.flush()
        finally:
            self.writer.close(complete=complete)
