"""Per-neuron differences of two runs: populations matched by name (or a user map), rate differences per neuron
and the final receptive fields of both runs side by side."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import polars as pl

from snntrace import aggregate
from snntrace.errors import UsageError
from snntrace.reader import Trace
from snntrace.reports._charts import WIDTH, Datasets, configure, records, to_spec
from snntrace.reports._model import Chart, Fact
from snntrace.reports.synapses import grid_shape

RATES_KEY = "chart-comparison-rates"
FIELDS_KEY = "chart-comparison-fields"
MAX_FIELDS = 6  # post neurons whose receptive fields are drawn per run (page budget)


def _describe(trace: Trace) -> str:
    return ", ".join(f"{p['name']} ({int(p['size'])})" for p in trace.populations) or "none"


def match_populations(base: Trace, other: Trace, mapping: Mapping[str, str] | None = None) -> list[tuple[int, int]]:
    """Return ``(base id, other id)`` pairs matched by name (``mapping`` renames base populations); raise otherwise.

    Every population of both runs must find exactly one partner of the same size: per-neuron differences of runs
    whose populations do not line up would compare unrelated neurons.
    """
    mapping = dict(mapping or {})
    base_by_name = {p["name"]: p for p in base.populations}
    other_by_name = {p["name"]: p for p in other.populations}
    for source, target in mapping.items():
        if source not in base_by_name:
            raise UsageError(
                f"--map names base population {source!r}, which BASE does not have; BASE has {_describe(base)}",
                code="RP004",
                location="--map",
            )
        if target not in other_by_name:
            raise UsageError(
                f"--map names other population {target!r}, which OTHER does not have; OTHER has {_describe(other)}",
                code="RP004",
                location="--map",
            )
    pairs, used = [], set()
    unmatched = []
    for name, population in base_by_name.items():
        target = mapping.get(name, name)
        partner = other_by_name.get(target)
        if partner is None or target in used:
            unmatched.append(name)
            continue
        if int(partner["size"]) != int(population["size"]):
            raise UsageError(
                f"base population {name!r} has {int(population['size'])} neurons but other population {target!r} "
                f"has {int(partner['size'])}; per-neuron comparison needs equal sizes",
                code="RP004",
                location="--map",
            )
        used.add(target)
        pairs.append((int(population["id"]), int(partner["id"])))
    left = sorted(set(other_by_name) - used)
    if unmatched or left:
        raise UsageError(
            f"the runs' populations cannot be matched by name: BASE has {_describe(base)}, OTHER has "
            f"{_describe(other)}; unmatched in BASE: {', '.join(map(repr, unmatched)) or 'none'}, in OTHER: "
            f"{', '.join(map(repr, left)) or 'none'}; map them with --map BASE_NAME=OTHER_NAME",
            code="RP004",
            location="--map",
        )
    return pairs


def rate_differences(base: Trace, other: Trace, pairs: list[tuple[int, int]]) -> pl.DataFrame:
    """Return every matched neuron's mean rate in both runs: ``pop, neuron, base, other, diff`` (Hz, other - base)."""
    frames = []
    for base_id, other_id in pairs:
        a = aggregate.firing_rates(base, [base_id]).select("neuron", pl.col("rate").alias("base"))
        b = aggregate.firing_rates(other, [other_id]).select("neuron", pl.col("rate").alias("other"))
        frames.append(
            a.join(b, on="neuron", how="full", coalesce=True)
            .fill_null(0.0)
            .with_columns(
                pl.lit(base.population_names[base_id]).alias("pop"), (pl.col("other") - pl.col("base")).alias("diff")
            )
            .select("pop", pl.col("neuron").cast(pl.Int64), "base", "other", "diff")
        )
    return pl.concat(frames).sort("pop", "neuron")


