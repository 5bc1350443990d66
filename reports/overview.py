"""Overview: what was run, and what happened over time (the timeline carrying the brush) and on which inputs."""

from __future__ import annotations

import altair as alt
import polars as pl
from snntrace.reports import _data
from snntrace.reports._charts import (
    BRUSH,
    TIME,
    WIDTH,
    Datasets,
    configure,
    population_name,
    records,
    time_axis,
    to_spec,
)
from snntrace.reports._model import Chart, Context, Fact, Section

from snntrace import aggregate

KEY = "overview"
CHART_KEY = "chart-overview"


def spike_bins(context: Context) -> pl.DataFrame:
    """Return spikes per overview bin per shown population."""
    return _data.spikes_per_bin(context)


def metric_table(context: Context) -> pl.DataFrame:
    """Return the metrics table (cached)."""
    return context.cached("metrics", lambda: aggregate.metrics(context.trace))


def event_table(context: Context) -> pl.DataFrame:
    """Return the events table (cached)."""
    return context.cached("events", lambda: aggregate.events(context.trace))


def weight_stats(context: Context) -> pl.DataFrame:
    """Return the weight statistics per projection and snapshot (cached; their ``synapses`` list the snapshots)."""
    return context.cached("weight_stats", lambda: aggregate.weight_stats(context.trace))


def class_names(classes: list[str], column: str = "label") -> pl.Expr:
    """Return an expression naming each label index by its dataset class (the index when unnamed)."""
    return pl.col(column).replace_strict(
        dict(enumerate(classes)), default=pl.col(column).cast(pl.String), return_dtype=pl.String
    )


MAX_EVENT_RULES = 500


