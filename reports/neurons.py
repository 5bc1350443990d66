"""Neurons: which neurons fire, for which classes, and how the picked neuron behaves over the brushed window."""

from __future__ import annotations

import math

import altair as alt
import polars as pl
from snntrace.reports import _data
from snntrace.reports._charts import (
    IN_WINDOW,
    TIME,
    WIDTH,
    Datasets,
    configure,
    population_name,
    range_param,
    records,
    time_axis,
    to_spec,
    window_param,
)
from snntrace.reports._model import Chart, Context, Fact, Section
from snntrace.reports.overview import class_names

from snntrace import aggregate

NEURON = "neuron"  # the neuron picker parameter
DOMINATING = 3.0  # a neuron firing more than this many times the window's mean is flagged


def _coarse(context: Context, key: str, compute, limit: int) -> tuple[pl.DataFrame, int]:
    """Return ``compute(bin)`` at the overview bin, coarsened until it has at most ``limit`` rows."""
    bin_ticks = context.bin_ticks
    for _ in range(8):
        frame = context.cached((key, bin_ticks), lambda b=bin_ticks: compute(b))
        if frame.height <= limit or bin_ticks >= context.trace.duration_ticks:
            return frame, bin_ticks
        bin_ticks *= max(2, math.ceil(frame.height / limit))
    return frame, bin_ticks


def _flags(counts: pl.DataFrame) -> list[Fact]:
    spikes = counts["spikes"]
    silent = counts.filter(pl.col("spikes") == 0)["neuron"].to_list()
    mean = float(spikes.mean() or 0.0)
    dominating = counts.filter(pl.col("spikes") > DOMINATING * mean)["neuron"].to_list() if mean > 0 else []

    def listed(ids: list[int]) -> str:
        shown = ", ".join(str(i) for i in ids[:20])
        return f"{len(ids)}" + (f" ({shown}{', ...' if len(ids) > 20 else ''})" if ids else "")

    return [
        Fact("Neurons", str(counts.height)),
        Fact("Mean spikes per neuron", f"{mean:.4g}"),
        Fact("Silent neurons (whole run)", listed(silent)),
        Fact(f"Dominating neurons (> {DOMINATING:g}x mean, whole run)", listed(dominating)),
    ]


