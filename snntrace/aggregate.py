"""Aggregate a trace's tables into the small frames a report embeds.

Every aggregate is one plain relational query (filter, group-by, equi-join, explode) over the Parquet parts,
collected with Polars' streaming engine so memory stays bounded whatever the trace size; nothing runs per row in
Python. The same queries can be written for a distributed engine (Spark SQL) over the same files.

Times stay in integer ticks: a binned frame's ``t`` is the first tick of its bin (``t // bin * bin``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

import polars as pl

from snntrace._windows import bucketed_windows, class_lookup, sample_windows
from snntrace.reader import Trace

# Nice bin widths in seconds (1-2-5 series) an automatic bin is chosen from.
_NICE_STEPS = (1, 2, 5)
DEFAULT_TARGET_BINS = 200
WEIGHT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Collect a query with the streaming engine (bounded memory).

    Aggregates whose result can be large sort it after collecting: the streaming engine's sort of a 500k-row
    group-by result takes several times longer than an in-memory sort of the collected frame.
    """
    return frame.collect(engine="streaming")


def auto_bin(trace: Trace, *, target_bins: int = DEFAULT_TARGET_BINS) -> int:
    """Return a bin width in ticks: the smallest 1-2-5 duration giving at most ``target_bins`` bins."""
    duration = max(trace.duration_ticks, 1) * trace.resolution
    wanted = duration / max(target_bins, 1)
    exponent = math.floor(math.log10(wanted)) if wanted > 0 else 0
    for scale in (exponent, exponent + 1):
        for step in _NICE_STEPS:
            seconds = step * 10.0**scale
            if seconds >= wanted * (1 - 1e-9):
                return max(1, round(seconds / trace.resolution))
    return max(1, round(wanted / trace.resolution))  # pragma: no cover - the loop always returns


def bin_ticks_for(trace: Trace, seconds: float | None = None, *, target_bins: int = DEFAULT_TARGET_BINS) -> int:
    """Return the bin width in ticks for a width in seconds, or the automatic one when ``seconds`` is None."""
    if seconds is None:
        return auto_bin(trace, target_bins=target_bins)
    return max(1, round(seconds / trace.resolution))


def population_ids(trace: Trace, populations: Iterable[str | int] | None = None) -> list[int]:
    """Return the ids of the named populations (all when None), in manifest order."""
    if populations is None:
        return [int(p["id"]) for p in trace.populations]
    return [int(trace.population(p)["id"]) for p in populations]


