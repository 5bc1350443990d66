"""The event-driven core: one numba call runs one layer through one presentation, exact in time.

Between events the membrane decays analytically (v(t) = v(t0) exp(-(t - t0) / tau_m)); an input spike on line i adds
W[i, j] to every neuron j that is neither refractory nor inhibited. When neurons reach their threshold
(v_thresh + theta_j) at an event, the one furthest above it fires (winner-takes-all): every potential resets to 0,
the losers are inhibited for ``inhibition`` ms, the winner is refractory for ``refractory`` ms and its theta grows by
``theta_plus`` (homeostasis). With learning on, the winner's synapses follow the simplified STDP rule:

    pre fired within t_stdp before now:  w += a_plus  * exp(-b_plus  * (w - wmin) / (wmax - wmin))
    otherwise:                           w -= a_minus * exp(-b_minus * (wmax - w) / (wmax - wmin))

clipped to [wmin, wmax] = [0, 1]. Pruned synapses (mask False) hold weight 0 and never change.
Weights are stored (n_inputs, n_neurons) so that an input event reads one contiguous row.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Indices into the float64 parameter vector passed to the kernel (numba takes one array faster than many scalars).
P_TAU, P_THRESH, P_REFRACTORY, P_INHIBITION, P_THETA_PLUS, P_T_STDP, P_A_PLUS, P_A_MINUS, P_B_PLUS, P_B_MINUS = range(10)
N_PARAMS = 10


def pack_parameters(config) -> np.ndarray:
    """Return the kernel's parameter vector for a :class:`~snntrace.sim.config.SimConfig`."""
    p = np.zeros(N_PARAMS)
    p[P_TAU] = config.tau_m
    p[P_THRESH] = config.v_thresh
    p[P_REFRACTORY] = config.refractory
    p[P_INHIBITION] = config.inhibition
    p[P_THETA_PLUS] = config.theta_plus
    p[P_T_STDP] = config.t_stdp
    p[P_A_PLUS] = config.a_plus
    p[P_A_MINUS] = config.a_minus
    p[P_B_PLUS] = config.b_plus
    p[P_B_MINUS] = config.b_minus
    return p


class LayerState:
    """Mutable state of one trained layer: weights, pruning mask, potentials, thresholds, timers."""

    def __init__(self, n_inputs: int, n_neurons: int, weights: np.ndarray):
        self.n_inputs = n_inputs
        self.n_neurons = n_neurons
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.mask = np.ones((n_inputs, n_neurons), dtype=np.bool_)
        self.v = np.zeros(n_neurons)
        self.theta = np.zeros(n_neurons)
        self.refractory_until = np.full(n_neurons, -np.inf)
        self.inhibited_until = np.full(n_neurons, -np.inf)
        self.last_pre = np.full(n_inputs, -np.inf)
        # [time of the last potential update, STDP updates, sum of |dw|] carried between calls
        self.clock = np.zeros(3)
        self.clock[0] = 0.0

    @property
    def synapses(self) -> int:
        """Return the number of synapses not pruned."""
        return int(self.mask.sum())


@njit(cache=True, nogil=True)
def run_layer(
    ev_t, ev_i, t_end, weights, mask, v, theta, refractory_until, inhibited_until, last_pre, clock, params, learn,
    out_t, out_n, rec_neurons, rec_t0, rec_interval, rec_v,
):
    """Run one layer through the time-sorted input events; return the number of output spikes written to out_t/out_n.

    ``clock[0]`` is the time (ms) at which ``v`` was last brought up to date; ``clock[1]`` and ``clock[2]`` accumulate
    the number of STDP updates and the sum of |dw|. If ``rec_v`` has rows, the potentials of ``rec_neurons`` are
    sampled at ``rec_t0 + k * rec_interval`` (k = 0 .. len(rec_v) - 1) into it. Potentials are finally decayed to
    ``t_end``.
    """
    tau = params[P_TAU]
    thresh = params[P_THRESH]
    t_ref = params[P_REFRACTORY]
    t_inh = params[P_INHIBITION]
    theta_plus = params[P_THETA_PLUS]
    t_stdp = params[P_T_STDP]
    a_plus = params[P_A_PLUS]
    a_minus = params[P_A_MINUS]
    b_plus = params[P_B_PLUS]
    b_minus = params[P_B_MINUS]
    n_out = v.shape[0]
    n_in = weights.shape[0]
    n_rec = rec_v.shape[0]
    k_rec = 0
    n_spikes = 0
    t_v = clock[0]
    for e in range(ev_t.shape[0]):
        t = ev_t[e]
        i = ev_i[e]
        # membrane samples due before this event, decayed analytically from the last update
        while k_rec < n_rec and rec_t0 + k_rec * rec_interval <= t:
            decay = math.exp(-(rec_t0 + k_rec * rec_interval - t_v) / tau)
            for r in range(rec_neurons.shape[0]):
                rec_v[k_rec, r] = v[rec_neurons[r]] * decay
            k_rec += 1
        if t > t_v:
            decay = math.exp(-(t - t_v) / tau)
            for j in range(n_out):
                v[j] *= decay
            t_v = t
        last_pre[i] = t
        winner = -1
        best = 0.0
        row = weights[i]
        for j in range(n_out):
            if t < refractory_until[j] or t < inhibited_until[j]:
                continue
            v[j] += row[j]
            margin = v[j] - (thresh + theta[j])
            if margin >= 0.0 and (winner < 0 or margin > best):
                winner = j
                best = margin
        if winner < 0:
            continue
        out_t[n_spikes] = t
        out_n[n_spikes] = winner
        n_spikes += 1
        for j in range(n_out):
            v[j] = 0.0
            if j != winner:
                inhibited_until[j] = t + t_inh
        refractory_until[winner] = t + t_ref
        theta[winner] += theta_plus
        if learn:
            updates = 0
            total = 0.0
            for p in range(n_in):
                if not mask[p, winner]:
                    continue
                w = weights[p, winner]
                if t - last_pre[p] <= t_stdp:
                    dw = a_plus * math.exp(-b_plus * w)
                    w_new = min(w + dw, 1.0)
                else:
                    dw = a_minus * math.exp(-b_minus * (1.0 - w))
                    w_new = max(w - dw, 0.0)
                total += abs(w_new - w)
                weights[p, winner] = w_new
                updates += 1
            clock[1] += updates
            clock[2] += total
    while k_rec < n_rec:
        decay = math.exp(-(rec_t0 + k_rec * rec_interval - t_v) / tau)
        for r in range(rec_neurons.shape[0]):
            rec_v[k_rec, r] = v[rec_neurons[r]] * decay
        k_rec += 1
    if t_end > t_v:
        decay = math.exp(-(t_end - t_v) / tau)
        for j in range(n_out):
            v[j] *= decay
        t_v = t_end
    clock[0] = t_v
    return n_spikes


def run_layer_state(state: LayerState, ev_t, ev_i, t_end, params, learn, out_t, out_n, rec_neurons, rec_t0, rec_interval, rec_v) -> int:
    """Run :func:`run_layer` on a :class:`LayerState`."""
    return run_layer(
        ev_t, ev_i, t_end, state.weights, state.mask, state.v, state.theta, state.refractory_until, state.inhibited_until,
        state.last_pre, state.clock, params, learn, out_t, out_n, rec_neurons, rec_t0, rec_interval, rec_v,
    )
