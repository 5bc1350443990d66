"""Compression: how pruning thinned each projection, and what it cost in accuracy and activity."""

from __future__ import annotations

import altair as alt
import polars as pl
from snntrace.reports._charts import (
    WIDTH,
    Datasets,
    configure,
    projection_name,
    records,
    time_axis,
    to_spec,
    window_param,
)
from snntrace.reports._model import Chart, Context, Fact, Section
from snntrace.reports.overview import event_table, metric_table, thin_metrics

from snntrace import aggregate

QUANTITIES = ("threshold", "compression_rate", "remaining_synapses")
ALONGSIDE = ("accuracy", "firing_rate")


def compression_rows(context: Context) -> pl.DataFrame:
    """Return ``t, quantity, of, value``: compression metrics, else the same figures read from prune events."""
    trace = context.trace
    metrics = thin_metrics(
        context, metric_table(context).filter(pl.col("name").is_in(QUANTITIES + ALONGSIDE) & pl.col("t").is_not_null())
    )
    named = metrics.with_columns(
        pl.col("projection")
        .replace_strict(trace.projection_names, default=None, return_dtype=pl.String)
        .fill_null("all")
        .alias("of")
    ).select("t", pl.col("name").alias("quantity"), "of", "value")
    events = event_table(context).filter(pl.col("kind") == "prune")
    rows = []
    if events.height:
        synapses = {int(p["id"]): p.get("synapses") for p in trace.projections}
        payloads = aggregate.event_payloads(events)
        for t, projection, payload in zip(events["t"].to_list(), events["projection"].to_list(), payloads, strict=True):
            of = projection_name(context, projection) if projection is not None else "all"
            if isinstance(payload.get("threshold"), (int, float)):
                rows.append({"t": t, "quantity": "threshold", "of": of, "value": float(payload["threshold"])})
            if isinstance(payload.get("remaining"), (int, float)):
                rows.append({"t": t, "quantity": "remaining_synapses", "of": of, "value": float(payload["remaining"])})
                total = synapses.get(projection)
                if total:
                    rows.append(
                        {"t": t, "quantity": "compression_rate", "of": of, "value": 1 - payload["remaining"] / total}
                    )
    from_events = pl.DataFrame(
        rows, schema={"t": pl.Int64, "quantity": pl.String, "of": pl.String, "value": pl.Float64}
    )
    # Metrics win over event payloads for the same quantity and projection: the producer computed them.
    have = named.select("quantity", "of").unique()
    from_events = from_events.join(have, on=["quantity", "of"], how="anti")
    return pl.concat([named, from_events]).sort("quantity", "of", "t")


def build(context: Context) -> Section | None:
    """Return the compression section, or None when the trace holds no prune events or compression metrics."""
    data = compression_rows(context)
    if not data.filter(pl.col("quantity").is_in(QUANTITIES)).height:
        return None
    x = time_axis()
    datasets = Datasets()
    source = datasets.add("compression", records(data, resolution=context.trace.resolution))
    charts = []
    present = [q for q in QUANTITIES + ALONGSIDE if data.filter(pl.col("quantity") == q).height]
    for quantity in present:
        charts.append(
            alt.Chart(source, title=quantity.replace("_", " "))
            .transform_filter(alt.datum.quantity == quantity)
            .mark_line(point=True, clip=True)
            .encode(
                x=x,
                y=alt.Y("value:Q", title=quantity.replace("_", " ")),
                color=alt.Color("of:N", title="of"),
                tooltip=[alt.Tooltip("of:N"), alt.Tooltip("t:Q"), alt.Tooltip("value:Q")],
            )
            .properties(width=WIDTH, height=90)
        )
    chart = configure(alt.vconcat(*charts, spacing=14))
    last = data.filter(pl.col("quantity") == "compression_rate").group_by("of").agg(pl.col("value").last()).sort("of")
    facts = [Fact(f"Final compression rate ({of})", f"{value:.1%}") for of, value in last.iter_rows()]
    notes = [f"{q.replace('_', ' ')} was not recorded." for q in QUANTITIES + ALONGSIDE if q not in present]
    return Section(
        key="compression",
        title="Compression",
        question="How far did pruning thin each projection, and what did accuracy and activity do meanwhile?",
        facts=facts,
        charts=[
            Chart(key="chart-compression", title="Compression", spec=to_spec(chart, [window_param(context)], datasets))
        ],
        notes=notes,
    )
