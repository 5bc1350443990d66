"""Comparison: two runs side by side (e.g. a baseline and a pruned network), on one time axis with one brush."""

from __future__ import annotations

import altair as alt
import polars as pl
from snntrace.reports import differences
from snntrace.reports._charts import BRUSH, TIME, WIDTH, Datasets, configure, records, to_spec
from snntrace.reports._model import Chart, Context, Fact, Plan, Section
from snntrace.reports.compression import QUANTITIES, compression_rows
from snntrace.reports.overview import metric_table

from snntrace import aggregate
from snntrace.reader import Trace

KEY = "comparison"
CHART_KEY = "chart-comparison"
RUNS = ("base", "other")
MAX_METRICS = 8


def _contexts(traces: tuple[Trace, Trace], time_bin: float | None) -> list[Context]:
    longest = max(traces, key=lambda t: t.duration)
    contexts = []
    for trace in traces:
        # One bin width in seconds for both runs, so their bins line up.
        seconds = time_bin if time_bin is not None else aggregate.auto_bin(longest) * longest.resolution
        plan = Plan(bin_ticks=aggregate.bin_ticks_for(trace, seconds), raw_spikes=0)
        contexts.append(Context(trace=trace, populations=aggregate.population_ids(trace), plan=plan, window=(0.0, 0.0)))
    return contexts


def _facts(run: str, context: Context) -> list[Fact]:
    trace = context.trace
    simulator = trace.manifest.get("simulator", {})
    spikes = aggregate.spike_total(trace)
    out = [
        Fact(f"{run} run", trace.name),
        Fact(f"{run} simulator", f"{simulator.get('name', 'unknown')} {simulator.get('version', '')}".strip()),
        Fact(f"{run} duration", f"{trace.duration:.6g} s"),
        Fact(f"{run} spikes", f"{spikes:,}"),
    ]
    accuracy = metric_table(context).filter(pl.col("name") == "accuracy")
    if accuracy.height:
        out.append(Fact(f"{run} final accuracy", f"{accuracy['value'][-1]:.4g}"))
    return out


def build(
    traces: tuple[Trace, Trace], *, time_bin: float | None = None, mapping: dict[str, str] | None = None
) -> Section:
    """Return the comparison section of two traces: activity, accumulated spikes, metrics, compression, per-neuron
    rate differences and receptive fields (populations matched by name, ``mapping`` renaming base populations)."""
    pairs = differences.match_populations(*traces, mapping)
    contexts = _contexts(traces, time_bin)
    datasets = Datasets()
    duration = max(t.duration for t in traces)
    x = alt.X(f"{TIME}:Q", title="time (s)", scale=alt.Scale(domain=[0, duration], nice=False))
    spikes, metrics, compression = [], [], []
    for run, context in zip(RUNS, contexts, strict=True):
        trace = context.trace
        binned = aggregate.spikes_per_bin(trace, context.bin_ticks)
        binned = binned.with_columns(
            pl.lit(run).alias("run"),
            pl.col("population")
            .replace_strict(
                trace.population_names, default=pl.col("population").cast(pl.String), return_dtype=pl.String
            )
            .alias("pop"),
        ).sort("population", TIME)
        binned = binned.with_columns(pl.col("spikes").cum_sum().over("population").alias("total"))
        spikes.append(records(binned.select(TIME, "run", "pop", "spikes", "total"), resolution=trace.resolution))
        named = metric_table(context).filter(pl.col(TIME).is_not_null()).with_columns(pl.lit(run).alias("run"))
        metrics.append(records(named.select(TIME, "run", "name", "value"), resolution=trace.resolution))
        rows = (
            compression_rows(context)
            .filter(pl.col("quantity").is_in(QUANTITIES))
            .with_columns(pl.lit(run).alias("run"))
        )
        compression.append(records(rows.select(TIME, "run", "quantity", "of", "value"), resolution=trace.resolution))
    brush = alt.selection_interval(name=BRUSH, encodings=["x"], value={"x": [0, duration / 3]})
    source = datasets.add("spikes", [row for rows in spikes for row in rows])
    color = alt.Color("run:N", scale=alt.Scale(domain=list(RUNS)), title="run")
    charts = [
        alt.Chart(source, title="Spikes per bin")
        .mark_line(interpolate="step-after")
        .encode(
            x=x,
            y=alt.Y("spikes:Q", title="spikes"),
            color=color,
            strokeDash=alt.StrokeDash("pop:N", title="population"),
        )
        .add_params(brush)
        .properties(width=WIDTH, height=140, name="timeline"),
        alt.Chart(source, title="Accumulated spikes")
        .mark_line()
        .encode(
            x=x,
            y=alt.Y("total:Q", title="spikes so far"),
            color=color,
            strokeDash=alt.StrokeDash("pop:N", title="population"),
        )
        .properties(width=WIDTH, height=120),
        alt.Chart(source, title="Spikes in the brushed window")
        .transform_filter({"param": BRUSH})
        .transform_aggregate(spikes="sum(spikes)", groupby=["run", "pop"])
        .mark_bar()
        .encode(
            x=alt.X("spikes:Q", title="spikes"),
            y=alt.Y("pop:N", title="population"),
            color=color,
            yOffset=alt.YOffset("run:N"),
        )
        .properties(width=WIDTH, height=60),
    ]
    metric_rows = [row for rows in metrics for row in rows]
    names = sorted({row["name"] for row in metric_rows} - set(QUANTITIES))  # those are drawn below, per projection
    if metric_rows:
        data = datasets.add("metrics", metric_rows)
        for name in names[:MAX_METRICS]:
            charts.append(
                alt.Chart(data, title=f"Metric: {name}")
                .transform_filter(alt.datum.name == name)
                .mark_line(point=True)
                .encode(x=x, y=alt.Y("mean(value):Q", title=name), color=color)
                .properties(width=WIDTH, height=80)
            )
    compression_all = [row for rows in compression for row in rows]
    if compression_all:
        data = datasets.add("compression", compression_all)
        for quantity in QUANTITIES:
            if any(row["quantity"] == quantity for row in compression_all):
                charts.append(
                    alt.Chart(data, title=quantity.replace("_", " "))
                    .transform_filter(alt.datum.quantity == quantity)
                    .mark_line(point=True)
                    .encode(
                        x=x,
                        y=alt.Y("value:Q", title=quantity.replace("_", " ")),
                        color=color,
                        strokeDash=alt.StrokeDash("of:N"),
                    )
                    .properties(width=WIDTH, height=80)
                )
    chart = configure(alt.vconcat(*charts, spacing=16).resolve_scale(strokeDash="independent"))
    notes = [] if metric_rows else ["Neither run recorded metrics with a time."]
    if not compression_all:
        notes.append("Neither run recorded prune events or compression metrics.")
    rates, rate_facts = differences.rates_chart(*traces, pairs)
    fields, field_notes = differences.fields_chart(*traces, pairs)
    notes.extend(field_notes)
    return Section(
        key=KEY,
        title="Comparison",
        question="How do the two runs differ in activity, accuracy and compression? Drag on the top chart to compare a window.",
        facts=[fact for run, context in zip(RUNS, contexts, strict=True) for fact in _facts(run, context)] + rate_facts,
        charts=[
            Chart(
                key=CHART_KEY, title="Two runs compared", spec=to_spec(chart, datasets=datasets), follows_window=False
            ),
            rates,
        ]
        + ([fields] if fields is not None else []),
        notes=notes,
    )