def _population_section(context: Context, pid: int, index: int) -> Section | None:
    trace = context.trace
    name = population_name(context, pid)
    counts = _data.neuron_counts(context, pid)
    if int(counts["spikes"].sum()) == 0:
        return None
    size = int(trace.population(pid)["size"])
    potential, _ = _coarse(
        context,
        f"potential{pid}",
        lambda b: aggregate.potential_per_bin(trace, b, per_neuron=True).filter(pl.col("population") == pid),
        context.plan.cells,
    )
    # Start on the most active neuron, preferring one whose potential was recorded so every view has data.
    candidates = (
        counts.filter(pl.col("neuron").is_in(potential["neuron"].unique().implode())) if potential.height else counts
    )
    picked = int(candidates.sort(["spikes", "neuron"], descending=[True, False])["neuron"][0])
    notes: list[str] = []
    density, density_bin = _coarse(
        context,
        f"density{pid}",
        lambda b: _data.density(context, b).filter(pl.col("population") == pid),
        context.plan.cells,
    )
    datasets = Datasets()
    dens = datasets.add(
        "density",
        records(
            density.select(TIME, pl.col("neuron").alias("n"), pl.col("spikes").alias("k")), resolution=trace.resolution
        ),
    )
    params = [window_param(context), range_param(NEURON, picked, 0, max(size - 1, 0), "neuron ")]
    x = time_axis()
    charts: list[alt.Chart] = []
    picked_filter = f"datum.n == {NEURON} && {IN_WINDOW}"

    per_neuron = (
        alt.Chart(dens, title="Spikes per neuron in the window (orange: dominating)")
        .transform_filter(IN_WINDOW)
        .transform_aggregate(spikes="sum(k)", groupby=["n"])
        .transform_joinaggregate(mean="mean(spikes)")
        .transform_calculate(flag=f"datum.spikes > {DOMINATING} * datum.mean ? 'dominating' : 'typical'")
        .mark_bar()
        .encode(
            x=alt.X("n:Q", title="neuron", scale=alt.Scale(domain=[0, max(size - 1, 1)])),
            y=alt.Y("spikes:Q", title="spikes"),
            color=alt.Color(
                "flag:N", scale=alt.Scale(domain=["typical", "dominating"], range=["#4c78a8", "#f58518"]), legend=None
            ),
            tooltip=[alt.Tooltip("n:Q"), alt.Tooltip("spikes:Q")],
        )
        .properties(width=WIDTH, height=110)
    )
    charts.append(per_neuron)

    has_samples = trace.has_rows("samples")
    if has_samples:
        classes = trace.classes

        def class_bins(b: int) -> pl.DataFrame:
            spikes = (
                _data.class_spikes(context, b)
                .filter(pl.col("population") == pid)
                .select(TIME, pl.col("neuron").cast(pl.Int64).alias("n"), "label", pl.col("spikes").alias("k"))
            )
            exposure = aggregate.class_exposure(trace, b).select(
                TIME, "label", (pl.col("ticks") * trace.resolution).alias("d")
            )
            return pl.concat([spikes, exposure], how="diagonal_relaxed").sort(TIME, "label", "n", nulls_last=True)

        classed, class_bin = _coarse(context, f"classes{pid}", class_bins, context.plan.cells)
        cls = datasets.add(
            "classes",
            records(classed.with_columns(class_names(classes).alias("c")).drop("label"), resolution=trace.resolution),
        )
        order = list(classes) or None
        charts.append(
            alt.Chart(cls, title="Firing rate per neuron and shown class in the window (Hz)")
            .transform_filter(IN_WINDOW)
            .transform_joinaggregate(shown="sum(d)", groupby=["c"])
            .transform_filter("isValid(datum.n)")
            .transform_aggregate(spikes="sum(k)", shown="max(shown)", groupby=["n", "c"])
            .transform_calculate(rate="datum.shown > 0 ? datum.spikes / datum.shown : 0")
            .mark_rect()
            .encode(
                x=alt.X("c:N", sort=order, title="class"),
                y=alt.Y("n:O", title="neuron", axis=alt.Axis(labels=size <= 60, ticks=size <= 60)),
                color=alt.Color("rate:Q", title="Hz", scale=alt.Scale(scheme="viridis")),
                tooltip=["n:O", "c:N", alt.Tooltip("rate:Q", format=".3g"), "spikes:Q"],
            )
            .properties(width=min(WIDTH, 40 * max(len(classes), 1)), height=min(400, max(120, 4 * size)))
        )
        if class_bin != context.bin_ticks:
            notes.append(f"Class views use {class_bin * trace.resolution:.6g} s bins to fit the page budget.")
    else:
        notes.append("Input samples were not recorded, so firing rates per class cannot be computed.")

    charts.append(
        alt.Chart(dens, title="Picked neuron: spikes per bin")
        .transform_filter(picked_filter)
        .mark_bar(clip=True)
        .encode(x=x, y=alt.Y("k:Q", title="spikes"))
        .properties(width=WIDTH, height=80)
    )
    if potential.height:
        recorded = sorted(set(potential["neuron"].to_list()))
        source = datasets.add(
            "potential",
            records(
                potential.select(TIME, pl.col("neuron").cast(pl.Int64).alias("n"), "mean", "min", "max"),
                resolution=trace.resolution,
            ),
        )
        band = (
            alt.Chart(source)
            .transform_filter(picked_filter)
            .mark_area(opacity=0.25, clip=True)
            .encode(x=x, y=alt.Y("min:Q", title="v"), y2=alt.Y2("max:Q"))
        )
        line = alt.Chart(source).transform_filter(picked_filter).mark_line(clip=True).encode(x=x, y=alt.Y("mean:Q"))
        listed = ", ".join(str(n) for n in recorded[:12]) + (", ..." if len(recorded) > 12 else "")
        charts.append(
            alt.layer(band, line, title=f"Picked neuron: membrane potential (recorded neurons: {listed})").properties(
                width=WIDTH, height=80
            )
        )
    else:
        notes.append(f"Membrane potential of {name} was not recorded.")
    if has_samples:
        charts.append(
            alt.Chart(cls, title="Picked neuron: spikes per shown class over time")
            .transform_filter(picked_filter)
            .mark_bar(clip=True)
            .encode(x=x, y=alt.Y("sum(k):Q", title="spikes"), color=alt.Color("c:N", sort=order, title="class"))
            .properties(width=WIDTH, height=100)
        )

    rows = _data.spike_rows(context, pid)
    if rows <= context.plan.raw_spikes:
        raw = context.cached(("raw", pid), lambda: aggregate.raw_spikes(trace, [pid]))
        source = datasets.add(
            "raw", records(raw.select(TIME, pl.col("neuron").alias("n")), resolution=trace.resolution)
        )
        raster = (
            alt.Chart(source, title="Raster: every spike in the window")
            .transform_filter(IN_WINDOW)
            .mark_tick(thickness=1, size=3, clip=True)
            .encode(x=x, y=alt.Y("n:Q", title="neuron"))
        )
    else:
        raster = (
            alt.Chart(
                dens,
                title=f"Raster density: spikes per {density_bin * trace.resolution:.6g} s bin and neuron ({rows:,} spikes are too many to embed)",
            )
            .transform_filter(IN_WINDOW)
            .mark_rect(clip=True)
            .encode(
                x=x,
                x2=alt.X2("t2:Q"),
                y=alt.Y("n:Q", title="neuron"),
                color=alt.Color("k:Q", title="spikes", scale=alt.Scale(scheme="greys")),
            )
            .transform_calculate(t2=f"datum.t + {density_bin * trace.resolution!r}")
        )
        notes.append("Raw spikes exceed the page budget; the raster shows binned counts.")
    charts.append(raster.properties(width=WIDTH, height=min(300, max(100, size))))

    chart = configure(alt.vconcat(*charts, spacing=18).resolve_scale(color="independent"))
    return Section(
        key=f"neurons-{index}",
        title=f"Neurons: {name}",
        question="Which neurons fire, for which classes, and what does the picked neuron do in the brushed window?",
        facts=_flags(counts),
        charts=[Chart(key=f"chart-neurons-{index}", title=f"Neurons of {name}", spec=to_spec(chart, params, datasets))],
        notes=notes,
    )


def build(context: Context) -> list[Section]:
    """Return one neuron section per shown population that has spikes."""
    sections = []
    for index, pid in enumerate(context.populations):
        section = _population_section(context, pid, index)
        if section is not None:
            sections.append(section)
    return sections
