"""Synapses: what each neuron learned (final receptive fields), and how weights moved over time."""

from __future__ import annotations

import math

import altair as alt
import polars as pl
from snntrace.reports import _data
from snntrace.reports._charts import (
    IN_WINDOW,
    WIDTH,
    WINDOW,
    Datasets,
    configure,
    projection_name,
    range_param,
    records,
    select_param,
    time_axis,
    to_spec,
    window_param,
)
from snntrace.reports._model import Chart, Context, Fact, Section
from snntrace.reports.overview import weight_stats

from snntrace import aggregate

SNAPSHOT = "snapshot"  # slider parameter scrubbing through snapshots
PICKED = "post"  # select parameter picking the neuron whose weights are scrubbed


def grid_shape(population: dict) -> tuple[int, int]:
    """Return (rows, columns) to draw a population's neurons as an image: its 2-D shape, else a near-square."""
    shape = population.get("shape") or []
    size = int(population["size"])
    if len(shape) == 2 and shape[0] * shape[1] == size:
        return int(shape[0]), int(shape[1])
    if len(shape) >= 2 and math.prod(shape) == size:
        return int(math.prod(shape[:-1])), int(shape[-1])
    columns = math.ceil(math.sqrt(size))
    return math.ceil(size / columns), columns


def _with_xy(frame: pl.DataFrame, columns: int) -> pl.DataFrame:
    return frame.with_columns(
        (pl.col("pre") % columns).cast(pl.Int64).alias("x"), (pl.col("pre") // columns).cast(pl.Int64).alias("y")
    )


def _projection_section(context: Context, projection: dict, index: int) -> Section | None:
    trace = context.trace
    pid = int(projection["id"])
    snapshots = weight_stats(context).filter(pl.col("projection") == pid).select("projection", "t", "synapses")
    if not snapshots.height:
        return None
    name = projection_name(context, pid)
    pre = trace.population(int(projection["pre"]))
    post = trace.population(int(projection["post"]))
    rows_, columns = grid_shape(pre)
    pre_size = int(pre["size"])
    notes: list[str] = []

    # Draw the most active post neurons first: they are the ones that learned something.
    counts = _data.neuron_counts(context, int(post["id"]))
    ranked = counts.sort(["spikes", "neuron"], descending=[True, False])["neuron"].to_list()
    shown = max(1, min(len(ranked), context.plan.receptive_fields, max(1, context.plan.cells // max(pre_size, 1))))
    posts = sorted(ranked[:shown])
    final = context.cached(("final", pid, tuple(posts)), lambda: aggregate.final_weights(trace, pid, posts))
    if shown < len(ranked):
        notes.append(
            f"Receptive fields of the {shown} most active of {len(ranked)} {post['name']} neurons are drawn (page budget)."
        )
    datasets = Datasets()
    fields = datasets.add(
        "final",
        records(
            _with_xy(final, columns).select(pl.col("post").cast(pl.Int64), "x", "y", pl.col("weight").alias("w")),
            digits=3,
        ),
    )
    cell = max(1, min(4, 120 // max(columns, 1)))
    receptive = (
        alt.Chart(fields)
        .mark_rect()
        .encode(
            x=alt.X("x:O", axis=None),
            y=alt.Y("y:O", axis=None),
            color=alt.Color("w:Q", title="weight", scale=alt.Scale(scheme="inferno")),
            tooltip=[alt.Tooltip("post:Q"), alt.Tooltip("x:O"), alt.Tooltip("y:O"), alt.Tooltip("w:Q")],
        )
        .properties(width=cell * columns, height=cell * rows_)
        .facet(
            facet=alt.Facet("post:O", title=f"final weights onto {post['name']} neurons (shaped as {pre['name']})"),
            columns=max(1, min(8, WIDTH // (cell * columns + 12))),
        )
    )

    x = time_axis()
    hist = context.cached("weight_histogram", lambda: aggregate.weight_histogram(trace)).filter(
        pl.col("projection") == pid
    )
    times = snapshots.select("t").with_columns(pl.col("t").shift(1, fill_value=0).alias("t0"))
    hist = hist.join(times, on="t").select(pl.col("t0").alias("t"), pl.col("t").alias("t1"), "low", "high", "synapses")
    stats = weight_stats(context).filter(pl.col("projection") == pid).select("t", "mean", "q25", "q75")
    overlap = f"datum.t1 >= {WINDOW}[0] && datum.t <= {WINDOW}[1]"
    distribution = alt.layer(
        alt.Chart(datasets.add("histogram", records(hist, resolution=trace.resolution, time_columns=("t", "t1"))))
        .transform_filter(overlap)
        # Cut each snapshot interval to the window: a rect reaching outside it would be drawn over the axes.
        .transform_calculate(a=f"max(datum.t, {WINDOW}[0])", b=f"min(datum.t1, {WINDOW}[1])")
        .mark_rect(clip=True)
        .encode(
            x=alt.X("a:Q", title="time (s)", scale=alt.Scale(domain=alt.ExprRef(expr=WINDOW), nice=False)),
            x2=alt.X2("b:Q"),
            y=alt.Y("low:Q", title="weight"),
            y2=alt.Y2("high:Q"),
            color=alt.Color("synapses:Q", title="synapses", scale=alt.Scale(scheme="blues")),
        ),
        alt.Chart(datasets.add("stats", records(stats, resolution=trace.resolution)))
        .transform_filter(IN_WINDOW)
        .mark_line(point=True, color="#d62728", clip=True)
        .encode(
            x=x,
            y=alt.Y("mean:Q"),
            tooltip=[alt.Tooltip("t:Q"), alt.Tooltip("mean:Q"), alt.Tooltip("q25:Q"), alt.Tooltip("q75:Q")],
        ),
        title="Weight distribution per snapshot (red: mean)",
    ).properties(width=WIDTH, height=140)

    # Scrubber: the snapshots of a few neurons, evenly subsampled to fit the budget.
    per_snapshot = pre_size
    snaps = snapshots["t"].to_list()
    picked_posts = posts[
        : max(1, min(len(posts), context.plan.scrub_cells // max(per_snapshot * min(len(snaps), 20), 1)))
    ]
    keep = max(1, min(len(snaps), context.plan.scrub_cells // max(per_snapshot * len(picked_posts), 1)))
    chosen = [snaps[round(i * (len(snaps) - 1) / max(keep - 1, 1))] for i in range(keep)] if keep > 1 else [snaps[-1]]
    chosen = sorted(set(chosen))
    if len(chosen) < len(snaps):
        notes.append(f"The scrubber shows {len(chosen)} of {len(snaps)} snapshots (page budget).")
    scrub = context.cached(
        ("scrub", pid, tuple(picked_posts), tuple(chosen)),
        lambda: aggregate.neuron_weights(trace, pid, picked_posts, chosen),
    )
    index_of = {t: i for i, t in enumerate(chosen)}
    scrub = (
        _with_xy(scrub, columns)
        .with_columns(pl.col("t").replace_strict(index_of, return_dtype=pl.Int64).alias("s"))
        .select("s", pl.col("post").cast(pl.Int64), "x", "y", pl.col("weight").alias("w"))
    )
    labels = datasets.add("snapshots", [{"s": i, "time": round(t * trace.resolution, 9)} for i, t in enumerate(chosen)])
    params = [
        window_param(context),
        range_param(SNAPSHOT, len(chosen) - 1, 0, len(chosen) - 1, "snapshot "),
        select_param(PICKED, picked_posts[0], picked_posts, f"{post['name']} neuron "),
    ]
    scrubber = alt.layer(
        alt.Chart(datasets.add("scrub", records(scrub, digits=3)))
        .transform_filter(f"datum.s == {SNAPSHOT} && datum.post == {PICKED}")
        .mark_rect()
        .encode(
            x=alt.X("x:O", axis=None),
            y=alt.Y("y:O", axis=None),
            color=alt.Color(
                "w:Q",
                title="weight",
                scale=alt.Scale(
                    scheme="inferno", domain=[float(final["weight"].min() or 0), float(final["weight"].max() or 1)]
                ),
            ),
        ),
        title="Picked neuron's weights at the chosen snapshot",
    ).properties(width=max(cell, 6) * columns, height=max(cell, 6) * rows_)
    caption = (
        alt.Chart(labels)
        .transform_filter(f"datum.s == {SNAPSHOT}")
        .transform_calculate(text="'snapshot at ' + format(datum.time, '.4g') + ' s'")
        .mark_text(align="left")
        .encode(text=alt.Text("text:N"))
        .properties(width=200, height=20)
    )

    chart = configure(
        alt.vconcat(receptive, distribution, caption, scrubber, spacing=12).resolve_scale(color="independent")
    )
    facts = [
        Fact("Projection", f"{name}: {pre['name']} -> {post['name']}"),
        Fact("Snapshots", str(len(snaps))),
        Fact("Synapses in the last snapshot", f"{int(snapshots['synapses'][-1]):,}"),
    ]
    return Section(
        key=f"synapses-{index}",
        title=f"Synapses: {name}",
        question="What did each neuron learn, and how did the weights move over time?",
        facts=facts,
        charts=[
            Chart(key=f"chart-synapses-{index}", title=f"Weights of {name}", spec=to_spec(chart, params, datasets))
        ],
        notes=notes,
    )


def build(context: Context) -> list[Section]:
    """Return one synapse section per projection with weight snapshots."""
    out = []
    for index, projection in enumerate(context.trace.projections):
        section = _projection_section(context, projection, index)
        if section is not None:
            out.append(section)
    return out