def _first_in_bin(context: Context) -> pl.Expr:
    return (pl.col(TIME) // context.bin_ticks * context.bin_ticks).alias(TIME)


def thin_metrics(context: Context, metrics: pl.DataFrame) -> pl.DataFrame:
    """Return the metrics, averaged per overview bin for names with more points than the page budget allows."""
    limit = max(200, context.plan.cells // 20)
    counts = metrics.group_by("name").len()
    dense = counts.filter(pl.col("len") > limit)["name"].to_list()
    if not dense:
        return metrics
    keys = ["name", "population", "projection"]
    binned = (
        metrics.filter(pl.col("name").is_in(dense))
        .group_by(_first_in_bin(context), *keys)
        .agg(pl.col("value").mean(), pl.col("step").max())
        .select(metrics.columns)
    )
    return pl.concat([metrics.filter(~pl.col("name").is_in(dense)), binned]).sort(
        "name", TIME, "population", "projection", nulls_last=True
    )


def facts(context: Context) -> list[Fact]:
    """Return the information card: what was simulated, on what, for how long, and how it ended."""
    trace, manifest = context.trace, context.trace.manifest
    simulator = manifest.get("simulator", {})
    out = [
        Fact("Run", trace.name),
        Fact("Simulator", f"{simulator.get('name', 'unknown')} {simulator.get('version', '')}".strip()),
    ]
    dataset = manifest.get("dataset")
    if dataset:
        out.append(Fact("Dataset", f"{dataset.get('name', '')} ({len(dataset.get('classes', []))} classes)"))
    for population in trace.populations:
        shape = "x".join(str(s) for s in population.get("shape", [])) or str(population.get("size"))
        role = f", {population['role']}" if population.get("role") else ""
        out.append(Fact("Population", f"{population['name']}: {population['size']} neurons ({shape}{role})"))
    for projection in trace.projections:
        synapses = f", {projection['synapses']} synapses" if projection.get("synapses") is not None else ""
        pre, post = population_name(context, projection["pre"]), population_name(context, projection["post"])
        out.append(Fact("Projection", f"{projection['name']}: {pre} -> {post}{synapses}"))
    out.append(Fact("Duration", f"{context.duration:.6g} s ({trace.duration_ticks} ticks of {trace.resolution:.6g} s)"))
    out.append(Fact("Spikes", f"{int(spike_bins(context)['spikes'].sum()):,}"))
    accuracy = metric_table(context).filter(pl.col("name") == "accuracy")
    if accuracy.height:
        out.append(Fact("Final accuracy", f"{accuracy['value'][-1]:.4g}"))
    out.append(Fact("Created", str(manifest.get("created", "unknown"))))
    out.append(
        Fact("Complete", "yes" if trace.complete else "no: the run stopped before the producer closed the trace")
    )
    out.append(Fact("Time bin", f"{context.bin_ticks * trace.resolution:.6g} s"))
    for key, value in sorted(manifest.get("annotations", {}).items()):
        out.append(Fact(f"Annotation {key}", str(value)))
    return out


def _timeline_rows(context: Context, notes: list[str], datasets: Datasets) -> list[alt.Chart]:
    trace = context.trace
    spikes = (
        spike_bins(context)
        .with_columns(
            pl.col("population")
            .replace_strict(
                trace.population_names, default=pl.col("population").cast(pl.String), return_dtype=pl.String
            )
            .alias("pop")
        )
        .select(TIME, "pop", "spikes")
    )
    x = time_axis(follow=False, context=context)
    brush = alt.selection_interval(name=BRUSH, encodings=["x"], value={"x": list(context.window)})
    base = (
        alt.Chart(datasets.add("spikes", records(spikes, resolution=trace.resolution)), title="Spikes per bin")
        .mark_line(interpolate="step-after")
        .encode(x=x, y=alt.Y("spikes:Q", title="spikes"), color=alt.Color("pop:N", title="population"))
        .add_params(brush)
    )
    layers = [base]
    events = event_table(context)
    if events.height > MAX_EVENT_RULES:
        # Thousands of rules would hide the timeline and bloat the page: one rule per bin and kind instead.
        events = events.group_by(_first_in_bin(context), "kind").agg(pl.len().alias("events")).sort(TIME, "kind")
        notes.append(
            f"Events are drawn once per {context.bin_ticks * trace.resolution:.6g} s bin and kind (too many to draw one by one)."
        )
    if events.height:
        rows = records(events.select(TIME, "kind"), resolution=trace.resolution)
        layers.append(
            alt.Chart(datasets.add("events", rows))
            .mark_rule(strokeDash=[4, 3], opacity=0.6)
            .encode(
                x=x,
                strokeDash=alt.StrokeDashValue([4, 3]),
                color=alt.ColorValue("#555"),
                tooltip=[alt.Tooltip("kind:N"), alt.Tooltip(f"{TIME}:Q")],
            )
        )
    rows = [alt.layer(*layers).properties(width=WIDTH, height=140, name="timeline")]
    # The other timeline rows shade the brushed window, so the whole overview follows the brush.
    window = (
        alt.Chart(base.data)
        .transform_filter({"param": BRUSH})
        .transform_aggregate(lo=f"min({TIME})", last=f"max({TIME})")
        .transform_calculate(hi=f"datum.last + {context.bin_ticks * trace.resolution!r}")  # to the end of the last bin
        .mark_rect(color="#999", opacity=0.15)
        .encode(
            x=alt.X("lo:Q", scale=alt.Scale(domain=[0, context.duration], nice=False), title="time (s)"),
            x2=alt.X2("hi:Q"),
        )
    )

    potential = context.cached(
        ("potential", context.bin_ticks), lambda: aggregate.potential_per_bin(trace, context.bin_ticks)
    )
    if potential.height:
        data = potential.with_columns(
            pl.col("population")
            .replace_strict(trace.population_names, default="?", return_dtype=pl.String)
            .alias("pop")
        ).select(TIME, "pop", "mean", "min", "max")
        source = datasets.add("potential", records(data, resolution=trace.resolution))
        band = (
            alt.Chart(source)
            .mark_area(opacity=0.2)
            .encode(x=x, y=alt.Y("min:Q", title="v"), y2=alt.Y2("max:Q"), color=alt.Color("pop:N"))
        )
        line = alt.Chart(source).mark_line().encode(x=x, y=alt.Y("mean:Q"), color=alt.Color("pop:N"))
        rows.append(
            alt.layer(window, band, line, title="Membrane potential per bin (mean, min-max)").properties(
                width=WIDTH, height=90
            )
        )
    else:
        notes.append("Membrane potential (state variable v) was not recorded.")

    updates = context.cached("weight_updates", lambda: aggregate.weight_updates(trace, snapshots=weight_stats(context)))
    if updates.height:
        data = updates.with_columns(
            pl.col("projection")
            .replace_strict(trace.projection_names, default="?", return_dtype=pl.String)
            .alias("proj")
        ).select(TIME, "proj", "changed", "mean_abs_dw")
        chart = (
            alt.Chart(datasets.add("updates", records(data, resolution=trace.resolution)))
            .mark_line(point=True)
            .encode(
                x=x,
                y=alt.Y("changed:Q", title="synapses changed"),
                color=alt.Color("proj:N", title="projection"),
                tooltip=[alt.Tooltip("proj:N"), alt.Tooltip("changed:Q"), alt.Tooltip("mean_abs_dw:Q")],
            )
        )
        rows.append(
            alt.layer(window, chart, title="Weight updates between snapshots").properties(width=WIDTH, height=90)
        )
    else:
        notes.append("Weight updates need at least two weight snapshots; the trace has fewer.")

    metrics = thin_metrics(context, metric_table(context).filter(pl.col(TIME).is_not_null()))
    names = sorted(set(metrics["name"].drop_nulls().to_list()))  # a part without a name column reads as nulls
    for number, name in enumerate(names[:8]):
        data = (
            metrics.filter(pl.col("name") == name)
            .with_columns(
                pl.col("projection")
                .replace_strict(trace.projection_names, default=None, return_dtype=pl.String)
                .fill_null(
                    pl.col("population").replace_strict(trace.population_names, default=None, return_dtype=pl.String)
                )
                .fill_null("all")
                .alias("of")
            )
            .select(TIME, "value", "of")
        )
        rows.append(
            alt.layer(
                window,
                alt.Chart(datasets.add(f"metric{number}", records(data, resolution=trace.resolution)))
                .mark_line(point=True)
                .encode(x=x, y=alt.Y("value:Q", title=name), color=alt.Color("of:N", title="of")),
                title=f"Metric: {name}",
            ).properties(width=WIDTH, height=70)
        )
    if len(names) > 8:
        notes.append(f"{len(names) - 8} more metrics are in the trace but not drawn.")
    if not names:
        notes.append("No metrics with a time were recorded.")
    return rows


def _dataset_chart(context: Context, datasets: Datasets) -> alt.Chart | None:
    trace = context.trace
    if not trace.has_rows("samples"):
        return None
    samples = context.cached(
        ("samples_per_bin", context.bin_ticks), lambda: aggregate.samples_per_bin(trace, context.bin_ticks)
    )
    classes = trace.classes
    label = class_names(classes)
    data = (
        samples.group_by(TIME, "label")
        .agg(pl.col("samples").sum().alias("n"))
        .sort(TIME, "label")
        .with_columns(label.alias("class"))
        .select(TIME, "class", "n")
    )
    order = list(classes) if classes else None
    return (
        alt.Chart(
            datasets.add("samples", records(data, resolution=trace.resolution)),
            title="Samples per class in the brushed window",
        )
        .transform_filter({"param": BRUSH})
        .transform_aggregate(samples="sum(n)", groupby=["class"])
        .mark_bar()
        .encode(
            x=alt.X("samples:Q", title="samples shown"),
            y=alt.Y("class:N", sort=order, title="class"),
            tooltip=[alt.Tooltip("class:N"), alt.Tooltip("samples:Q")],
        )
        .properties(width=WIDTH, height=max(60, 14 * max(len(classes), 1)))
    )


def build(context: Context) -> Section:
    """Return the overview section: the information card, the brushed timeline and the dataset view."""
    notes: list[str] = []
    datasets = Datasets()
    rows = _timeline_rows(context, notes, datasets)
    dataset = _dataset_chart(context, datasets)
    if dataset is not None:
        rows.append(dataset)
    else:
        notes.append("Input samples were not recorded, so there is no dataset view.")
    chart = configure(alt.vconcat(*rows, spacing=18).resolve_scale(color="independent"))
    spec = to_spec(chart, datasets=datasets)
    return Section(
        key=KEY,
        title="Overview",
        question="What was run, and what happened over time? Drag on the spike timeline to choose the window every other view shows.",
        facts=facts(context),
        charts=[Chart(key=CHART_KEY, title="Activity timeline", spec=spec, follows_window=False)],
        notes=notes,
    )
