"""A stack of trained layers and the presentation of one image to it (with the input boost when the output is silent)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from snntrace.sim.config import SimConfig
from snntrace.sim.encoding import poisson_events
from snntrace.sim.kernel import P_THETA_PLUS, LayerState, pack_parameters, run_layer_state


@dataclass
class Presentation:
    """What one image presentation produced: spikes per layer, input events, membrane samples and its time window."""

    t_start: float  # ms
    t_end: float  # end of the last presentation window (ms); the rest period follows
    next_t: float  # when the next image may start (ms)
    attempts: int
    spikes: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per layer (times ms, neurons)
    inputs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per attempt, if kept
    membrane: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # per layer (times ms, v[k, neuron])
    counts: np.ndarray | None = None  # output-layer spike counts of the last attempt
    first: list[int] = field(default_factory=list)  # spikes per layer in the first attempt (base input rate)


class Network:
    """Trained layers fed by Poisson-encoded images; layer k's input is layer k-1's output spikes."""

    def __init__(self, config: SimConfig, n_inputs: int, rng: np.random.Generator):
        self.config = config
        self.params = pack_parameters(config)
        self.frozen_params = self.params.copy()
        self.frozen_params[P_THETA_PLUS] = 0.0  # thresholds stay fixed while the network is tested
        self.n_inputs = n_inputs
        self.layers: list[LayerState] = []
        pre = n_inputs
        for size in config.neurons:
            weights = np.clip(rng.normal(config.w_init_mean, config.w_init_std, size=(pre, size)), 0.0, 1.0)
            self.layers.append(LayerState(pre, size, weights))
            pre = size
        self.theta_decay = float(np.exp(-config.period / config.tau_theta))

    def frozen_copy(self) -> Network:
        """Return a copy for evaluation: it shares the weights (not changed without learning) but not the state."""
        clone = copy.copy(self)
        clone.layers = []
        for layer in self.layers:
            twin = copy.copy(layer)
            for name in ("v", "theta", "refractory_until", "inhibited_until", "last_pre", "clock"):
                setattr(twin, name, getattr(layer, name).copy())
            twin.v[:] = 0.0
            twin.refractory_until[:] = -np.inf
            twin.inhibited_until[:] = -np.inf
            twin.last_pre[:] = -np.inf
            twin.clock[0] = 0.0
            clone.layers.append(twin)
        return clone

    def present(
        self,
        image: np.ndarray,
        t0: float,
        rng: np.random.Generator,
        *,
        learn: bool,
        keep_inputs: bool = False,
        record_membrane: bool = False,
    ) -> Presentation:
        """Show one image from time ``t0`` (ms), repeating it with a higher rate while the output stays silent."""
        config = self.config
        params = self.params if learn else self.frozen_params
        result = Presentation(t_start=t0, t_end=t0, next_t=t0, attempts=0)
        spikes_t: list[list[np.ndarray]] = [[] for _ in self.layers]
        spikes_n: list[list[np.ndarray]] = [[] for _ in self.layers]
        t = t0
        rate = config.max_rate
        for attempt in range(config.max_boosts + 1):
            ev_t, ev_i = poisson_events(image, rate, config.presentation, t, rng)
            if keep_inputs:
                result.inputs.append((ev_t, ev_i))
            t_stop = t + config.presentation
            for k, layer in enumerate(self.layers):
                out_t = np.empty(len(ev_t))
                out_n = np.empty(len(ev_t), dtype=np.int32)
                if record_membrane and attempt == 0 and config.v_neurons:
                    rec_neurons = np.arange(min(config.v_neurons, layer.n_neurons), dtype=np.int64)
                    rec_v = np.empty((int(config.presentation // config.v_interval), len(rec_neurons)))
                else:
                    rec_neurons = np.empty(0, dtype=np.int64)
                    rec_v = np.empty((0, 0))
                n = run_layer_state(layer, ev_t, ev_i, t_stop, params, learn, out_t, out_n, rec_neurons, t, config.v_interval, rec_v)
                if rec_v.shape[0]:
                    times = t + config.v_interval * np.arange(rec_v.shape[0])
                    result.membrane.append((times, rec_v))
                ev_t, ev_i = out_t[:n], out_n[:n]
                spikes_t[k].append(ev_t)
                spikes_n[k].append(ev_i)
            result.attempts = attempt + 1
            if attempt == 0:
                result.first = [len(ts[0]) for ts in spikes_t]
            result.t_end = t_stop
            # the rest period: potentials decay analytically (run_layer already brought them to t_stop)
            t = t_stop + config.rest
            for layer in self.layers:
                layer.theta *= self.theta_decay
            if len(ev_t) >= config.min_spikes:
                break
            rate += config.boost_rate
        result.next_t = t
        result.spikes = [(np.concatenate(ts), np.concatenate(ns)) for ts, ns in zip(spikes_t, spikes_n)]
        result.counts = np.bincount(ev_i, minlength=self.layers[-1].n_neurons)
        return result