def _binned(column: str, bin_ticks: int) -> pl.Expr:
    return (pl.col(column) // bin_ticks * bin_ticks).alias("t")


def _spikes(trace: Trace, populations: Sequence[int] | None) -> pl.LazyFrame:
    frame = trace.spikes
    if populations is not None:
        frame = frame.filter(pl.col("population").is_in(list(populations)))
    return frame


# -- spikes -------------------------------------------------------------------------------------------------------
def spike_total(trace: Trace, populations: Sequence[int] | None = None) -> int:
    """Return the number of spikes (sum of ``count``) in the given populations."""
    frame = collect(_spikes(trace, populations).select(pl.col("count").cast(pl.Int64).sum()))
    return int(frame.item() or 0)


def spike_rows(trace: Trace, populations: Sequence[int] | None = None) -> int:
    """Return the number of rows of the spikes table in the given populations."""
    return int(collect(_spikes(trace, populations).select(pl.len())).item())


def spikes_per_bin(trace: Trace, bin_ticks: int, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return spikes per time bin per population: ``t, population, spikes``."""
    query = (
        _spikes(trace, populations)
        .group_by(_binned("t", bin_ticks), pl.col("population"))
        .agg(pl.col("count").cast(pl.Int64).sum().alias("spikes"))
        .sort("t", "population")
    )
    return collect(query)


def spike_density(trace: Trace, bin_ticks: int, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return spikes per time bin per neuron: ``t, population, neuron, spikes`` (cells with no spike are absent)."""
    query = (
        _spikes(trace, populations)
        .group_by(_binned("t", bin_ticks), pl.col("population"), pl.col("neuron"))
        .agg(pl.col("count").cast(pl.Int64).sum().alias("spikes"))
    )
    return collect(query).sort("t", "population", "neuron")


def rebin(
    frame: pl.DataFrame, bin_ticks: int, keys: Sequence[str] = ("population", "neuron"), value: str = "spikes"
) -> pl.DataFrame:
    """Return a binned frame summed into coarser bins of ``bin_ticks`` (exact when it is a multiple of the old bin)."""
    return frame.lazy().group_by(_binned("t", bin_ticks), *keys).agg(pl.col(value).sum()).sort("t", *keys).collect()


def raw_spikes(trace: Trace, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return the spike rows themselves: ``t, population, neuron, count`` sorted by time."""
    return collect(
        _spikes(trace, populations).select("t", "population", "neuron", "count").sort("t", "population", "neuron")
    )


def neuron_spike_counts(trace: Trace, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return every neuron's spike total, silent neurons included: ``population, neuron, spikes``."""
    ids = population_ids(trace) if populations is None else list(populations)
    sizes = {int(p["id"]): int(p["size"]) for p in trace.populations}
    every = pl.LazyFrame(
        {
            "population": [pid for pid in ids for _ in range(sizes[pid])],
            "neuron": [n for pid in ids for n in range(sizes[pid])],
        },
        schema={"population": pl.UInt16, "neuron": pl.UInt32},
    )
    counted = (
        _spikes(trace, ids).group_by("population", "neuron").agg(pl.col("count").cast(pl.Int64).sum().alias("spikes"))
    )
    query = every.join(counted, on=["population", "neuron"], how="left").with_columns(pl.col("spikes").fill_null(0))
    return collect(query.sort("population", "neuron"))


def firing_rates(trace: Trace, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return every neuron's mean firing rate over the run in Hz: ``population, neuron, spikes, rate``."""
    seconds = max(trace.duration, trace.resolution)
    return neuron_spike_counts(trace, populations).with_columns((pl.col("spikes") / seconds).alias("rate"))


# -- spikes and samples -------------------------------------------------------------------------------------------
def labelled_spikes(trace: Trace, populations: Sequence[int] | None = None) -> pl.LazyFrame:
    """Return spikes that fell inside a labelled sample presentation, with its label: ``t, population, neuron, count,
    label`` (unlabelled presentations show no class).

    An interval join written as an equi-join: samples are exploded into the fixed-width time buckets they cover,
    spikes join them on the bucket, and the exact window condition filters the candidates. This is the usual range
    join of SQL engines; it streams and needs no sorted input.
    """
    width, buckets = bucketed_windows(trace)
    return (
        _spikes(trace, populations)
        .with_columns((pl.col("t") // width).alias("bucket"))
        .join(buckets, on="bucket", how="inner")
        .filter((pl.col("t") >= pl.col("t_start")) & (pl.col("t") < pl.col("t_end")) & pl.col("label").is_not_null())
        .select("t", "population", "neuron", "count", "label")
    )


def spike_label_counts(trace: Trace, bin_ticks: int, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return the finest spike pre-aggregate, in one pass: ``t, population, neuron, label, spikes, shown``.

    One row per bin, neuron and shown class (``label`` null for spikes outside every labelled presentation):
    ``shown`` sums the spikes inside a presentation of that class, ``spikes`` counts each spike once, under one of
    its groups. So :func:`spike_density` is this frame summed over labels and :func:`class_spikes_per_bin` its
    labelled rows: one scan of the spikes gives both, and coarser bins are re-aggregated from it
    (:func:`density_from`, :func:`class_spikes_from`).

    Disjoint, aligned presentations (any simulator run) give each spike its class by lookup
    (:func:`snntrace._windows.class_lookup`). Others take the bucketed range join of :func:`labelled_spikes`, kept
    as a left join: buckets are numbered within themselves (``ROW_NUMBER() OVER (PARTITION BY bucket)``) and a
    spike is counted once, on its first candidate.
    """
    lookup = class_lookup(trace)
    if lookup is not None:
        # Producers writing one row per spike leave `count` out: counting rows then skips summing a column of ones.
        count = pl.col("count").cast(pl.Int64).sum() if trace.stores("spikes", "count") else pl.len().cast(pl.Int64)
        query = (
            _spikes(trace, populations)
            .group_by(_binned("t", bin_ticks), "population", "neuron", lookup.label())
            .agg(count.alias("spikes"))
            .with_columns(pl.when(pl.col("label").is_not_null()).then(pl.col("spikes")).otherwise(0).alias("shown"))
        )
        return collect(query).sort("t", "population", "neuron", "label", nulls_last=True)
    width, buckets = bucketed_windows(trace)
    buckets = buckets.with_columns(pl.int_range(pl.len()).over("bucket").alias("j"))
    inside = ((pl.col("t") >= pl.col("t_start")) & (pl.col("t") < pl.col("t_end"))).fill_null(False)
    first = pl.col("j").fill_null(0) == 0
    count = pl.col("count").cast(pl.Int64)
    query = (
        _spikes(trace, populations)
        .with_columns((pl.col("t") // width).alias("bucket"))
        .join(buckets, on="bucket", how="left")
        .select(
            _binned("t", bin_ticks),
            "population",
            "neuron",
            pl.when(inside).then(pl.col("label")).alias("label"),
            pl.when(first).then(count).otherwise(0).alias("spikes"),
            pl.when(inside & pl.col("label").is_not_null()).then(count).otherwise(0).alias("shown"),
        )
        .group_by("t", "population", "neuron", "label")
        .agg(pl.col("spikes", "shown").sum())
    )
    return collect(query).sort("t", "population", "neuron", "label", nulls_last=True)


def density_from(fine: pl.DataFrame, bin_ticks: int | None = None) -> pl.DataFrame:
    """Return :func:`spike_density` from a :func:`spike_label_counts` frame (at a multiple of its bin when given)."""
    time = pl.col("t") if bin_ticks is None else _binned("t", bin_ticks)
    return (
        fine.lazy()
        .group_by(time, "population", "neuron")
        .agg(pl.col("spikes").sum())
        .sort("t", "population", "neuron")
        .collect()
    )


def class_spikes_from(fine: pl.DataFrame, bin_ticks: int | None = None) -> pl.DataFrame:
    """Return :func:`class_spikes_per_bin` from a :func:`spike_label_counts` frame (at a multiple of its bin)."""
    if bin_ticks is None:  # the fine frame is sorted and unique per bin, neuron and label already
        return fine.filter(pl.col("label").is_not_null()).select("t", "population", "neuron", "label", spikes="shown")
    time = _binned("t", bin_ticks)
    return (
        fine.lazy()
        .filter(pl.col("label").is_not_null())  # a group has a label only if a spike fell inside a presentation
        .group_by(time, "population", "neuron", "label")
        .agg(pl.col("shown").sum().alias("spikes"))
        .sort("t", "population", "neuron", "label")
        .collect()
    )


def class_exposure(trace: Trace, bin_ticks: int | None = None) -> pl.DataFrame:
    """Return how long each class was shown, in ticks: ``label, ticks`` (and ``t`` per bin when ``bin_ticks`` is given).

    A presentation spanning several bins is split at the bin edges, so sums over bins equal whole-run totals.
    """
    windows = sample_windows(trace)
    if bin_ticks is None:
        query = windows.group_by("label").agg((pl.col("t_end") - pl.col("t_start")).sum().alias("ticks")).sort("label")
        return collect(query)
    query = (
        windows.with_columns(
            pl.int_ranges(pl.col("t_start") // bin_ticks, (pl.col("t_end") - 1) // bin_ticks + 1).alias("b")
        )
        .explode("b")
        .with_columns((pl.col("b").cast(pl.Int64) * bin_ticks).alias("t"))
        .with_columns(
            (
                pl.min_horizontal(pl.col("t_end"), pl.col("t") + bin_ticks)
                - pl.max_horizontal(pl.col("t_start"), pl.col("t"))
            ).alias("ticks")
        )
        .group_by("t", "label")
        .agg(pl.col("ticks").sum())
        .sort("t", "label")
    )
    return collect(query)


def samples_per_bin(trace: Trace, bin_ticks: int) -> pl.DataFrame:
    """Return how many presentations started in each bin per label and split: ``t, label, split, samples``."""
    query = (
        trace.samples.group_by(_binned("t_start", bin_ticks), pl.col("label"), pl.col("split").cast(pl.String))
        .agg(pl.len().cast(pl.Int64).alias("samples"))
        .sort("t", "label", "split")
    )
    return collect(query)


def class_spikes_per_bin(trace: Trace, bin_ticks: int, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return spikes per bin, neuron and shown class: ``t, population, neuron, label, spikes``."""
    query = (
        labelled_spikes(trace, populations)
        .group_by(_binned("t", bin_ticks), pl.col("population"), pl.col("neuron"), pl.col("label"))
        .agg(pl.col("count").cast(pl.Int64).sum().alias("spikes"))
    )
    return collect(query).sort("t", "population", "neuron", "label")


def class_firing_rates(trace: Trace, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return each neuron's rate while each class was shown, in Hz: ``population, neuron, label, spikes, seconds, rate``."""
    counts = (
        labelled_spikes(trace, populations)
        .group_by("population", "neuron", "label")
        .agg(pl.col("count").cast(pl.Int64).sum().alias("spikes"))
    )
    exposure = (
        pl.LazyFrame(class_exposure(trace))
        .with_columns((pl.col("ticks") * trace.resolution).alias("seconds"))
        .drop("ticks")
    )
    query = counts.join(exposure, on="label", how="inner").with_columns(
        (pl.col("spikes") / pl.col("seconds")).alias("rate")
    )
    return collect(query.sort("population", "neuron", "label"))


def class_mean_rates(trace: Trace, populations: Sequence[int] | None = None) -> pl.DataFrame:
    """Return the mean rate over every neuron of a population while each class was shown: ``population, label, rate``."""
    sizes = pl.LazyFrame(
        {"population": [int(p["id"]) for p in trace.populations], "size": [int(p["size"]) for p in trace.populations]},
        schema={"population": pl.UInt16, "size": pl.Int64},
    )
    per_neuron = pl.LazyFrame(class_firing_rates(trace, populations))
    query = (
        per_neuron.group_by("population", "label")
        .agg(pl.col("rate").sum().alias("total"))
        .join(sizes, on="population")
        .select("population", "label", (pl.col("total") / pl.col("size")).alias("rate"))
        .sort("population", "label")
    )
    return collect(query)


# -- states ----------------------------------------------------------------------------------------------------------
def state_variables(trace: Trace) -> pl.DataFrame:
    """Return the recorded state variables: ``population, variable, neurons``."""
    query = (
        trace.states.group_by("population", pl.col("variable").cast(pl.String))
        .agg(pl.col("neuron").n_unique().alias("neurons"))
        .sort("population", "variable")
    )
    return collect(query)


def potential_per_bin(trace: Trace, bin_ticks: int, *, variable: str = "v", per_neuron: bool = False) -> pl.DataFrame:
    """Return ``variable`` per bin and population: ``t, population[, neuron], mean, min, max``."""
    keys = [_binned("t", bin_ticks), pl.col("population")] + ([pl.col("neuron")] if per_neuron else [])
    query = (
        trace.states.filter(pl.col("variable").cast(pl.String) == variable)
        .group_by(*keys)
        .agg(
            pl.col("value").mean().alias("mean"), pl.col("value").min().alias("min"), pl.col("value").max().alias("max")
        )
        .sort(["t", "population"] + (["neuron"] if per_neuron else []))
    )
    return collect(query)


# -- weights ---------------------------------------------------------------------------------------------------------
def _weights(trace: Trace) -> pl.LazyFrame:
    """Return the weight rows that can be aggregated: a time and a finite weight (invalid traces hold others)."""
    return trace.weights.filter(pl.col("t").is_not_null() & pl.col("weight").is_finite())


def weight_snapshots(trace: Trace) -> pl.DataFrame:
    """Return the snapshot times per projection: ``projection, t, synapses``."""
    return collect(
        _weights(trace)
        .group_by("projection", "t")
        .agg(pl.len().cast(pl.Int64).alias("synapses"))
        .sort("projection", "t")
    )


def weight_stats(trace: Trace) -> pl.DataFrame:
    """Return per projection and snapshot: ``projection, t, synapses, mean, min, max, q05, q25, q50, q75, q95``."""
    quantiles = [
        pl.col("weight").quantile(q, interpolation="linear").alias(f"q{round(q * 100):02d}") for q in WEIGHT_QUANTILES
    ]
    query = (
        _weights(trace)
        .group_by("projection", "t")
        .agg(
            pl.len().cast(pl.Int64).alias("synapses"),
            pl.col("weight").mean().alias("mean"),
            pl.col("weight").min().alias("min"),
            pl.col("weight").max().alias("max"),
            *quantiles,
        )
        .sort("projection", "t")
    )
    return collect(query)


def weight_histogram(trace: Trace, *, bins: int = 20) -> pl.DataFrame:
    """Return a histogram per projection and snapshot over the projection's whole weight range.

    Columns ``projection, t, bin, low, high, synapses``; ``bin`` 0..bins-1, the maximum falls in the last bin.
    """
    ranges = (
        _weights(trace)
        .group_by("projection")
        .agg(pl.col("weight").min().alias("lo"), pl.col("weight").max().alias("hi"))
    )
    width = pl.when(pl.col("hi") > pl.col("lo")).then((pl.col("hi") - pl.col("lo")) / bins).otherwise(1.0)
    query = (
        _weights(trace)
        .join(ranges, on="projection")
        .with_columns(width.alias("width"))
        .with_columns(
            ((pl.col("weight") - pl.col("lo")) / pl.col("width")).floor().cast(pl.Int64).clip(0, bins - 1).alias("bin")
        )
        .group_by("projection", "t", "bin")
        .agg(
            pl.len().cast(pl.Int64).alias("synapses"),
            (pl.col("lo").first() + pl.col("bin").first() * pl.col("width").first()).alias("low"),
            (pl.col("lo").first() + (pl.col("bin").first() + 1) * pl.col("width").first()).alias("high"),
        )
        .select("projection", "t", "bin", "low", "high", "synapses")
        .sort("projection", "t", "bin")
    )
    return collect(query)


def weight_updates(
    trace: Trace, bin_ticks: int | None = None, *, snapshots: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Return what changed between successive snapshots of each projection, at the later snapshot's time.

    Columns ``projection, t, changed, mean_abs_dw, pruned, added``: synapses whose weight changed, the mean absolute
    change over synapses present in both, synapses that disappeared and appeared. With ``bin_ticks`` the rows are
    summed per bin (``mean_abs_dw`` weighted by ``changed``). ``snapshots`` (``projection, t``, e.g. from
    :func:`weight_stats`) saves a pass over the weights when the caller has them.
    """
    if snapshots is None:
        snapshots = weight_snapshots(trace)
    snaps = pl.LazyFrame(snapshots.select("projection", "t")).with_columns(
        pl.col("t").rank("ordinal").over("projection").cast(pl.Int64).alias("k")
    )
    numbered = (
        _weights(trace).join(snaps, on=["projection", "t"]).select("projection", "k", "t", "pre", "post", "weight")
    )
    previous = numbered.select(
        "projection", (pl.col("k") + 1).alias("k"), "pre", "post", pl.col("weight").alias("before")
    )
    current = numbered.filter(pl.col("k") > 1)
    times = snaps.filter(pl.col("k") > 1)
    both = current.join(previous, on=["projection", "k", "pre", "post"], how="full", coalesce=True).join(
        times.select("projection", "k", pl.col("t").alias("t_k")), on=["projection", "k"], how="inner"
    )
    dw = (pl.col("weight") - pl.col("before")).abs()
    query = both.group_by("projection", pl.col("t_k").alias("t")).agg(
        (dw > 0).sum().cast(pl.Int64).alias("changed"),
        dw.mean().alias("mean_abs_dw"),
        (pl.col("weight").is_null()).sum().cast(pl.Int64).alias("pruned"),
        (pl.col("before").is_null()).sum().cast(pl.Int64).alias("added"),
    )
    result = collect(query.sort("projection", "t"))
    if bin_ticks is None:
        return result
    return (
        result.lazy()
        .group_by("projection", _binned("t", bin_ticks))
        .agg(
            pl.col("changed").sum(),
            ((pl.col("mean_abs_dw") * pl.col("changed")).sum() / pl.col("changed").sum().clip(1)).alias("mean_abs_dw"),
            pl.col("pruned").sum(),
            pl.col("added").sum(),
        )
        .sort("projection", "t")
        .collect()
    )


def final_weights(trace: Trace, projection: int, posts: Sequence[int] | None = None) -> pl.DataFrame:
    """Return the last snapshot of a projection: ``pre, post, weight`` (optionally only some post neurons)."""
    frame = _weights(trace).filter(pl.col("projection") == projection)
    last = frame.select(pl.col("t").max()).collect().item()
    if last is None:
        return pl.DataFrame(schema={"pre": pl.UInt32, "post": pl.UInt32, "weight": pl.Float64})
    query = frame.filter(pl.col("t") == last)
    if posts is not None:
        query = query.filter(pl.col("post").is_in(list(posts)))
    return collect(query.select("pre", "post", "weight").sort("post", "pre"))


def neuron_weights(
    trace: Trace, projection: int, posts: Sequence[int], snapshots: Sequence[int] | None = None
) -> pl.DataFrame:
    """Return the weights onto some post neurons at some snapshot ticks (all when None): ``t, pre, post, weight``."""
    query = _weights(trace).filter((pl.col("projection") == projection) & pl.col("post").is_in(list(posts)))
    if snapshots is not None:
        query = query.filter(pl.col("t").is_in(list(snapshots)))
    return collect(query.select("t", "pre", "post", "weight").sort("t", "post", "pre"))


# -- metrics and events ------------------------------------------------------------------------------------------
def metrics(trace: Trace) -> pl.DataFrame:
    """Return the metrics table as it is: ``t, step, name, value, population, projection`` (names as strings)."""
    return collect(
        trace.metrics.with_columns(pl.col("name").cast(pl.String)).sort("name", "step", "t", nulls_last=True)
    )


def events(trace: Trace) -> pl.DataFrame:
    """Return the events table as it is: ``t, kind, population, projection, payload`` (kinds as strings)."""
    return collect(trace.events.with_columns(pl.col("kind").cast(pl.String)).sort("t", "kind"))


def event_payloads(frame: pl.DataFrame) -> list[dict]:
    """Return the decoded JSON payload of each event row (a small table: events are rare)."""
    out = []
    for text in frame["payload"].to_list():
        try:
            value = json.loads(text)
        except (TypeError, ValueError):
            value = {}
        out.append(value if isinstance(value, dict) else {})
    return out
