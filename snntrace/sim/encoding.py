"""Poisson rate encoding: pixel intensity -> time-sorted input spike events."""

from __future__ import annotations

import numpy as np


def poisson_events(image: np.ndarray, max_rate: float, duration: float, t0: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return (times in ms, input indices) of Poisson spike trains, sorted by time.

    Pixel ``x`` (0..255) fires at ``x / 255 * max_rate`` Hz for ``duration`` ms starting at ``t0``; the spike count
    of each line is Poisson and, given the count, the times are uniform (an exact homogeneous Poisson process).
    """
    rates = image.reshape(-1).astype(np.float64) * (max_rate / 255.0)
    counts = rng.poisson(rates * (duration / 1000.0))
    lines = np.repeat(np.arange(rates.size, dtype=np.int32), counts)
    times = rng.uniform(0.0, duration, size=lines.size)
    order = np.argsort(times, kind="stable")
    return times[order] + t0, lines[order]
