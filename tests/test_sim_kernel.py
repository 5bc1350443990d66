"""The event-driven kernel on hand-made events: analytic leak, winner-takes-all, simplified STDP, pruned synapses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snntrace.sim.config import SimConfig
from snntrace.sim.kernel import LayerState, pack_parameters, run_layer_state

TAU = 100.0


def params(**changes) -> np.ndarray:
    """Kernel parameters from the default configuration with some changed."""
    return pack_parameters(SimConfig(**changes).validate())


def run(state, times, lines, t_end, p, *, learn=False, rec_neurons=(), rec_t0=0.0, rec_interval=1.0, rec_n=0):
    times = np.asarray(times, dtype=np.float64)
    lines = np.asarray(lines, dtype=np.int32)
    out_t = np.empty(max(len(times), 1))
    out_n = np.empty(max(len(times), 1), dtype=np.int32)
    rec = np.empty((rec_n, len(rec_neurons)))
    n = run_layer_state(state, times, lines, t_end, p, learn, out_t, out_n, np.asarray(rec_neurons, dtype=np.int64), rec_t0, rec_interval, rec)
    return out_t[:n], out_n[:n], rec


def test_membrane_potential_between_events_matches_the_analytic_leak():
    weights = np.array([[0.3], [0.5], [0.2]])
    state = LayerState(3, 1, weights)
    p = params(tau_m=TAU, v_thresh=10.0)
    times = [0.0, 12.5, 40.0]
    _, _, rec = run(state, times, [0, 1, 2], 100.0, p, rec_neurons=[0], rec_t0=0.0, rec_interval=7.0, rec_n=14)
    grid = 7.0 * np.arange(14)

    def exact(t):
        return sum(w * math.exp(-(t - s) / TAU) for s, w in zip(times, [0.3, 0.5, 0.2]) if s <= t)

    # a sample taken at an event's time is taken before that event is added
    expected = [exact(t) - (weights[times.index(t), 0] if t in times else 0.0) for t in grid]
    np.testing.assert_allclose(rec[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(state.v[0], exact(100.0), rtol=1e-12)
    assert state.clock[0] == 100.0


def test_winner_takes_all_leaves_one_winner_and_inhibits_the_others():
    weights = np.array([[1.5, 2.5, 2.0, 0.5]])  # three neurons cross threshold 1 at once; neuron 1 is furthest above
    state = LayerState(1, 4, weights)
    p = params(v_thresh=1.0, refractory=5.0, inhibition=10.0, theta_plus=0.0)
    out_t, out_n, _ = run(state, [1.0], [0], 1.0, p)
    assert out_n.tolist() == [1] and out_t.tolist() == [1.0]
    assert np.all(state.v == 0.0), "every potential resets after the winner fires"
    # at 3 ms the winner is refractory (until 6) and the others inhibited (until 11); at 10.5 only the winner is free;
    # at 15 it is refractory and they inhibited again; at 21 everyone is free and the strongest wins again
    out_t, out_n, _ = run(state, [3.0, 10.5, 15.0, 21.0], [0, 0, 0, 0], 22.0, p)
    assert out_n.tolist() == [1, 1]
    assert out_t.tolist() == [10.5, 21.0]


def test_winner_threshold_grows_by_theta_plus():
    state = LayerState(1, 2, np.array([[2.0, 1.5]]))
    p = params(v_thresh=1.0, theta_plus=0.25, inhibition=0.0, refractory=0.0)
    run(state, [0.0, 1.0], [0, 0], 2.0, p)
    # first event: neuron 0 wins (margin 1.0 vs 0.5); second: neuron 0 has v=2 vs threshold 1.25, neuron 1 v=1.5 vs 1
    np.testing.assert_allclose(state.theta, [0.5, 0.0])


def test_stdp_potentiates_recent_inputs_and_depresses_the_others_with_soft_bounds():
    cfg = SimConfig(v_thresh=1.0, t_stdp=50.0, a_plus=0.01, a_minus=0.005, b_plus=1.5, b_minus=2.5, theta_plus=0.0)
    p = pack_parameters(cfg.validate())
    w0 = np.array([[0.4], [0.7], [0.2], [0.9], [0.0]])
    state = LayerState(5, 1, w0.copy())
    state.mask[4, 0] = False  # pruned synapse
    # input 1 at t=0 (60 ms before the post spike: outside the window), input 0 at t=20 (inside), input 3 makes it fire
    out_t, out_n, _ = run(state, [0.0, 20.0, 60.0], [1, 0, 3], 60.0, p, learn=True)
    assert out_n.tolist() == [0] and out_t.tolist() == [60.0]
    potentiate = lambda w: min(w + 0.01 * math.exp(-1.5 * w), 1.0)
    depress = lambda w: max(w - 0.005 * math.exp(-2.5 * (1 - w)), 0.0)
    expected = [potentiate(0.4), depress(0.7), depress(0.2), potentiate(0.9), 0.0]
    np.testing.assert_allclose(state.weights[:, 0], expected, rtol=1e-12)
    assert state.clock[1] == 4, "the pruned synapse is not updated"
    np.testing.assert_allclose(state.clock[2], np.abs(np.array(expected) - w0[:, 0]).sum(), rtol=1e-12)


def test_stdp_keeps_weights_within_zero_and_one():
    state = LayerState(2, 1, np.array([[0.999], [0.001]]))
    p = params(v_thresh=0.5, a_plus=0.5, a_minus=0.5, theta_plus=0.0)
    run(state, [0.0], [0], 0.0, p, learn=True)
    assert state.weights[0, 0] == 1.0 and state.weights[1, 0] == 0.0


def test_pruned_synapses_stay_at_zero_and_receive_no_stdp_over_many_spikes():
    rng = np.random.default_rng(3)
    weights = rng.uniform(0, 1, size=(50, 4))
    state = LayerState(50, 4, weights.copy())
    pruned = rng.uniform(size=(50, 4)) < 0.4
    state.mask[pruned] = False
    state.weights[pruned] = 0.0
    times = np.sort(rng.uniform(0, 2000, size=3000))
    lines = rng.integers(0, 50, size=3000)
    out_t, _, _ = run(state, times, lines, 2000.0, params(v_thresh=2.0, theta_plus=0.0), learn=True)
    assert len(out_t) > 50, "the layer must fire for this test to mean something"
    assert np.all(state.weights[pruned] == 0.0)
    assert not np.array_equal(state.weights[~pruned], weights[~pruned])


@pytest.mark.parametrize("learn", [False, True])
def test_without_input_the_layer_is_silent_and_only_decays(learn):
    state = LayerState(3, 2, np.full((3, 2), 0.5))
    state.v[:] = [0.8, 0.4]
    out_t, _, _ = run(state, [], [], 50.0, params(), learn=learn)
    assert len(out_t) == 0
    np.testing.assert_allclose(state.v, np.array([0.8, 0.4]) * math.exp(-0.5))
