"""The SONATA time resolution rule: the coarsest power-of-ten tick that holds every time (see ``choose_resolution``).

A trace stores integer ticks. For each series of times (a population's timestamps, a report's start and step) the
rule takes the coarsest power-of-ten tick, from the series' own unit down to 1 ns, at which every time is within
``ULP_TOLERANCE`` float ulps of a whole number of ticks; the series is *exact* when every time is bit for bit the
float a writer gets for that decimal, computed as ``k / 10**d`` or ``k * 10**-d`` (the two ways simulators compute
``i * dt``). The trace's tick is the finest of the series' ticks (a whole number of a coarser power-of-ten tick is a
whole number of a finer one). When no tick down to 1 ns fits, times are rounded to 1 ns; any rounding is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

FINEST_EXPONENT = 9  # 1 ns: the finest tick the rule considers
ULP_TOLERANCE = 4
_SAMPLE = 4096


def _fits(values: np.ndarray, scale: int, *, ulps: int = 0) -> bool:
    """Return whether every value is k / scale (or k * (1 / scale)) for whole k, to within ``ulps`` float ulps."""
    if values.size == 0:
        return True
    dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
    scaled = values.astype(np.float64) * scale
    if np.any(np.abs(scaled) >= 2**62):
        return False
    k = np.rint(scaled)
    by_division = (k / scale).astype(dtype)
    by_product = (k * (1.0 / scale)).astype(dtype)
    if ulps == 0:
        return bool(np.all((by_division == values) | (by_product == values)))
    tolerance = ulps * np.spacing(np.abs(values).astype(dtype))
    return bool(np.all(np.abs(by_division.astype(np.float64) - values) <= tolerance))


@dataclass(frozen=True)
class Resolution:
    """A chosen tick of 10**-exponent s, the coarsest tick of each time series, and what rounding it costs."""

    exponent: int | None
    seconds: float
    exact: bool
    series: tuple[int | None, ...] = ()
    note: str | None = None


def _series_exponent(values: np.ndarray, unit: int) -> tuple[int, bool]:
    """Return the coarsest power-of-ten tick (exponent) within a few ulps of every value, and whether it is exact."""
    # A strided sample rules out too-coarse ticks cheaply; only a tick the sample accepts is tried on every value.
    sample = values[:: max(1, values.size // _SAMPLE)]
    for exponent in range(unit, FINEST_EXPONENT + 1):
        scale = 10 ** (exponent - unit)
        # Float noise of i * dt is not information: a tick within a few ulps counts, and exactness is reported.
        if _fits(sample, scale, ulps=ULP_TOLERANCE) and _fits(values, scale, ulps=ULP_TOLERANCE):
            return exponent, _fits(values, scale)
    return FINEST_EXPONENT, False


def choose_resolution(series: Iterable[tuple[np.ndarray, int]]) -> Resolution:
    """Choose the tick for times given as (values, unit exponent) pairs, following the module's rule.

    Each series gets its own coarsest exact tick; the trace's tick is the finest of those, which holds every series
    exactly (a whole number of a coarser power-of-ten tick is a whole number of a finer one).
    """
    series = [(np.asarray(v), e) for v, e in series]
    found = [_series_exponent(v, e) for v, e in series]
    exponent = max((x for x, _ in found), default=3)
    exact = all(ok for _, ok in found)
    note = None
    if not exact:
        errors = []
        for (values, unit), (own, _) in zip(series, found):
            if values.size:
                scale = 10 ** (own - unit)
                errors.append(float(np.max(np.abs(np.rint(values * scale) / scale - values))) * 10.0**-unit)
        largest = max(errors, default=0.0)
        if any(
            own == FINEST_EXPONENT and not _fits(v, 10 ** (own - e), ulps=ULP_TOLERANCE)
            for (v, e), (own, _) in zip(series, found)
        ):
            note = f"some times are not whole ticks of any power of ten down to 1 ns; rounded to ticks of 1e-{exponent} s (largest rounding {largest:.3g} s)"
        else:
            note = f"times differ from whole ticks of 1e-{exponent} s by float noise only (at most {ULP_TOLERANCE} ulps, {largest:.3g} s); rounded to the ticks"
    return Resolution(exponent, 10.0**-exponent, exact, tuple(x for x, _ in found), note)


def to_ticks(values: np.ndarray, unit: int, resolution: Resolution, own: int | None) -> np.ndarray:
    """Convert times in 10**-unit s to ticks, rounding at the series' own tick first so exact decimals stay exact."""
    if resolution.exponent is not None and own is not None and resolution.exponent >= own >= unit:
        coarse = np.rint(values.astype(np.float64) * 10 ** (own - unit)).astype(np.int64)
        return coarse * 10 ** (resolution.exponent - own)
    return np.rint(values.astype(np.float64) * 10.0**-unit / resolution.seconds).astype(np.int64)


def explicit_resolution(seconds: float, series: list[tuple[np.ndarray, int]]) -> Resolution:
    """Use a given tick; report the largest rounding beyond what the times' own decimal ticks explain."""
    found = choose_resolution(series)
    exponent = next((c for c in range(13) if abs(seconds * 10**c - 1) < 1e-12), None)
    if exponent is not None and exponent >= found.exponent:
        return Resolution(exponent, float(seconds), found.exact, found.series, found.note)
    resolution = Resolution(exponent, float(seconds), True, tuple(None for _ in series))
    error = 0.0
    for values, unit in series:
        if values.size:
            error = max(
                error, float(np.max(np.abs(to_ticks(values, unit, resolution, None) * seconds - values * 10.0**-unit)))
            )
    if error > 1e-3 * seconds:
        return Resolution(
            exponent,
            float(seconds),
            False,
            resolution.series,
            f"times rounded to the given tick {seconds:g} s (largest rounding {error:.3g} s)",
        )
    return resolution