def rates_chart(base: Trace, other: Trace, pairs: list[tuple[int, int]]) -> tuple[Chart, list[Fact]]:
    """Return the chart of per-neuron rate differences (other - base) per matched population, and its facts."""
    diffs = rate_differences(base, other, pairs)
    datasets = Datasets()
    data = datasets.add("rates", records(diffs, digits=4))
    charts = []
    facts = []
    for pop in diffs["pop"].unique(maintain_order=True).to_list():
        frame = diffs.filter(pl.col("pop") == pop)
        facts.append(
            Fact(
                f"{pop}: neurons faster / slower in other",
                f"{int((frame['diff'] > 0).sum()):,} / {int((frame['diff'] < 0).sum()):,} of {frame.height:,}",
            )
        )
        charts.append(
            alt.Chart(data, title=f"Rate difference per neuron, {pop} (other - base)")
            .transform_filter(alt.FieldEqualPredicate(field="pop", equal=pop))
            .mark_bar()
            .encode(
                x=alt.X("neuron:Q", title="neuron"),
                y=alt.Y("diff:Q", title="Hz"),
                color=alt.condition("datum.diff >= 0", alt.ColorValue("#d62728"), alt.ColorValue("#1f77b4")),
                tooltip=[alt.Tooltip("neuron:Q"), alt.Tooltip("base:Q"), alt.Tooltip("other:Q"), alt.Tooltip("diff:Q")],
            )
            .properties(width=WIDTH, height=90)
        )
    chart = configure(alt.vconcat(*charts, spacing=12))
    return Chart(
        key=RATES_KEY, title="Rate differences", spec=to_spec(chart, datasets=datasets), follows_window=False
    ), facts


def fields_chart(base: Trace, other: Trace, pairs: list[tuple[int, int]]) -> tuple[Chart | None, list[str]]:
    """Return final receptive fields of both runs side by side (the base run's most active post neurons)."""
    ids = dict(pairs)
    other_projections = {(int(p["pre"]), int(p["post"])): p for p in other.projections}
    datasets = Datasets()
    rows, notes, charts = [], [], []
    for projection in base.projections:
        pre_id, post_id = int(projection["pre"]), int(projection["post"])
        partner = other_projections.get((ids[pre_id], ids[post_id]))
        if partner is None:
            notes.append(
                f"Projection {projection['name']} has no counterpart between the matched populations in OTHER."
            )
            continue
        pre = base.population(pre_id)
        counts = aggregate.neuron_spike_counts(base, [post_id]).sort(["spikes", "neuron"], descending=[True, False])
        posts = sorted(counts["neuron"].head(MAX_FIELDS).to_list())
        _, columns = grid_shape(pre)
        found = 0
        for run, trace, pid in (("base", base, int(projection["id"])), ("other", other, int(partner["id"]))):
            final = aggregate.final_weights(trace, pid, posts)
            found += final.height
            rows.extend(
                records(
                    final.select(
                        pl.lit(projection["name"]).alias("proj"),
                        pl.lit(run).alias("run"),
                        pl.col("post").cast(pl.Int64),
                        (pl.col("pre") % columns).cast(pl.Int64).alias("x"),
                        (pl.col("pre") // columns).cast(pl.Int64).alias("y"),
                        pl.col("weight").alias("w"),
                    ),
                    digits=3,
                )
            )
        if not found:
            continue
        charts.append((projection["name"], pre, columns))
    if not charts:
        return None, notes + ["Neither run recorded weight snapshots of a matched projection."]
    data = datasets.add("fields", rows)
    drawn = []
    for name, pre, columns in charts:
        rows_, _ = grid_shape(pre)
        cell = max(1, min(4, 120 // max(columns, 1)))
        drawn.append(
            alt.Chart(data, title=f"Final weights of {name} (shaped as {pre['name']})")
            .transform_filter(alt.FieldEqualPredicate(field="proj", equal=name))
            .mark_rect()
            .encode(
                x=alt.X("x:O", axis=None),
                y=alt.Y("y:O", axis=None),
                color=alt.Color("w:Q", title="weight", scale=alt.Scale(scheme="inferno")),
                tooltip=[
                    alt.Tooltip("run:N"),
                    alt.Tooltip("post:Q"),
                    alt.Tooltip("x:O"),
                    alt.Tooltip("y:O"),
                    alt.Tooltip("w:Q"),
                ],
            )
            .properties(width=cell * columns, height=cell * rows_)
            .facet(
                row=alt.Row("run:N", title="run", sort=["base", "other"]), column=alt.Column("post:O", title="neuron")
            )
        )
    notes.append(f"Receptive fields of up to {MAX_FIELDS} neurons per projection: the base run's most active ones.")
    chart = configure(alt.vconcat(*drawn, spacing=16))
    return Chart(
        key=FIELDS_KEY, title="Receptive fields", spec=to_spec(chart, datasets=datasets), follows_window=False
    ), notes
