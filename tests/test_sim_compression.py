"""Compression schedules: the PP threshold recurrence, DSWR reinforcement, static threshold, layer-based alpha."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from snntrace.errors import UsageError
from snntrace.sim.compression import Compressor, prune, reinforce


def uniform_weights(seed=0, shape=(200, 50)):
    weights = np.random.default_rng(seed).uniform(0, 1, size=shape)
    return weights, np.ones(shape, dtype=bool)


def test_pp_thresholds_follow_t_next_equals_t_plus_alpha_times_remaining_over_before():
    weights, mask = uniform_weights()
    compressor = Compressor("pp", alpha=0.07, theta_max=1.0)
    results = [compressor.step(weights, mask) for _ in range(8)]
    assert results[0].threshold == pytest.approx(0.07)  # T_0 = 0 and Cr_0 / C_0 = 1
    for previous, current in itertools.pairwise(results):
        assert current.threshold == pytest.approx(previous.threshold + 0.07 * previous.remaining / previous.before, abs=1e-15)
        assert current.before == previous.remaining
    # uniform weights: what remains after pruning at T is about (1 - T) of the synapses
    assert results[-1].remaining / weights.size == pytest.approx(1 - results[-1].threshold, abs=0.02)
    assert np.all(weights[mask] >= results[-1].threshold) and np.all(weights[~mask] == 0)


def test_pp_threshold_is_capped_by_theta_max():
    weights, mask = uniform_weights()
    compressor = Compressor("pp", alpha=0.2, theta_max=0.3)
    thresholds = [compressor.step(weights, mask).threshold for _ in range(4)]
    assert thresholds[0] == pytest.approx(0.2)
    assert thresholds[1:] == [0.3, 0.3, 0.3]


def test_dswr_adds_beta_times_threshold_to_kept_synapses_and_clips_to_one():
    weights = np.array([[0.01, 0.2, 0.5, 0.995]])
    mask = np.ones_like(weights, dtype=bool)
    result = Compressor("pp-dswr", alpha=0.1, beta=0.1, theta_max=1.0).step(weights, mask)
    assert (result.threshold, result.before, result.remaining, result.reinforced) == (pytest.approx(0.1), 4, 3, 3)
    np.testing.assert_allclose(weights, [[0.0, 0.21, 0.51, 1.0]])
    assert mask.tolist() == [[False, True, True, True]]


def test_reinforce_leaves_pruned_synapses_at_zero():
    weights = np.array([0.0, 0.3, 0.0, 0.9])
    mask = np.array([False, True, False, True])
    assert reinforce(weights, mask, 0.5, 0.4) == 2
    np.testing.assert_allclose(weights, [0.0, 0.5, 0.0, 1.0])


def test_pruned_synapses_stay_pruned_even_if_the_weights_array_changes():
    weights, mask = uniform_weights(1, (10, 10))
    prune(weights, mask, 0.5)
    pruned = ~mask.copy()
    weights[pruned] = 0.9  # a later step cannot bring them back: the mask decides
    before, remaining = prune(weights, mask, 0.1)
    assert before == remaining == int((~pruned).sum())
    assert np.all(weights[pruned] == 0.0)


def test_static_threshold_is_the_same_at_every_step():
    weights, mask = uniform_weights()
    compressor = Compressor("static", static_threshold=0.2)
    results = [compressor.step(weights, mask) for _ in range(3)]
    assert [r.threshold for r in results] == [0.2, 0.2, 0.2]
    assert results[1].remaining == results[0].remaining  # nothing new fell below 0.2 without learning


def test_layer_based_alpha_doubles_per_deeper_layer():
    assert [Compressor("pp", alpha=0.05, layer=k, theta_max=1.0).next_threshold() for k in range(3)] == [0.05, 0.1, 0.2]


def test_no_compression_changes_nothing():
    weights, mask = uniform_weights()
    before = weights.copy()
    assert Compressor("none").step(weights, mask) is None
    assert np.array_equal(weights, before) and mask.all()


def test_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(UsageError, match="none, static, pp, pp-dswr"):
        Compressor("magic")
