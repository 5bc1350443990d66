"""Spike aggregates shared by the report modules, computed with one pass over the spikes.

The spikes table is scanned once per report (:func:`snntrace.aggregate.spike_label_counts`: spikes per base bin,
neuron and shown class); densities, class counts, coarser bins, per population and per neuron totals are
re-aggregated from that small frame (exact, because every coarser bin is a multiple of the base bin).
Nothing here is specific to a chart.
"""

from __future__ import annotations

import polars as pl
from snntrace.reports._model import Context

from snntrace import aggregate


def _base_bin(context: Context, bin_ticks: int) -> int:
    base = context.base_bin
    return base if bin_ticks % base == 0 else bin_ticks


def fine(context: Context, base: int) -> pl.DataFrame:
    """Return the one-pass pre-aggregate of the shown populations at bin ``base`` (see ``spike_label_counts``)."""
    return context.cached(
        ("fine", base), lambda: aggregate.spike_label_counts(context.trace, base, context.populations)
    )


def density(context: Context, bin_ticks: int) -> pl.DataFrame:
    """Return ``t, population, neuron, spikes`` of the shown populations at ``bin_ticks``."""
    base = _base_bin(context, bin_ticks)
    frame = context.cached(("density", base), lambda: aggregate.density_from(fine(context, base)))
    if bin_ticks == base:
        return frame
    return context.cached(("density", bin_ticks), lambda: aggregate.rebin(frame, bin_ticks))


def spike_rows(context: Context, pid: int) -> int:
    """Return the number of spike rows of population ``pid`` (one column scanned: cheap)."""
    return context.cached(("spike_rows", pid), lambda: aggregate.spike_rows(context.trace, [pid]))


def spikes_per_bin(context: Context) -> pl.DataFrame:
    """Return ``t, population, spikes`` of the shown populations at the overview bin."""
    return context.cached(
        ("spikes_per_bin", context.bin_ticks),
        lambda: aggregate.rebin(density(context, context.bin_ticks), context.bin_ticks, keys=("population",)),
    )


def neuron_counts(context: Context, pid: int) -> pl.DataFrame:
    """Return every neuron's spike total in population ``pid``, silent ones included: ``population, neuron, spikes``."""
    if pid not in context.populations:
        return context.cached(("neuron_counts", pid), lambda: aggregate.neuron_spike_counts(context.trace, [pid]))

    def compute() -> pl.DataFrame:
        size = int(context.trace.population(pid)["size"])
        every = pl.DataFrame(
            {"population": [pid] * size, "neuron": range(size)}, schema={"population": pl.UInt16, "neuron": pl.UInt32}
        )
        totals = (
            density(context, context.base_bin)
            .filter(pl.col("population") == pid)
            .group_by("population", "neuron")
            .agg(pl.col("spikes").sum())
        )
        return (
            every.join(totals, on=["population", "neuron"], how="left")
            .with_columns(pl.col("spikes").fill_null(0))
            .sort("neuron")
        )

    return context.cached(("neuron_counts", pid), compute)


def class_spikes(context: Context, bin_ticks: int) -> pl.DataFrame:
    """Return ``t, population, neuron, label, spikes`` of the shown populations at ``bin_ticks``."""
    base = _base_bin(context, bin_ticks)
    frame = context.cached(("class_spikes", base), lambda: aggregate.class_spikes_from(fine(context, base)))
    if bin_ticks == base:
        return frame
    return context.cached(
        ("class_spikes", bin_ticks), lambda: aggregate.rebin(frame, bin_ticks, keys=("population", "neuron", "label"))
    )
