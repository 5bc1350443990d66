"""Poisson rate encoding: pixel intensity -> time-sorted input spike events."""

from __future__ import annotations

import numpy as np
from numba import njit


def poisson_events(image: np.ndarray, max_rate: float, duration: float, t0: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return (times in ms, input indices) of independent Poisson spike trains, sorted by time.

    Pixel ``x`` (0..255) fires at ``x / 255 * max_rate`` Hz for ``duration`` ms from ``t0``. Drawn as the merged
    process (exact, and needs no sort): the total count is Poisson with the summed rate, the sorted times are
    normalised cumulative exponential gaps (uniform order statistics), and each event's line is chosen with
    probability proportional to its rate.
    """
    cdf = np.cumsum(image.reshape(-1).astype(np.float64) * (max_rate / 255.0))
    return _merged_poisson(cdf, float(duration), float(t0), rng)


@njit(cache=True)
def _merged_poisson(cdf, duration, t0, rng):
    total = cdf[-1] if cdf.shape[0] else 0.0
    n = rng.poisson(total * duration / 1000.0) if total > 0 else 0
    times = np.empty(n)
    lines = np.empty(n, dtype=np.int32)
    acc = 0.0
    for k in range(n):
        acc += rng.standard_exponential()
        times[k] = acc
    acc += rng.standard_exponential()
    scale = duration / acc
    last = cdf.shape[0] - 1
    for k in range(n):
        times[k] = times[k] * scale + t0
        lines[k] = min(np.searchsorted(cdf, rng.random() * total, side="right"), last)
    return times, lines
