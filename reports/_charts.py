"""Shared pieces of the report's Altair charts: time axis, the brush window parameter, data records, spec output."""

from __future__ import annotations

import json
import re
from typing import Any

import altair as alt
import polars as pl
from snntrace.reports._model import Context

TIME = "t"  # the time field (seconds) of every dataset, so one brush or window applies to all of them
WINDOW = "win"  # variable parameter [t0, t1] that the page sets from the overview brush
BRUSH = "brush"  # interval selection on the overview timeline
IN_WINDOW = f"datum.{TIME} >= {WINDOW}[0] && datum.{TIME} <= {WINDOW}[1]"
WIDTH = 640
_SEPARATORS_RE = re.compile("[\u2028\u2029]")


def records(
    frame: pl.DataFrame, *, resolution: float | None = None, time_columns: tuple[str, ...] = (TIME,), digits: int = 6
) -> list[dict[str, Any]]:
    """Return rows as dicts with times converted to seconds and floats rounded to ``digits`` significant digits."""
    columns = []
    for name, dtype in frame.schema.items():
        expr = pl.col(name)
        if resolution is not None and name in time_columns:
            expr = (expr.cast(pl.Float64) * resolution).round_sig_figs(9)
        elif dtype.is_float():
            expr = expr.fill_nan(None).round_sig_figs(digits)
        columns.append(expr.alias(name))
    return frame.select(columns).to_dicts()


def window_param(context: Context) -> dict[str, Any]:
    """Return the ``win`` parameter, starting at the overview brush's initial window."""
    return {"name": WINDOW, "value": list(context.window)}


def range_param(name: str, value: int, low: int, high: int, label: str) -> dict[str, Any]:
    """Return a top-level integer parameter bound to a slider."""
    return {"name": name, "value": value, "bind": {"input": "range", "min": low, "max": high, "step": 1, "name": label}}


def select_param(name: str, value: Any, options: list[Any], label: str) -> dict[str, Any]:
    """Return a top-level parameter bound to a drop-down list."""
    return {"name": name, "value": value, "bind": {"input": "select", "options": options, "name": label}}


def time_axis(*, follow: bool = True, title: str = "time (s)", context: Context | None = None) -> alt.X:
    """Return the time x encoding; a following chart's domain is the brushed window."""
    if follow:
        scale = alt.Scale(domain=alt.ExprRef(expr=WINDOW), nice=False)
    else:
        scale = alt.Scale(domain=[0, context.duration] if context else alt.Undefined, nice=False)
    return alt.X(f"{TIME}:Q", title=title, scale=scale)


class Datasets:
    """Named datasets of one spec: charts refer to them by name, rows are added to the spec after validation.

    Altair validates inline rows against the schema one by one, which takes seconds per 100k rows; named data
    keeps validation to the chart structure and gives datasets stable, readable names.
    """

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, name: str, rows: list[dict[str, Any]]) -> alt.NamedData:
        """Register rows under ``name`` and return the reference a chart uses."""
        self.rows[name] = rows
        return alt.NamedData(name=name)


def to_spec(
    chart: alt.TopLevelMixin, params: list[dict[str, Any]] = (), datasets: Datasets | None = None
) -> dict[str, Any]:
    """Return the Vega-Lite dict of a chart (no ``$schema`` URL: the page sets the mode).

    ``params`` are added at the top level as plain dicts: Altair's ``add_params`` on a concat would push them into
    sub-charts under generated names, which neither the page script nor deterministic output can rely on.
    """
    # validate=False: Altair checks every spec against the Vega-Lite schema (~1 s a report); the golden tests do.
    spec = chart.to_dict(validate=False)
    spec.pop("$schema", None)
    text = json.dumps(spec, ensure_ascii=False)
    if _SEPARATORS_RE.search(text):
        # Vega's expression parser rejects U+2028/U+2029 in string literals, and names reach expressions
        # (custom sort orders, filters): draw them as spaces, consistently in data and expressions.
        spec = json.loads(_SEPARATORS_RE.sub(" ", text))
    if params:
        spec["params"] = list(spec.get("params", [])) + list(params)
    if datasets is not None:
        spec["datasets"] = dict(datasets.rows)
    return spec


def configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Apply the report's shared look."""
    return (
        chart.configure_view(stroke=None)
        .configure_axis(labelFontSize=10, titleFontSize=11)
        .configure_legend(labelLimit=180)
    )


def population_name(context: Context, pid: int) -> str:
    """Return a population's name (the id when the manifest does not list it)."""
    return context.trace.population_names.get(int(pid), str(pid))


def projection_name(context: Context, pid: int) -> str:
    """Return a projection's name (the id when the manifest does not list it)."""
    return context.trace.projection_names.get(int(pid), str(pid))
