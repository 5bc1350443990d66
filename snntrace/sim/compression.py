"""Compression strategies: static threshold, Progressive Pruning (PP) and PP with Dynamic Synaptic Weight
Reinforcement (DSWR).

A prune removes every remaining synapse whose weight is below the threshold T (its mask entry becomes False and its
weight 0; pruned synapses never come back and receive no STDP). The thresholds follow (Elbez et al. 2022)

    PP:    T_k = min(T_{k-1} + alpha_l * Cr_{k-1} / C_{k-1}, theta_max),   T_0 = 0,  Cr_0 / C_0 = 1

where prune k (k = 1, 2, ...) happens after batch k (schedule ``batch``) or epoch k (schedule ``epoch``), C_k and
Cr_k are the synapses before and after it, and alpha_l = alpha * 2**l for the l-th trained layer (0-based), so deeper
layers are compressed more. With DSWR every kept synapse is then reinforced: w <- clip(w + beta * T_k, 0, 1).
``static`` prunes with the same threshold every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snntrace.errors import UsageError

STRATEGIES = ("none", "static", "pp", "pp-dswr")


@dataclass(frozen=True)
class PruneResult:
    """What one compression step did to one projection."""

    step: int
    threshold: float
    before: int
    remaining: int
    reinforced: int  # synapses reinforced by DSWR (0 without it)
    beta: float


def prune(weights: np.ndarray, mask: np.ndarray, threshold: float) -> tuple[int, int]:
    """Remove synapses with weight below ``threshold`` in place; return (synapses before, synapses remaining)."""
    before = int(mask.sum())
    mask &= weights >= threshold
    weights[~mask] = 0.0
    return before, int(mask.sum())


def reinforce(weights: np.ndarray, mask: np.ndarray, beta: float, threshold: float) -> int:
    """Add ``beta * threshold`` to every kept synapse in place, clipped to [0, 1]; return how many were changed."""
    weights[mask] = np.clip(weights[mask] + beta * threshold, 0.0, 1.0)
    return int(mask.sum())


class Compressor:
    """The compression schedule of one projection: decides thresholds and applies prune / reinforce steps."""

    def __init__(
        self,
        strategy: str = "none",
        *,
        alpha: float = 0.05,
        beta: float = 0.1,
        theta_max: float = 0.3,
        static_threshold: float = 0.2,
        layer: int = 0,
    ):
        if strategy not in STRATEGIES:
            raise UsageError(f"compression must be one of {', '.join(STRATEGIES)}; got {strategy!r}", location="compression")
        self.strategy = strategy
        self.alpha = float(alpha) * 2.0**layer
        self.beta = float(beta)
        self.theta_max = float(theta_max)
        self.static_threshold = float(static_threshold)
        self.threshold = 0.0  # T of the last prune (T_0 = 0)
        self.ratio = 1.0  # Cr / C of the last prune (1 before any)
        self.steps = 0

    @property
    def active(self) -> bool:
        """Return whether this strategy prunes at all."""
        return self.strategy != "none"

    def next_threshold(self) -> float:
        """Return the threshold the next prune will use."""
        if self.strategy == "static":
            return self.static_threshold
        return min(self.threshold + self.alpha * self.ratio, self.theta_max)

    def step(self, weights: np.ndarray, mask: np.ndarray) -> PruneResult | None:
        """Apply the next compression step in place (None for ``none``) and return what it did."""
        if not self.active:
            return None
        threshold = self.next_threshold()
        before, remaining = prune(weights, mask, threshold)
        reinforced = reinforce(weights, mask, self.beta, threshold) if self.strategy == "pp-dswr" else 0
        self.steps += 1
        self.threshold = threshold
        self.ratio = remaining / before if before else 0.0
        return PruneResult(self.steps, threshold, before, remaining, reinforced, self.beta if reinforced else 0.0)
